r"""Phase-transition times of a loss curve: when KL(p* || q_t) passes between two strategies' levels.

A checkpointed curve :math:`y(t_0), y(t_1), \dots` (e.g. the last-position test loss KL(p* || q_t) of an ICL-MC run)
*crosses* a level :math:`c` at the first checkpoint :math:`t_i` with :math:`y(t_i) < c` that starts a run of
``sustain`` checkpoints all below :math:`c` (so a one-checkpoint dip does not count when ``sustain`` > 1). With
``interpolate`` the reported time is the point where the straight line between :math:`(t_{i-1}, y(t_{i-1}))` and
:math:`(t_i, y(t_i))` meets :math:`c`:

.. math::
    t^* = t_{i-1} + (t_i - t_{i-1})\,\frac{y(t_{i-1}) - c}{y(t_{i-1}) - y(t_i)},

which is exact for a piecewise-linear curve and otherwise resolves the crossing below the checkpoint spacing.

The transition into the m-gram strategy is the crossing of the midpoint between the (m-1)-gram and m-gram
strategies' KLs, :math:`c_m = (\mathrm{KL}(p^*\|s^{(m-1)}) + \mathrm{KL}(p^*\|s^{(m)}))/2` (for m = 2 the
``transition_step`` of :func:`.training.detect_phases`, there without interpolation).
"""
from __future__ import annotations

import numpy as np

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer

from .strategies import strategy_name


def crossing_step(steps, curve, level: float, *, sustain: int = 1, interpolate: bool = True) -> float | None:
    """First time ``curve`` falls below ``level`` and stays below for ``sustain`` checkpoints (None if never).

    Parameters
    ----------
    steps : array (n,)
        Increasing checkpoint times.
    curve : array (n,)
        Values at the checkpoints (NaN counts as not below).
    level : float
    sustain : int
        Number of consecutive checkpoints that must be below ``level`` (1: the first one below counts).
    interpolate : bool
        Linear interpolation between the last checkpoint at or above the level and the first one below.

    Returns
    -------
    float or None
        The crossing time (interpolated between checkpoints when ``interpolate``), None if the curve never crosses.

    Examples
    --------
    >>> crossing_step([0, 10, 20, 30], [1.0, 0.75, 0.25, 0.0], 0.5)
    15.0
    >>> crossing_step([0, 10, 20, 30], [1.0, 0.5, 0.9, 0.2], 0.6, sustain=2) is None
    True
    """
    steps = np.asarray(steps, dtype=float)
    curve = np.asarray(curve, dtype=float)
    if steps.ndim != 1 or curve.shape != steps.shape:
        raise InvalidParameter("curve", f"must have one value per step ({steps.shape[0]}), got shape {curve.shape}")
    if steps.size > 1 and not np.all(np.diff(steps) > 0):
        raise InvalidParameter("steps", "must be strictly increasing")
    integer("sustain", sustain, low=1)
    below = curve < level                              # NaN compares False
    for i in range(steps.size - sustain + 1):
        if not below[i: i + sustain].all():
            continue
        if not interpolate or i == 0:
            return float(steps[i])
        y0, y1 = curve[i - 1], curve[i]
        if not np.isfinite(y0):
            return float(steps[i])
        return float(steps[i - 1] + (steps[i] - steps[i - 1]) * (y0 - level) / (y0 - y1))
    return None


def strategy_transition_steps(steps, kl_to_truth, strategy_kl: dict, *, sustain: int = 1,
                              interpolate: bool = True) -> dict:
    """Transition time into every m-gram strategy after the uniform one: crossing of the mid-level (module docstring).

    Parameters
    ----------
    steps, kl_to_truth : arrays (n,)
        Checkpoints and KL(p* || q_t) there.
    strategy_kl : dict name -> float
        KL(p* || s^(m)) of the strategies in order (uniform, unigram, bigram, ...), as ``IclTrainingRun.strategy_kl``.
    sustain : int
        Consecutive checkpoints that must lie below each mid-level (see :func:`crossing_step`).
    interpolate : bool
        Interpolate the crossing time between checkpoints (see :func:`crossing_step`).

    Returns
    -------
    dict name -> float or None
        Keys "unigram", "bigram", ... (every strategy after the first), None where the curve never crosses.

    Examples
    --------
    >>> strategy_transition_steps([0, 10, 20], [0.3, 0.2, 0.0], {"uniform": 0.3, "unigram": 0.2, "bigram": 0.0})
    {'unigram': 5.0, 'bigram': 15.0}
    """
    names = [strategy_name(m) for m in range(len(strategy_kl))]
    if list(strategy_kl) != names:
        raise InvalidParameter("strategy_kl", f"keys must be the strategies in order {names}, got {list(strategy_kl)}")
    out = {}
    for prev, name in zip(names[:-1], names[1:]):
        mid = 0.5 * (strategy_kl[prev] + strategy_kl[name])
        out[name] = crossing_step(steps, kl_to_truth, mid, sustain=sustain, interpolate=interpolate)
    return out


__all__ = ["crossing_step", "strategy_transition_steps"]
