"""``simulate.compare``: theory (``asymptotics.solve``) against finite-d simulation, with a finite-size extrapolation.

For every observable X the seed means ``X_k`` at dimensions ``d_k`` (standard errors ``s_k`` = std/sqrt(seeds))
are fitted by weighted least squares

.. math:: X_k \\approx a + b / d_k, \\qquad \\min_{a, b} \\sum_k \\big((X_k - a - b/d_k)/s_k\\big)^2,

whose intercept ``a`` estimates the d -> infinity limit, with standard error from ``(A^T W A)^{-1}``. The report
gives ``a``, its confidence interval ``a +- z_{(1+level)/2} se(a)``, the theory value and
``z = (a - theory)/se(a)``; also ``z_largest_d`` (the largest d alone, no extrapolation) and the fit's chi^2.
With a single d the intercept is that d's mean. The leading finite-size corrections of ERM overlaps are O(1/d) in
the mean (fluctuations are O(1/sqrt(d)) but average out over seeds), hence the 1/d model.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm

from asymptotics import solve as theory_solve
from asymptotics import validation as V
from asymptotics.errors import InvalidParameter

from .experiment import ErmResult, erm

COMPARED = ("m", "q", "P", "train_loss", "train_error", "gen_error", "adv_error")


@dataclass(frozen=True)
class Extrapolation:
    name: str
    theory: float
    intercept: float
    intercept_se: float
    slope: float
    ci_low: float
    ci_high: float
    z: float
    z_largest_d: float
    chi2: float
    means: tuple
    sems: tuple


@dataclass(frozen=True)
class Comparison:
    point: dict
    ds: tuple
    seeds: int
    level: float
    rows: dict
    simulations: tuple

    @property
    def max_abs_z(self) -> float:
        return max(abs(r.z) for r in self.rows.values())

    def to_dict(self) -> dict:
        return {"point": self.point, "ds": self.ds, "seeds": self.seeds, "level": self.level,
                "rows": {k: asdict(v) for k, v in self.rows.items()},
                "simulations": [s.to_dict() for s in self.simulations]}

    def __repr__(self) -> str:
        head = (f"{'observable':<12} {'theory':>11} {'d->inf':>11} {'se':>9} {int(self.level * 100)}% CI"
                f"{'':>17} {'z':>6} {'z(d_max)':>9}")
        lines = [f"Comparison({self.point}, ds={list(self.ds)}, seeds={self.seeds})", head]
        for r in self.rows.values():
            lines.append(f"{r.name:<12} {r.theory:11.5g} {r.intercept:11.5g} {r.intercept_se:9.2g} "
                         f"[{r.ci_low:9.5g}, {r.ci_high:9.5g}] {r.z:6.2f} {r.z_largest_d:9.2f}")
        return "\n".join(lines)


def fit_inverse_d(ds, means, sems):
    """Weighted least squares of means ~ a + b/d. Returns (a, se_a, b, chi2)."""
    ds = np.asarray(ds, dtype=np.float64)
    y = np.asarray(means, dtype=np.float64)
    s = np.maximum(np.asarray(sems, dtype=np.float64), 1e-12 + 1e-9 * np.abs(y))
    if ds.size == 1:
        return float(y[0]), float(s[0]), 0.0, 0.0
    x = (1.0 / ds) * ds.min()                       # 1/d scaled to [.., 1]: a well-conditioned design
    weights = 1.0 / s
    A = np.stack([np.ones_like(x), x], axis=1) * weights[:, None]
    coef, *_ = np.linalg.lstsq(A, y * weights, rcond=None)
    Q, R = np.linalg.qr(A)
    Rinv = np.linalg.pinv(R)
    cov = Rinv @ Rinv.T
    chi2 = float(np.sum((A @ coef - y * weights) ** 2))
    return float(coef[0]), float(math.sqrt(max(cov[0, 0], 0.0))), float(coef[1] * ds.min()), chi2


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
    n_test, solver, tol, n_jobs, executor, address, cache, progress : passed to :func:`simulate.erm` (the sweep
        engine: parallel seeds on joblib or Dask, resumable cache of finished seeds)
    level : confidence level of the interval on the extrapolated value

    Returns
    -------
    Comparison : one :class:`Extrapolation` per observable in ``COMPARED`` and the raw simulations.
    """
    if not isinstance(point, dict):
        raise InvalidParameter("point", f"expected a dict of solve() arguments, got {type(point).__name__}")
    try:
        ds = tuple(sorted(V.integer("ds", d, low=2) for d in ds))
    except TypeError:
        raise InvalidParameter("ds", f"expected a sequence of dimensions, got {ds!r}") from None
    if not ds:
        raise InvalidParameter("ds", "needs at least one dimension")
    seeds = V.integer("seeds", seeds, low=2)
    level = V.real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
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
        floor_last = max(sems[-1], 1e-12 + 1e-9 * abs(means[-1]))
        rows[name] = Extrapolation(name, theory, a, se, b, a - zq * se, a + zq * se, (a - theory) / se,
                                   (means[-1] - theory) / floor_last, chi2, tuple(means), tuple(sems))
    return Comparison(fp.point, ds, seeds, level, rows, tuple(sims))
