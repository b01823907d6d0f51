"""The optimal-regularization map r*(alpha, eps), lam*(alpha, eps) by Newton continuation over the grid.

The first cell by the Newton ``optimal_reg_order`` (a global search over an r grid); every other cell by
continuation from its neighbour's optimum: quasi-Newton steps in (ln lam, r) on the gradient of the metric from
implicit differentiation (``optimal_newton._Landscape``), started from the neighbour's Hessian and BFGS-updated,
projected on the r interval. The reference (``method="bounded"``) solves every cell by the bounded search. Used by the
figure ``optimal_regularization_map``; speed and agreement: docs/sensitivities.md section 3.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import ConvergenceError, InvalidParameter
from .optimal_newton import (FIRST_PROBE, LN10, MAX_ITER, MAX_STEP, R_PROBE, R_STEP, _check_bounds, _Fallback,
                             _final, _Landscape, newton_optimal_reg_order)

LAM_EDGE = 1.02          # lam* within this factor of an end of the bracket counts as at the bound


def _hessian_probe(land, v, lo, hi, r_lo, r_hi):
    """The Hessian of E in (t, r) at a visit by differences of gradients (two probe visits)."""
    H = np.zeros((2, 2))
    dt = -FIRST_PROBE if v.t + FIRST_PROBE > hi else FIRST_PROBE
    dr = -R_PROBE if v.r + R_PROBE > r_hi else R_PROBE
    a = land.visit(v.t + dt, v.r)
    b = land.visit(v.t, v.r + dr)
    if a.trivial or b.trivial:
        raise _Fallback("w = 0 next to the optimum")
    H[:, 0] = [(a.g_t - v.g_t) / dt, (a.g_r - v.g_r) / dt]
    H[:, 1] = [(b.g_t - v.g_t) / dr, (b.g_r - v.g_r) / dr]
    return 0.5 * (H + H.T)


def _minimise_joint(land, v, H, lo, hi, r_lo, r_hi, xtol, r_tol):
    """min of E over (t, r) in [lo, hi] x [r_lo, r_hi] from the visit ``v``: quasi-Newton steps -H^{-1} grad (H from
    the neighbouring cell or two probes, BFGS-updated with each step's change of gradient), projected on the bounds
    (an r bound with the gradient pointing out fixes r: a Newton step in t alone), at most a decade in lam and
    R_STEP in r, halved while E does not decrease (Armijo). Returns (visit, H, at_r_bound)."""
    for _ in range(MAX_ITER):
        g = np.array([v.g_t, v.g_r])
        w, U = np.linalg.eigh(H)
        Hp = (U * np.maximum(np.abs(w), 1e-8)) @ U.T          # a positive definite model
        r_fixed = (v.r <= r_lo and v.g_r > 0) or (v.r >= r_hi and v.g_r < 0)
        if r_fixed:
            step = np.array([-g[0] / Hp[0, 0], 0.0])
        else:
            step = -np.linalg.solve(Hp, g)
            r_new = v.r + step[1]
            if r_new < r_lo or r_new > r_hi:                   # onto the bound, t re-optimised for it
                step[1] = (r_lo if r_new < r_lo else r_hi) - v.r
                step[0] = -(g[0] + Hp[0, 1] * step[1]) / Hp[0, 0]
        scale = max(abs(step[0]) / MAX_STEP, abs(step[1]) / R_STEP, 1.0)
        step = step / scale
        step[0] = min(max(v.t + step[0], lo), hi) - v.t
        if abs(step[0]) < xtol and abs(step[1]) < r_tol:
            return v, H, r_fixed or v.r in (r_lo, r_hi)
        slope = float(g @ step)
        for _half in range(5):
            new = land.visit(v.t + step[0], v.r + step[1])
            if not new.trivial and new.E <= v.E + 1e-4 * min(slope, 0.0) + 1e-13:
                break
            step = 0.5 * step
        else:
            raise _Fallback("no descent step in (lam, r)")
        yv = np.array([new.g_t - v.g_t, new.g_r - v.g_r])
        sy = float(step @ yv)
        if sy > 1e-14 * np.linalg.norm(step) * np.linalg.norm(yv):   # BFGS update (keeps H positive definite)
            Hs = H @ step
            H = H + np.outer(yv, yv) / sy - np.outer(Hs, Hs) / float(step @ Hs)
        small = abs(step[0]) < xtol and abs(step[1]) < r_tol
        v = new
        if small:
            return v, H, v.r in (r_lo, r_hi)
    raise _Fallback(f"no convergence in (lam, r) in {MAX_ITER} steps")


def _cell_newton(metric, point, start, r_lo, r_hi, lo, hi, xatol, H=None):
    """One cell of the map by continuation from a neighbour's optimum ``start`` = (t, r, state) and its Hessian
    ``H`` (None: two probes)."""
    t0, r0, state = start
    land = _Landscape(metric, {**point, "reg": "l2"}, vary_r=True, init=state)
    xtol = LN10 * xatol / 100.0
    v = land.visit(min(max(t0, lo), hi), min(max(r0, r_lo), r_hi))
    if v.trivial:
        raise _Fallback("w = 0 at the neighbour's optimum")
    if H is None:
        H = _hessian_probe(land, v, lo, hi, r_lo, r_hi)
    v, H, edge_r = _minimise_joint(land, v, H, lo, hi, r_lo, r_hi, xtol, xatol / 100.0)
    if any(w.trivial and w.E < v.E for w in land.visits):
        raise _Fallback("a collapsed w = 0 solution beats the solved ones")
    fp = _final(land, v)
    return {"r_star": float(v.r), "lam": math.exp(v.t), "value": float(getattr(fp, metric)),
            "gen_error": fp.gen_error, "at_r_bound": bool(edge_r), "method": "newton", "visits": len(land.visits),
            "state": fp.state, "t": v.t, "H": H}


def optimal_regularization_map(alphas, eps_values, *, attack="linf", loss="logistic", metric="adv_error",
                               r_bounds=(1.0, 3.0), n_r=9, lam_bounds=(1e-5, 10.0), method="newton", xatol=1e-3,
                               progress=False, **point) -> dict:
    """r*(alpha, eps) and lam*(alpha, eps): the l_r order and strength that minimise ``metric`` on a grid.

    Parameters
    ----------
    alphas, eps_values : array_like of float
        The grid (alpha = n/d > 0, training and test attack size eps >= 0).
    attack, loss : str or objects
        As for :func:`asymptotics.solve`; the regularizer is ``lam sum_j |w_j|^r`` (no 1/r).
    metric : str
        The minimised FixedPoint field (default the robust error).
    r_bounds : (float, float)
        The interval of r (r >= 1).
    n_r : int
        Grid of r of the bounded search (and of the first cell's global search with ``method="newton"``).
    lam_bounds : (float, float)
        The bracket of lam.
    method : {"newton", "bounded"}
        "newton": the first cell by :func:`asymptotics.optimal_reg_order` (``method="newton"``, a global search
        over the r grid), every other cell by continuation from its neighbour's optimum (along eps within a row of
        alpha, the first cell of a row from the row below): a Newton search in lam at the neighbour's r, then a
        secant on the envelope derivative dE/dr at lam*(r) inside ``r_bounds``; a cell where that fails is solved
        by the bounded search (recorded in ``method``). "bounded": every cell by
        ``optimal_reg_order(method="bounded")`` (the reference).
    xatol : float
        Tolerance of the searches: log10(lam) and r for the bounded search; the Newton searches stop when their
        steps are below xatol / 100.
    progress : bool
        A progress bar over the cells.
    **point
        Other fixed parameters (data, eps_test=None means eps_test = eps at every cell, ...).

    Returns
    -------
    dict
        ``alpha``, ``eps`` (the grid), arrays (n_alpha, n_eps): ``r_star``, ``lam``, ``value``, ``gen_error``,
        ``at_r_bound``, ``at_lam_bound`` (lam* within 2% of an end of ``lam_bounds``: there the metric hardly
        depends on r, and r* is not meaningful), ``visits``; lists ``method`` (per cell), ``failures``;
        ``seconds``.

    Examples
    --------
    >>> from asymptotics.optimal_map import optimal_regularization_map
    >>> out = optimal_regularization_map([1.0], [0.1, 0.2], attack="l2", n_r=3)
    >>> out["r_star"].round(3).tolist(), out["method"]
    ([[2.0, 2.0]], [['newton', 'newton']])
    """
    import time

    from .sweeps import optimal_reg_order
    from . import validation as V

    alphas = np.asarray(alphas, dtype=np.float64).ravel()
    eps_values = np.asarray(eps_values, dtype=np.float64).ravel()
    method = V.choice("method", method, ("newton", "bounded"))
    r_lo = V.real("r_bounds[0]", r_bounds[0], low=1.0)
    r_hi = V.real("r_bounds[1]", r_bounds[1], low=1.0)
    if not r_lo < r_hi:
        raise InvalidParameter("r_bounds", f"must be increasing, got {r_bounds!r}")
    lo, hi = _check_bounds(lam_bounds)
    for a in alphas:
        V.positive("alphas", a)
    for e in eps_values:
        V.nonnegative("eps_values", e)
    r_grid = np.linspace(r_lo, r_hi, V.integer("n_r", n_r, low=3))
    base = dict(point, attack=attack, loss=loss)
    shape = (alphas.size, eps_values.size)
    out = {k: np.full(shape, np.nan) for k in ("r_star", "lam", "value", "gen_error", "visits")}
    out["at_r_bound"] = np.zeros(shape, dtype=bool)
    methods = [["" for _ in eps_values] for _ in alphas]
    failures = []
    cells = [(i, j) for i in range(alphas.size) for j in range(eps_values.size)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(cells), desc="cells", disable=None)
    start_time = time.perf_counter()
    found = {}

    def bounded(i, j, why=""):
        res = optimal_reg_order(r_values=r_grid, metric=metric, lam_bounds=(math.exp(lo), math.exp(hi)),
                                alpha=float(alphas[i]), eps=float(eps_values[j]), method="bounded", xatol=xatol,
                                **base)
        k = int(np.argmin(np.abs(res.r_values - res.r_star)))
        lam = res.lams[k] if abs(res.r_values[k] - res.r_star) < 1e-12 else math.nan
        if not math.isfinite(lam):   # refined r*: its lam from one more search
            lam = _bounded_lam(metric, lo, hi, xatol, dict(base, alpha=float(alphas[i]), eps=float(eps_values[j]),
                                                            reg=f"l{res.r_star:.12g}"))
        return {"r_star": res.r_star, "lam": lam, "value": res.value, "gen_error": math.nan,
                "at_r_bound": res.r_star in (r_lo, r_hi), "method": "bounded" + why, "visits": 0, "state": None}

    for i, j in cells:
        point_ij = dict(base, alpha=float(alphas[i]), eps=float(eps_values[j]))
        neighbour = found.get((i, j - 1)) or found.get((i - 1, j))
        cell = None
        if method == "newton":
            try:
                if neighbour is None or neighbour["state"] is None:
                    res, reason = newton_optimal_reg_order(r_grid, metric, (math.exp(lo), math.exp(hi)), True,
                                                           point_ij, xatol)
                    if res is None:
                        raise _Fallback(reason)
                    cell = _cell_newton(metric, point_ij, (math.log(res.lams[int(np.argmin(np.abs(
                        res.r_values - res.r_star)))]), res.r_star, None), r_lo, r_hi, lo, hi, xatol)
                else:
                    cell = _cell_newton(metric, point_ij, (neighbour["t"], neighbour["r_star"], neighbour["state"]),
                                        r_lo, r_hi, lo, hi, xatol, neighbour.get("H"))
            except (_Fallback, ConvergenceError) as exc:
                failures.append({"alpha": float(alphas[i]), "eps": float(eps_values[j]), "newton": str(exc)})
                cell = None
        if cell is None:
            try:
                cell = bounded(i, j, "" if method == "bounded" else " (newton fallback)")
            except ConvergenceError as exc:
                failures.append({"alpha": float(alphas[i]), "eps": float(eps_values[j]), "bounded": str(exc)})
                methods[i][j] = "failed"
                if bar is not None:
                    bar.update()
                continue
        found[(i, j)] = cell
        for k in ("r_star", "lam", "value", "gen_error", "visits"):
            out[k][i, j] = cell[k]
        out["at_r_bound"][i, j] = cell["at_r_bound"]
        methods[i][j] = cell["method"]
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    out["at_lam_bound"] = (out["lam"] <= math.exp(lo) * LAM_EDGE) | (out["lam"] >= math.exp(hi) / LAM_EDGE)
    out.update(alpha=alphas, eps=eps_values, method=methods, failures=failures,
               seconds=time.perf_counter() - start_time)
    return out


def _bounded_lam(metric, lo, hi, xatol, point):
    from .sweeps import optimal_lambda

    return optimal_lambda(metric, (math.exp(lo), math.exp(hi)), xatol=xatol, **point).lam
