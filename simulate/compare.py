"""``simulate.compare``: theory (``asymptotics.solve``) against finite-d simulation, with a finite-size extrapolation.

For every observable X the seed means ``X_k`` at dimensions ``d_k`` (standard errors ``s_k`` = std/sqrt(seeds))
are fitted by weighted least squares

.. math:: X_k \\approx a + b / d_k, \\qquad \\min_{a, b} \\sum_k \\big((X_k - a - b/d_k)/s_k\\big)^2,

whose intercept ``a`` estimates the d -> infinity limit, with standard error from ``(A^T W A)^{-1}``. The report
gives ``a``, its confidence interval ``a +- z_{(1+level)/2} se(a)``, the theory value and
``z = (a - theory)/se(a)``; also ``z_largest_d`` (the largest d alone, no extrapolation) and the fit's chi^2.
With a single d the intercept is that d's mean. The leading finite-size corrections of ERM overlaps are O(1/d) in
the mean (fluctuations are O(1/sqrt(d)) but average out over seeds), hence the 1/d model. The dimensions must be
distinct (a repeated d makes the design singular).

Zero variance (every seed gives the same value at some d, e.g. a training error of 0): no floor is invented. The
fit is then unweighted, its intercept's standard error is propagated from the observed ones,
``se(a)^2 = sum_k c_k^2 s_k^2`` (``a = sum_k c_k X_k``); when that is 0 too, ``z`` is None and ``z_note`` says
whether the theory agrees exactly (``|a - theory| <= 1e-12 max(1, |theory|)``) or not. Intervals of probabilities
(train_error, gen_error, adv_error) are clipped to [0, 1].
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm

from asymptotics import solve as theory_solve
from asymptotics import validation as V
from asymptotics.cache import usable_folder
from asymptotics.errors import InvalidParameter

from .experiment import ErmResult, check_arguments, erm
from .streams import DEFAULT_BASE

_POINT_KEYS = ("alpha", "eps", "lam", "attack", "reg", "loss", "data", "eps_test", "attack_test")

COMPARED = ("m", "q", "P", "train_loss", "train_error", "gen_error", "adv_error")
#: observables that are probabilities: their intervals are clipped to [0, 1]
PROBABILITIES = ("train_error", "gen_error", "adv_error")


@dataclass(frozen=True)
class Extrapolation:
    """One observable compared between theory and simulation: seed means fitted as ``a + b/d`` and extrapolated to
    d -> inf.

    Attributes
    ----------
    name : str
        The observable (see :data:`simulate.OBSERVABLES`; errors are probabilities in [0, 1]).
    theory : float
        The value of :func:`asymptotics.solve` at the point.
    intercept : float
        The extrapolated value ``a`` (d -> inf).
    intercept_se : float
        Its standard error (from the seed standard errors).
    slope : float
        ``b`` of the fit.
    ci_low, ci_high : float
        The confidence interval ``a +- z_{(1+level)/2} se(a)`` (clipped to [0, 1] for probabilities).
    z : float or None
        ``(a - theory) / se(a)``; None when the standard error is 0 (see ``z_note``).
    z_largest_d : float or None
        The same test with the largest d alone, without extrapolation.
    chi2 : float
        Goodness of fit of the line.
    means, sems : tuple of float
        Seed means and their standard errors at each d.
    z_note : str or None
        Why ``z`` is None (zero variance), with the exact-agreement verdict.

    Examples
    --------
    >>> import simulate
    >>> c = simulate.compare(dict(alpha=0.5, eps=0.1, lam=0.1), ds=(100, 200), seeds=2, n_test=500)
    >>> row = c.rows["adv_error"]
    >>> len(row.means), bool(row.ci_low <= row.intercept <= row.ci_high)
    (2, True)
    """
    name: str
    theory: float
    intercept: float
    intercept_se: float
    slope: float
    ci_low: float
    ci_high: float
    z: float | None               # None when the standard error is 0 (see z_note)
    z_largest_d: float | None
    chi2: float
    means: tuple
    sems: tuple
    z_note: str | None = None     # why z (or z_largest_d) is None: zero variance, with the exact-agreement verdict


@dataclass(frozen=True)
class Comparison:
    """Theory vs simulation at one point (returned by :func:`compare`): one :class:`Extrapolation` per observable.

    Attributes
    ----------
    point : dict
        The point.
    ds : tuple of int
        The simulated dimensions.
    seeds : int
        Seeds per dimension.
    level : float
        Confidence level of the intervals.
    rows : dict
        Observable name -> :class:`Extrapolation`.
    simulations : tuple of ErmResult
        The raw simulation at each d.
    max_abs_z : float
        The largest ``|z|`` over the observables that have one (0 if none has).

    Examples
    --------
    >>> import simulate
    >>> c = simulate.compare(dict(alpha=0.5, eps=0.1, lam=0.1), ds=(100, 200), seeds=2, n_test=500)
    >>> list(c.rows)[:3], c.ds
    (['m', 'q', 'P'], (100, 200))
    """
    point: dict
    ds: tuple
    seeds: int
    level: float
    rows: dict
    simulations: tuple

    @property
    def max_abs_z(self) -> float:
        """The largest ``|z|`` over the observables that have one (0 if none has)."""
        return max((abs(r.z) for r in self.rows.values() if r.z is not None), default=0.0)

    def to_dict(self) -> dict:
        return {"point": self.point, "ds": self.ds, "seeds": self.seeds, "level": self.level,
                "rows": {k: asdict(v) for k, v in self.rows.items()},
                "simulations": [s.to_dict() for s in self.simulations]}

    def __repr__(self) -> str:
        head = (f"{'observable':<12} {'theory':>11} {'d->inf':>11} {'se':>9} {int(self.level * 100)}% CI"
                f"{'':>17} {'z':>6} {'z(d_max)':>9}")
        lines = [f"Comparison({self.point}, ds={list(self.ds)}, seeds={self.seeds})", head]
        for r in self.rows.values():
            z = f"{r.z:6.2f}" if r.z is not None else f"{'-':>6}"
            zd = f"{r.z_largest_d:9.2f}" if r.z_largest_d is not None else f"{'-':>9}"
            lines.append(f"{r.name:<12} {r.theory:11.5g} {r.intercept:11.5g} {r.intercept_se:9.2g} "
                         f"[{r.ci_low:9.5g}, {r.ci_high:9.5g}] {z} {zd}" + (f"  ({r.z_note})" if r.z_note else ""))
        return "\n".join(lines)


def fit_inverse_d(ds, means, sems):
    """Least squares of means ~ a + b/d. Returns (a, se_a, b, chi2).

    Weighted by 1/sems when every sem is positive; otherwise unweighted, with se_a propagated from the sems (0 when
    they are all 0) and chi2 = 0. The dimensions must be distinct.
    """
    ds = np.asarray(ds, dtype=np.float64)
    y = np.asarray(means, dtype=np.float64)
    s = np.asarray(sems, dtype=np.float64)
    if np.unique(ds).size != ds.size:
        raise InvalidParameter("ds", f"dimensions must be distinct, got {ds.astype(int).tolist()}")
    if ds.size == 1:
        return float(y[0]), float(s[0]), 0.0, 0.0
    x = (1.0 / ds) * ds.min()                       # 1/d scaled to [.., 1]: a well-conditioned design
    weights = 1.0 / s if np.all(s > 0) else np.ones_like(s)
    A = np.stack([np.ones_like(x), x], axis=1) * weights[:, None]
    # rows of pinv(A) give the coefficients as linear combinations of the weighted observations
    C = np.linalg.pinv(A)
    coef = C @ (y * weights)
    c_a = C[0] * weights                           # a = sum_k c_a[k] y_k
    se = float(math.sqrt(np.sum(c_a ** 2 * s ** 2)))
    chi2 = float(np.sum((A @ coef - y * weights) ** 2)) if np.all(s > 0) else 0.0
    return float(coef[0]), se, float(coef[1] * ds.min()), chi2


def _z(value: float, theory: float, se: float) -> tuple[float | None, str | None]:
    """(z, None), or (None, why) when the standard error is 0."""
    if se > 0:
        return (value - theory) / se, None
    exact = abs(value - theory) <= 1e-12 * max(1.0, abs(theory))
    verdict = "exact agreement" if exact else f"differs from theory by {value - theory:.3g}"
    return None, f"zero variance over seeds: {verdict}"


def compare(point: dict, ds=(250, 500, 1000, 2000), seeds=5, *, n_test=None, solver="auto", tol=1e-8,
            level: float = 0.95, n_jobs: int = 1, executor: str = "joblib", address=None, cache=None,
            progress=False) -> Comparison:
    """Theory vs simulation at one point, extrapolated in 1/d.

    Parameters
    ----------
    point : dict
        Keyword arguments of ``asymptotics.solve`` (alpha, eps, lam, attack, reg, loss, data, eps_test, attack_test).
    ds : sequence of int
        Dimensions to simulate.
    seeds : int
        Seeds per dimension (>= 2 for standard errors).
    n_test, solver, tol, n_jobs, executor, address, cache, progress
        Passed to :func:`simulate.erm` (the sweep engine: parallel seeds on joblib or Dask, resumable cache of
        finished seeds).
    level : float, default 0.95
        Confidence level of the interval on the extrapolated value.

    Returns
    -------
    Comparison
        One :class:`Extrapolation` per observable in ``COMPARED`` and the raw simulations.

    Examples
    --------
    >>> import simulate
    >>> c = simulate.compare(dict(alpha=0.5, eps=0.1, lam=0.1), ds=(100, 200), seeds=2, n_test=500)
    >>> row = c.rows["adv_error"]
    >>> round(row.theory, 4), bool(abs(row.z) < 4)          # theory within a few standard errors
    (0.3557, True)
    """
    if not isinstance(point, dict):
        raise InvalidParameter("point", f"expected a dict of solve() arguments, got {type(point).__name__}")
    if isinstance(ds, (str, bytes)):
        raise InvalidParameter("ds", f"expected a sequence of dimensions, got {ds!r}")
    try:
        given = [V.integer("ds", d, low=2) for d in ds]
    except TypeError:
        raise InvalidParameter("ds", f"expected a sequence of dimensions, got {ds!r}") from None
    if not given:
        raise InvalidParameter("ds", "needs at least one dimension")
    repeated = sorted({d for d in given if given.count(d) > 1})
    if repeated:
        raise InvalidParameter("ds", f"dimensions must be distinct; {repeated} repeated in {given}")
    ds = tuple(sorted(given))
    seeds = V.integer("seeds", seeds, low=2)
    level = V.real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    unknown = sorted(set(point) - set(_POINT_KEYS))
    if unknown:
        raise InvalidParameter(unknown[0], f"is not a parameter of a point; allowed {_POINT_KEYS}")
    missing = [k for k in ("alpha", "eps", "lam") if k not in point]
    if missing:
        raise InvalidParameter(missing[0], "is required in the point")
    for d in ds:                                  # every simulation's arguments, before any work
        check_arguments(point, d=d, seeds=seeds, n_test=n_test, solver=solver, tol=tol, base=DEFAULT_BASE,
                        n_jobs=n_jobs, executor=executor, progress=progress)
    if cache is not None:
        usable_folder("cache", cache)
    fp = theory_solve(**point)
    sims: list[ErmResult] = [erm(**point, d=d, seeds=seeds, n_test=n_test, solver=solver, tol=tol, n_jobs=n_jobs,
                                 executor=executor, address=address, cache=cache, progress=progress)
                             for d in ds]
    zq = float(norm.ppf(0.5 + level / 2))
    rows = {}
    for name in COMPARED:
        means = [s.mean[name] for s in sims]
        sems = [s.sem(name) for s in sims]
        a, se, b, chi2 = fit_inverse_d(ds, means, sems)
        theory = float(getattr(fp, name))
        z, note = _z(a, theory, se)
        z_last, note_last = _z(means[-1], theory, sems[-1])
        low, high = a - zq * se, a + zq * se
        if name in PROBABILITIES:
            low, high = max(low, 0.0), min(high, 1.0)
        notes = [n for n in (note, None if note_last is None else f"largest d: {note_last}") if n]
        rows[name] = Extrapolation(name, theory, a, se, b, low, high, z, z_last, chi2, tuple(means), tuple(sems),
                                   "; ".join(notes) or None)
    return Comparison(fp.point, ds, seeds, level, rows, tuple(sims))
