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
    """Results of a one-parameter sweep, in the order of ``values``.

    The one result type of a sweep: :func:`sweep` returns it and ``robustbias sweep --json`` prints its
    :meth:`to_dict`.

    Attributes
    ----------
    param : str
        The swept parameter ("alpha", "eps", "lam", "r" or "eps_test").
    values : numpy.ndarray
        Its values, in the user's order.
    results : list of FixedPoint or None
        ``results[i]`` solves ``values[i]``; None where the point failed (see ``failures``).
    failures : list of (float, str)
        ``(value, error text with the solver's hint)`` for every failed point.
    cached : int
        Points read from the on-disk cache instead of solved (``cache=`` of :func:`sweep`).

    Examples
    --------
    >>> import asymptotics
    >>> res = asymptotics.sweep("eps", [0.0, 0.2], alpha=1.0, lam=0.1, attack="linf", reg="l2")
    >>> res.column("adv_error").round(4).tolist()
    [0.2588, 0.3235]
    >>> res.summary()
    '2 points: 2 solved (0 from cache), 0 failed'
    """

    param: str
    values: np.ndarray
    results: list
    failures: list = field(default_factory=list)
    cached: int = 0

    def column(self, name: str) -> np.ndarray:
        """One output (e.g. "adv_error", "m") as an array aligned with ``values`` (NaN where a point failed)."""
        return np.array([getattr(r, name) if r is not None else np.nan for r in self.results], dtype=np.float64)

    def to_records(self) -> list[dict]:
        """One dict per value: ``{param: value, **FixedPoint.to_dict()}`` without ``point``; a failed point is
        ``{param: value, "failed": True, "error": text}``."""
        errors = {float(v): e for v, e in self.failures}
        rows = []
        for v, r in zip(self.values, self.results):
            row = {self.param: float(v)}
            if r is None:
                row["failed"] = True
                row["error"] = errors.get(float(v))
            else:
                row.update({k: val for k, val in r.to_dict().items() if k != "point"})
            rows.append(row)
        return rows

    def to_frame(self):
        """The records as a ``pandas.DataFrame``, one row per value of ``param`` (needs the ``tables`` extra).

        Returns
        -------
        pandas.DataFrame
            Columns: ``param``, then every field of :meth:`FixedPoint.to_dict` (order parameters, errors as
            probabilities, diagnostics); a failed row has NaN there and ``failed``/``error`` set.

        Examples
        --------
        >>> import asymptotics
        >>> res = asymptotics.sweep("lam", [0.1, 1.0], alpha=1.0, eps=0.1)
        >>> res.to_frame()[["lam", "m", "adv_error"]].round(4)
           lam       m  adv_error
        0  0.1  0.7491     0.2911
        1  1.0  0.1542     0.3087
        """
        from .tables import require

        return require("pandas").DataFrame.from_records(self.to_records())

    def to_xarray(self):
        """The numeric outputs as an ``xarray.Dataset`` on one dimension named after ``param`` (needs the
        ``tables`` extra).

        Returns
        -------
        xarray.Dataset
            Coordinate ``param`` = ``values``; one data variable per scalar field of :class:`FixedPoint` (NaN where a
            point failed) and ``ok`` (bool); attributes ``param``, ``cached``, ``failures`` (JSON) and ``point``
            (the fixed parameters, JSON).

        Examples
        --------
        >>> import asymptotics
        >>> ds = asymptotics.sweep("lam", [0.1, 1.0], alpha=1.0, eps=0.1).to_xarray()
        >>> ds["adv_error"].sel(lam=1.0).item() > ds["adv_error"].sel(lam=0.1).item()
        True
        """
        from .tables import column, json_attr, require, scalar_fields

        xr = require("xarray")
        rows = [None if r is None else {k: v for k, v in r.to_dict().items() if k != "point"} for r in self.results]
        data = {k: ((self.param,), column(rows, k)) for k in scalar_fields(rows)}
        data["ok"] = ((self.param,), np.array([r is not None for r in self.results]))
        point = next((r.to_dict()["point"] for r in self.results if r is not None), {})
        attrs = {"param": self.param, "cached": int(self.cached), "failures": json_attr(list(self.failures)),
                 "point": json_attr({k: v for k, v in point.items() if k != self.param})}
        return xr.Dataset(data, coords={self.param: np.asarray(self.values, dtype=np.float64)}, attrs=attrs)

    def to_dict(self) -> dict:
        """``{"param", "values", "records", "failures", "cached"}``: what ``robustbias sweep --json`` prints."""
        return {"param": self.param, "values": self.values.tolist(), "records": self.to_records(),
                "failures": [{"value": v, "error": e} for v, e in self.failures], "cached": self.cached}

    def summary(self, limit: int | None = None) -> str:
        """A count line, then one line per failure (its value and full error text with the hint); ``limit``: at most
        that many failure lines (None: all)."""
        text = f"{len(self.values)} points: {len(self.values) - len(self.failures)} solved"
        text += f" ({self.cached} from cache), {len(self.failures)} failed"
        shown = self.failures if limit is None else self.failures[:limit]
        for v, e in shown:
            text += f"\n  {{{self.param!r}: {v!r}}}: {e}"
        if len(shown) < len(self.failures):
            text += f"\n  ... and {len(self.failures) - len(shown)} more"
        return text

    @property
    def ok(self) -> bool:
        """True when every point was solved."""
        return not self.failures


