r"""Exact worst-case perturbations of a linear model ``f(x) = <w, x>`` in an lp ball intersected with a box.

For a label ``y`` the attack maximises ``<c, delta>`` with ``c = -y w`` (it lowers the margin ``y <w, x + delta>``)
over ``||delta||_p <= eps`` and ``lo - x <= delta <= hi - x``. The problem separates over coordinates once the norm
constraint is priced (KKT), so with ``b_j`` the room the box leaves in the direction ``sign(c_j)``
(``hi - x_j`` if ``c_j > 0``, ``x_j - lo`` if ``c_j < 0``; ``+inf`` without a box):

* linf: ``delta_j = sign(c_j) min(eps, b_j)`` (per-coordinate greedy);
* l1: fractional knapsack -- fill coordinates in decreasing ``|c_j|`` up to ``b_j`` until the budget ``eps`` is spent;
* lp, 1 < p < inf: ``delta_j = sign(c_j) min(t |c_j|^{p*-1}, b_j)`` with the scalar ``t >= 0`` solving
  ``||delta||_p = eps`` (or ``t = inf`` when the box corner lies inside the ball). ``||delta(t)||_p^p`` is
  ``sum_{saturated} b_j^p + t^p sum_{free} |c_j|^{p*}`` between consecutive breakpoints ``b_j / |c_j|^{p*-1}``,
  so ``t`` is found exactly by sorting the breakpoints (no iteration).

Coordinates with ``c_j = 0`` get ``delta_j = 0``. Without a box these reduce to the closed forms of spec
``implicit_bias_robust.md`` §1.1: ``delta* = -eps y u*``, robust margin ``y <w, x> - eps ||w||_{p*}``.
"""
from __future__ import annotations

import math

import numpy as np

from asymptotics import parse_attack
from asymptotics.errors import InvalidParameter
from asymptotics.validation import nonnegative

from .threat import check_box


def _lp_with_room(c: np.ndarray, room: np.ndarray, eps: float, p: float) -> np.ndarray:
    """Magnitudes ``a >= 0`` maximising ``<|c|, a>`` s.t. ``||a||_p <= eps``, ``a <= room`` (one sample)."""
    a = np.zeros_like(c)
    active = c > 0
    if eps == 0 or not active.any():
        return a
    if math.isinf(p):
        return np.where(active, np.minimum(eps, room), 0.0)
    if p == 1.0:
        budget = eps
        for j in np.argsort(-c, kind="stable"):
            if not active[j] or budget <= 0:
                break
            a[j] = min(room[j], budget)
            budget -= a[j]
        return a
    ps = p / (p - 1.0)
    shape = np.where(active, c ** (ps - 1.0), 0.0)                       # a_j = min(t shape_j, room_j)
    idx = np.flatnonzero(active)
    breaks = room[idx] / shape[idx]
    order = idx[np.argsort(breaks, kind="stable")]
    saturated = np.concatenate([[0.0], np.cumsum(room[order] ** p)])                      # B_m
    free = np.concatenate([np.cumsum((shape[order] ** p)[::-1])[::-1], [0.0]])            # C_m
    sorted_breaks = np.concatenate([room[order] / shape[order], [np.inf]])
    target = eps ** p
    for m in range(len(order) + 1):
        if saturated[m] >= target:                                       # cannot happen for m = 0 (eps > 0)
            break
        if free[m] == 0.0:                                               # every coordinate at the box: corner
            t = np.inf
            break
        t = ((target - saturated[m]) / free[m]) ** (1.0 / p)
        if t <= sorted_breaks[m]:
            break
    return np.where(active, np.minimum(t * shape, room), 0.0)


def _inputs(w, x, y, eps, norm, box):
    nonnegative("eps", eps)
    attack = parse_attack(norm)
    if attack.kind != "lp":
        raise InvalidParameter("norm", f"linear worst cases are implemented for lp attacks, got {norm!r}")
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    x = np.asarray(x, dtype=np.float64).reshape(y.size, -1)
    if x.shape[1] != w.size:
        raise InvalidParameter("x", f"has {x.shape[1]} features for a weight vector of size {w.size}")
    box = check_box(box)
    if box is not None and (x.min() < box[0] - 1e-12 or x.max() > box[1] + 1e-12):
        raise InvalidParameter("x", f"inputs must lie in the box {box}; pass box=None for unbounded inputs")
    return attack, w, x, y, box


def linear_worst_case(w, x, y, eps: float, norm: str = "linf", box=(0.0, 1.0)) -> np.ndarray:
    r"""Exact worst-case perturbation ``delta*`` (n, d) of ``f(x) = <w, x>`` at rows ``x`` with labels ``y``.

    Parameters
    ----------
    w : array (d,)
    x : array (n, d)
        Inputs (inside ``box``).
    y : array (n,)
        Labels +-1.
    eps : float
        Radius of the ``norm`` ball.
    norm : str
        Any lp attack of ``asymptotics.parse_attack`` ("linf", "l2", "l1", "l1.5", ...).
    box : (lo, hi) or None
        Input box (default [0, 1], as for the attacks); ``None`` gives ``delta* = -eps y u*``.

    Returns
    -------
    ndarray (n, d)
        ``argmax <-y w, delta>`` over the ball intersected with the box (see the module docstring).

    Examples
    --------
    >>> linear_worst_case([1.0, -1.0], [[0.875, 0.5]], [-1.0], 0.25, "linf").tolist()   # box room 0.125 in x_0
    [[0.125, -0.25]]
    """
    attack, w, x, y, box = _inputs(w, x, y, eps, norm, box)
    out = np.zeros_like(x)
    for i in range(x.shape[0]):
        c = -y[i] * w
        if box is None:
            room = np.full_like(c, np.inf)
        else:
            room = np.where(c > 0, box[1] - x[i], x[i] - box[0]).clip(min=0.0)
        out[i] = np.sign(c) * _lp_with_room(np.abs(c), room, float(eps), attack.p)
    return out


def linear_robust_margin(w, x, y, eps: float, norm: str = "linf", box=(0.0, 1.0)) -> np.ndarray:
    r"""Per-sample robust margin ``min_delta y <w, x + delta>`` of a linear model over the ball and the box.

    Without a box this is ``y <w, x> - eps ||w||_{p*}`` (input-space robustness; not the parameter-space "linf
    margin" of :mod:`deep.margins`); with one it is evaluated at :func:`linear_worst_case`.

    Parameters
    ----------
    w : array_like, shape (d,)
        The linear model.
    x : array_like, shape (n, d)
        Inputs.
    y : array_like, shape (n,)
        Labels in {-1, +1}.
    eps : float
        Radius.
    norm : {"linf", "l2", "l1"}, default "linf"
        The threat model.
    box : (float, float) or None, default (0.0, 1.0)
        Valid input range (None: no box).

    Returns
    -------
    numpy.ndarray
        Shape (n,).

    Examples
    --------
    >>> import numpy as np
    >>> from deep.attacks import linear_robust_margin
    >>> w, x, y = np.array([1.0, -1.0]), np.array([[0.5, 0.2]]), np.array([1.0])
    >>> linear_robust_margin(w, x, y, eps=0.1, box=None)      # y <w, x> - eps ||w||_1 = 0.3 - 0.2
    array([0.1])
    """
    attack, w, x, y, box = _inputs(w, x, y, eps, norm, box)
    if box is None:
        return y * (x @ w) - eps * attack.dual_norm(w)
    return y * ((x + linear_worst_case(w, x, y, eps, norm, box)) @ w)
