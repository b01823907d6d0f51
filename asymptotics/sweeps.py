"""Continuation sweeps, optimal regularization strength and optimal regularization order.

* :func:`sweep` solves a list of points along one parameter with warm starts. It walks the grid in the direction
  where the fixed point is easiest to follow (alpha and lam downward, eps upward, r downward) and returns results in
  the user's order. A failed point is recorded (value, message) and the walk goes on from the last success.
* :func:`optimal_lambda` minimises a metric of the fixed point over log10(lam) with a bounded scalar search
  (warm-starting each evaluation from the closest solved lam).
* :func:`optimal_reg_order` finds r* = argmin_r min_lam metric: the paper's question of which regularization norm
  is best for a given attack size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from . import validation as V
from .errors import ConvergenceError, InvalidParameter
from .fixed_point import FixedPoint, solve

SWEEPABLE = ("alpha", "eps", "lam", "r", "eps_test")
METRICS = ("adv_error", "gen_error", "boundary_error", "estimation_error", "train_error", "train_loss")


@dataclass(frozen=True)
class SweepResult:
    """Results of a sweep: ``results[i]`` solves ``values[i]`` (None where it failed, see ``failures``)."""

    param: str
    values: np.ndarray
    results: list
    failures: list = field(default_factory=list)

    def column(self, name: str) -> np.ndarray:
        """One output (e.g. "adv_error", "m") as an array aligned with ``values`` (NaN where a point failed)."""
        return np.array([getattr(r, name) if r is not None else np.nan for r in self.results], dtype=np.float64)

    def to_records(self) -> list[dict]:
        rows = []
        for v, r in zip(self.values, self.results):
            row = {self.param: float(v)}
            if r is None:
                row["failed"] = True
            else:
                row.update({k: val for k, val in r.to_dict().items() if k != "point"})
            rows.append(row)
        return rows

    def to_frame(self):
        import pandas as pd  # optional dependency

        return pd.DataFrame.from_records(self.to_records())

    def to_dict(self) -> dict:
        return {"param": self.param, "values": self.values.tolist(), "records": self.to_records(),
                "failures": [{"value": v, "error": e} for v, e in self.failures]}

    @property
    def ok(self) -> bool:
        return not self.failures


def sweep(param: str, values, *, warm_start=True, progress=False, solver_options=None, **point) -> SweepResult:
    """Solve ``point`` for each value of ``param`` ("alpha", "eps", "lam", "r" or "eps_test") with warm starts.

    A one-axis, in-process case of :func:`asymptotics.grid_sweep` (same continuation order and failure handling);
    ``solver_options`` (tol, max_iter, blend, anderson) go to :func:`asymptotics.solve`.

    Example::

        >>> res = sweep("alpha", np.logspace(-1, 1, 10), eps=0.3, lam=0.01, attack="linf", reg="l1")
        >>> res.column("adv_error")
    """
    from .grid import grid_sweep

    if param not in SWEEPABLE:
        raise InvalidParameter("param", f"must be one of {SWEEPABLE}, got {param!r}")
    vals = np.asarray(values, dtype=np.float64).ravel()
    if vals.size == 0 or not np.all(np.isfinite(vals)):
        raise InvalidParameter("values", "must be a non-empty array of finite numbers")
    if param in point:
        raise InvalidParameter(param, "is the swept parameter: give it in values, not as a keyword")
    grid = grid_sweep({param: vals}, continuation=param if warm_start else None, executor="serial",
                      progress=progress, solver_options=solver_options, **point)
    results = [FixedPoint(**r["result"]) if r["ok"] else None for r in grid.records]
    failures = [(float(r["params"][param]), r["error"]) for r in grid.records if not r["ok"]]
    return SweepResult(param, vals, results, failures)


@dataclass(frozen=True)
class OptimalLambda:
    lam: float
    value: float
    metric: str
    fixed_point: FixedPoint
    evaluations: int
    at_boundary: bool
    failures: dict = field(default_factory=dict)   # log10(lam) -> error message of lams that did not converge

    def to_dict(self) -> dict:
        return {"lam": self.lam, "value": self.value, "metric": self.metric, "evaluations": self.evaluations,
                "at_boundary": self.at_boundary, "fixed_point": self.fixed_point.to_dict(),
                "failures": {str(k): v for k, v in self.failures.items()}}


def optimal_lambda(metric="adv_error", lam_bounds=(1e-5, 10.0), *, xatol=1e-3, init=None, **point) -> OptimalLambda:
    """Minimise ``metric`` (a FixedPoint field, default the robust error) over lam in ``lam_bounds``.

    The search runs on log10(lam) with scipy's bounded Brent method (absolute tolerance ``xatol`` in log10 units).
    ``at_boundary`` says the minimiser sits at an end of the bracket (widen ``lam_bounds`` to be sure).
    """
    if metric not in METRICS:
        raise InvalidParameter("metric", f"must be one of {METRICS}, got {metric!r}")
    lo = V.positive("lam_bounds[0]", lam_bounds[0])
    hi = V.positive("lam_bounds[1]", lam_bounds[1])
    if not lo < hi:
        raise InvalidParameter("lam_bounds", f"must be increasing, got {lam_bounds!r}")
    if "lam" in point:
        raise InvalidParameter("lam", "is optimised: do not pass it")
    solved: dict[float, FixedPoint] = {}
    failed: dict[float, str] = {}

    def objective(loglam):
        lam = 10.0 ** loglam
        start = init
        if solved:
            nearest = min(solved, key=lambda k: abs(k - loglam))
            start = solved[nearest].state
        try:
            fp = solve(**point, lam=lam, init=start)
        except ConvergenceError:
            try:
                fp = solve(**point, lam=lam)
            except ConvergenceError as exc:
                failed[loglam] = str(exc)
                return 2.0 + loglam * 1e-9   # worse than any error: the search moves away from this lam
        solved[loglam] = fp
        return getattr(fp, metric)

    minimize_scalar(objective, bounds=(math.log10(lo), math.log10(hi)), method="bounded", options={"xatol": xatol})
    if not solved:
        raise ConvergenceError(f"no lam in {lam_bounds} could be solved", residuals=[],
                               hint=f"first failure: {next(iter(failed.values()))}")
    best = min(solved, key=lambda k: getattr(solved[k], metric))
    fp = solved[best]
    edge = min(abs(best - math.log10(lo)), abs(best - math.log10(hi))) < 5 * xatol
    return OptimalLambda(10.0 ** best, getattr(fp, metric), metric, fp, len(solved) + len(failed), bool(edge), failed)


@dataclass(frozen=True)
class OptimalRegOrder:
    r_star: float
    value: float
    metric: str
    r_values: np.ndarray
    values: np.ndarray          # min over lam of the metric, per r
    lams: np.ndarray            # the optimal lam per r

    def to_dict(self) -> dict:
        return {"r_star": self.r_star, "value": self.value, "metric": self.metric, "r_values": self.r_values.tolist(),
                "values": self.values.tolist(), "lams": self.lams.tolist()}


def optimal_reg_order(r_values=None, metric="adv_error", lam_bounds=(1e-5, 10.0), *, refine=True,
                      **point) -> OptimalRegOrder:
    """r* = argmin over r of (min over lam of ``metric``) on a grid of r (default 1..3), refined by Brent.

    ``point`` holds alpha, eps, attack, loss, ...; the regularizer is l_r. Returns the profile over the grid too.
    """
    if "reg" in point or "lam" in point:
        raise InvalidParameter("reg", "reg and lam are optimised: do not pass them")
    grid = np.linspace(1.0, 3.0, 9) if r_values is None else np.asarray(r_values, dtype=np.float64).ravel()
    if grid.size == 0 or np.any(grid < 1.0) or not np.all(np.isfinite(grid)):
        raise InvalidParameter("r_values", "must be a non-empty array of finite r >= 1")

    def profile(r):
        opt = optimal_lambda(metric, lam_bounds, reg=f"l{r:.12g}", **point)
        return opt.value, opt.lam

    vals, lams = zip(*(profile(r) for r in grid))
    vals, lams = np.array(vals), np.array(lams)
    k = int(np.argmin(vals))
    r_star, best = float(grid[k]), float(vals[k])
    if refine and grid.size >= 3:
        lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
        if hi > lo:
            res = minimize_scalar(lambda r: profile(r)[0], bounds=(lo, hi), method="bounded",
                                  options={"xatol": 1e-3})
            if res.fun < best:
                r_star, best = float(res.x), float(res.fun)
    return OptimalRegOrder(r_star, best, metric, grid, vals, lams)