def sweep(param: str, values, *, warm_start=True, progress=False, solver_options=None, cache=None, jobs: int = 1,
          executor: str = "serial", address=None, **point) -> SweepResult:
    """Solve ``point`` for each value of ``param`` with warm starts (a continuation along one parameter).

    A one-axis case of :func:`asymptotics.grid_sweep` (same continuation order and failure handling): the points
    are walked in the direction where the fixed point is easiest to follow (alpha and lam downward, eps upward,
    r downward), each warm-started from the last success, and returned in the user's order.

    Parameters
    ----------
    param : {"alpha", "eps", "lam", "r", "eps_test"}
        The swept parameter (``r``: the order of an lr regularizer, ``reg="l<r>"``).
    values : array_like of float
        Its values (finite, non-empty).
    warm_start : bool, default True
        Warm-start each point from the previous one (False: every point cold and independent).
    progress : bool, default False
        Show a progress bar.
    solver_options : dict, optional
        ``tol``, ``max_iter``, ``blend``, ``anderson`` passed to :func:`asymptotics.solve`.
    cache : str or path, optional
        Folder of a resumable on-disk cache of finished points (see ``docs/sweeps.md``).
    jobs, executor, address
        Workers (see :func:`asymptotics.grid_sweep`); with ``warm_start=True`` the sweep is one chain.
    **point
        The other parameters of the point, as for :func:`asymptotics.solve` (``alpha``, ``eps``, ``lam``,
        ``attack``, ``reg``, ``loss``, ``data``, ``eps_test``, ``attack_test``).

    Returns
    -------
    SweepResult
        One :class:`FixedPoint` per value (None where it failed); errors are probabilities in [0, 1].

    Raises
    ------
    InvalidParameter
        An unknown ``param``, empty or non-finite ``values``, ``param`` also given in ``point``, or a bad point
        (every point is checked before any work). A point that does not converge is recorded in ``failures``.

    Examples
    --------
    >>> import asymptotics
    >>> res = asymptotics.sweep("alpha", [0.3, 1.0, 3.0], eps=0.3, lam=0.01, attack="linf", reg="l1")
    >>> res.column("boundary_error").round(4).tolist()
    [0.0422, 0.0725, 0.1045]
    """
    from .grid import grid_sweep

    if param not in SWEEPABLE:
        raise InvalidParameter("param", f"must be one of {SWEEPABLE}, got {param!r}")
    vals = np.asarray(values, dtype=np.float64).ravel()
    if vals.size == 0 or not np.all(np.isfinite(vals)):
        raise InvalidParameter("values", "must be a non-empty array of finite numbers")
    if param in point:
        raise InvalidParameter(param, "is the swept parameter: give it in values, not as a keyword")
    grid = grid_sweep({param: vals}, continuation=param if warm_start else None, executor=executor, jobs=jobs,
                      address=address, cache=cache, progress=progress, solver_options=solver_options, **point)
    results = [FixedPoint(**r["result"]) if r["ok"] else None for r in grid.records]
    failures = [(float(r["params"][param]), r["error"]) for r in grid.records if not r["ok"]]
    return SweepResult(param, vals, results, failures, grid.cached)


@dataclass(frozen=True)
class OptimalLambda:
    """The regularization strength that minimises a metric of the fixed point (returned by :func:`optimal_lambda`).

    Attributes
    ----------
    lam : float
        The minimiser.
    value : float
        The metric at ``lam`` (an error is a probability in [0, 1]).
    metric : str
        The minimised :class:`FixedPoint` field.
    fixed_point : FixedPoint
        The solution at ``lam``.
    evaluations : int
        Fixed points solved during the search.
    at_boundary : bool
        True when ``lam`` is at an end of ``lam_bounds`` (the true minimiser may lie outside).
    failures : dict
        log10(lam) -> error message, for the lams that did not converge.
    method : str
        How it was found: "bounded", "newton", or "bounded (newton fallback: <reason>)".

    Examples
    --------
    >>> import asymptotics
    >>> opt = asymptotics.optimal_lambda(alpha=1.0, eps=0.3, attack="linf", reg="l1", lam_bounds=(1e-2, 10.0),
    ...                                  xatol=0.05)
    >>> opt.fixed_point.adv_error == opt.value, opt.metric
    (True, 'adv_error')
    """
    lam: float
    value: float
    metric: str
    fixed_point: FixedPoint
    evaluations: int
    at_boundary: bool
    failures: dict = field(default_factory=dict)   # log10(lam) -> error message of lams that did not converge
    method: str = "bounded"

    def to_dict(self) -> dict:
        return {"lam": self.lam, "value": self.value, "metric": self.metric, "evaluations": self.evaluations,
                "at_boundary": self.at_boundary, "fixed_point": self.fixed_point.to_dict(),
                "failures": {str(k): v for k, v in self.failures.items()}, "method": self.method}


OPTIMISERS = ("bounded", "newton")


def optimal_lambda(metric="adv_error", lam_bounds=(1e-5, 10.0), *, xatol=1e-3, init=None, method="bounded",
                   **point) -> OptimalLambda:
    """Minimise ``metric`` of the fixed point over the regularization strength lam.

    The search runs on log10(lam) with scipy's bounded Brent method (absolute tolerance ``xatol`` in log10 units),
    each evaluation warm-started from the closest lam already solved. Lams whose solve does not converge are skipped
    and recorded in ``failures``.

    Parameters
    ----------
    metric : str, default "adv_error"
        A :class:`FixedPoint` field: "adv_error" (robust error), "gen_error", "boundary_error",
        "estimation_error", "train_error" or "train_loss".
    lam_bounds : (float, float), default (1e-5, 10.0)
        The bracket of lam (both > 0).
    xatol : float, default 1e-3
        Absolute tolerance on log10(lam).
    init : tuple, optional
        A warm start ``(m, q, V, P)`` for the first evaluation.
    method : {"bounded", "newton"}, default "bounded"
        "newton": a safeguarded Newton-secant iteration on d metric / d ln(lam) from implicit differentiation
        (``asymptotics.optimal_newton``; the fixed point is continued between iterates, not re-solved), stopped when
        a step is below ``xatol / 100``; it falls back to the bounded search where it cannot work (a collapsed
        w = 0 start, a failed solve), and ``method`` of the result says so. Measured: lam within 3.3e-5 of a tight
        bounded search (the default one is within 3.9e-4); 2.6-2.8x faster than the default bounded search, 3.5-3.7x
        than one as accurate (benchmarks/bench_optimal_newton.py, docs/sensitivities.md).
    **point
        The point without lam, as for :func:`asymptotics.solve` (``alpha``, ``eps``, ``attack``, ``reg``, ``loss``,
        ``data``, ...).

    Returns
    -------
    OptimalLambda
        ``lam``, the metric's ``value`` there (errors are probabilities), the :class:`FixedPoint`, the number of
        ``evaluations`` and ``at_boundary`` (the minimiser sits at an end of the bracket: widen ``lam_bounds``).

    Raises
    ------
    InvalidParameter
        An unknown metric, a bad bracket or a bad point.

    Examples
    --------
    >>> import asymptotics
    >>> opt = asymptotics.optimal_lambda(alpha=1.0, eps=0.3, attack="linf", reg="l1", lam_bounds=(1e-2, 10.0),
    ...                                  xatol=0.05)
    >>> round(float(opt.lam), 3), round(opt.value, 4), opt.at_boundary
    (0.083, 0.3593, False)
    """
    if metric not in METRICS:
        raise InvalidParameter("metric", f"must be one of {METRICS}, got {metric!r}")
    lo = V.positive("lam_bounds[0]", lam_bounds[0])
    hi = V.positive("lam_bounds[1]", lam_bounds[1])
    if not lo < hi:
        raise InvalidParameter("lam_bounds", f"must be increasing, got {lam_bounds!r}")
    if "lam" in point:
        raise InvalidParameter("lam", "is optimised: do not pass it")
    method = V.choice("method", method, OPTIMISERS)
    fallback = "bounded"
    if method == "newton":
        from .optimal_newton import newton_optimal_lambda

        found, reason = newton_optimal_lambda(metric, (lo, hi), V.positive("xatol", xatol), init, point)
        if found is not None:
            return found
        fallback = f"bounded (newton fallback: {reason})"
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
    return OptimalLambda(10.0 ** best, getattr(fp, metric), metric, fp, len(solved) + len(failed), bool(edge), failed,
                         fallback)


@dataclass(frozen=True)
class OptimalRegOrder:
    """The regularization order that minimises a metric after optimising lam (returned by :func:`optimal_reg_order`).

    Attributes
    ----------
    r_star : float
        The best order r of ``R(w) = sum_j |w_j|^r``.
    value : float
        ``min_lam metric`` at ``r_star``.
    metric : str
        The minimised :class:`FixedPoint` field.
    r_values : numpy.ndarray
        The grid of r.
    values : numpy.ndarray
        ``min_lam metric`` for every r of the grid.
    lams : numpy.ndarray
        The optimal lam for every r of the grid.
    method : str
        How it was found: "bounded", "newton", or "bounded (newton fallback: <reason>)".

    Examples
    --------
    >>> import asymptotics
    >>> best = asymptotics.optimal_reg_order(r_values=[1.0, 2.0], alpha=1.0, eps=0.1, lam_bounds=(1e-2, 1.0),
    ...                                      refine=False)
    >>> sorted(best.to_dict())
    ['lams', 'method', 'metric', 'r_star', 'r_values', 'value', 'values']
    """
    r_star: float
    value: float
    metric: str
    r_values: np.ndarray
    values: np.ndarray          # min over lam of the metric, per r
    lams: np.ndarray            # the optimal lam per r
    method: str = "bounded"

    def to_dict(self) -> dict:
        return {"r_star": self.r_star, "value": self.value, "metric": self.metric, "r_values": self.r_values.tolist(),
                "values": self.values.tolist(), "lams": self.lams.tolist(), "method": self.method}


def optimal_reg_order(r_values=None, metric="adv_error", lam_bounds=(1e-5, 10.0), *, refine=True, method="bounded",
                      xatol=1e-3, **point) -> OptimalRegOrder:
    """The best regularization order: ``r* = argmin_r min_lam metric`` for the lr regularizer ``R(w) = sum_j |w_j|^r``.

    The paper's question of which regularization norm is best for a given attack size: for every r of the grid,
    lam is optimised by :func:`optimal_lambda`; with ``refine`` the best grid value is refined by Brent's method
    between its neighbours.

    Parameters
    ----------
    r_values : array_like of float, optional
        The grid of r (each >= 1; default 1, 1.25, ..., 3).
    metric : str, default "adv_error"
        The minimised :class:`FixedPoint` field.
    lam_bounds : (float, float), default (1e-5, 10.0)
        The bracket of lam for every r.
    refine : bool, default True
        Refine r* between the grid neighbours of the best grid value.
    method : {"bounded", "newton"}, default "bounded"
        "newton": every profile point by ``optimal_lambda(method="newton")`` (each r warm-started from the previous
        optimum), and the refinement by a safeguarded secant on the envelope derivative d metric / dr at lam*(r)
        (``asymptotics.optimal_newton``); it falls back to the bounded search where it cannot work.
    xatol : float, default 1e-3
        Tolerance of the bounded searches, on log10(lam) (each profile point) and on r (the refinement); the Newton
        searches stop at steps below xatol / 100.
    **point
        The point without lam and reg (``alpha``, ``eps``, ``attack``, ``loss``, ``data``, ...).

    Returns
    -------
    OptimalRegOrder
        ``r_star``, its metric ``value``, and the profile over the grid (``values``, optimal ``lams``).

    Examples
    --------
    >>> import asymptotics
    >>> best = asymptotics.optimal_reg_order(r_values=[1.0, 2.0], alpha=1.0, eps=0.1, lam_bounds=(1e-2, 1.0),
    ...                                      refine=False)
    >>> best.r_star, best.values.round(4).tolist()
    (2.0, [0.3121, 0.2866])
    """
    if "reg" in point or "lam" in point:
        raise InvalidParameter("reg", "reg and lam are optimised: do not pass them")
    grid = np.linspace(1.0, 3.0, 9) if r_values is None else np.asarray(r_values, dtype=np.float64).ravel()
    if grid.size == 0 or np.any(grid < 1.0) or not np.all(np.isfinite(grid)):
        raise InvalidParameter("r_values", "must be a non-empty array of finite r >= 1")
    method = V.choice("method", method, OPTIMISERS)
    xatol = V.positive("xatol", xatol)
    fallback = "bounded"
    if method == "newton":
        from .optimal_newton import newton_optimal_reg_order

        found, reason = newton_optimal_reg_order(grid, metric, lam_bounds, refine, point, xatol)
        if found is not None:
            return found
        fallback = f"bounded (newton fallback: {reason})"

    def profile(r):
        opt = optimal_lambda(metric, lam_bounds, xatol=xatol, reg=f"l{r:.12g}", **point)
        return opt.value, opt.lam

    vals, lams = zip(*(profile(r) for r in grid))
    vals, lams = np.array(vals), np.array(lams)
    k = int(np.argmin(vals))
    r_star, best = float(grid[k]), float(vals[k])
    if refine and grid.size >= 3:
        lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
        if hi > lo:
            res = minimize_scalar(lambda r: profile(r)[0], bounds=(lo, hi), method="bounded",
                                  options={"xatol": xatol})
            if res.fun < best:
                r_star, best = float(res.x), float(res.fun)
    return OptimalRegOrder(r_star, best, metric, grid, vals, lams, fallback)
