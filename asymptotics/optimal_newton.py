"""Optimal regularization by Newton's method on the derivative of the metric (``method="newton"``).

The metric E (a FixedPoint field, e.g. the robust error) is a smooth function of t = ln(lam) and of the order r of an
l_r regularizer through the fixed point x*(t, r). Its derivatives come from implicit differentiation at x* (as in
:func:`asymptotics.sensitivities`, with forward differences on the map: ``_Landscape``):

    dE/dt = dE/dx . (I - dF/dx)^{-1} dF/dt + dE/dt|_x        (the same with r)

* ``optimal_lambda``: a safeguarded Newton-secant iteration on g(t) = dE/dt. The first second derivative is a
  difference of first derivatives along lam (a probe 0.05 in ln lam downhill), later ones are secants through the
  last two iterates (a Newton step with the second derivative from differences of first derivatives); steps are at
  most one decade, kept inside the bracket [a, b] of the minimiser (a: largest t with g < 0, b: smallest t with
  g > 0 or a collapsed w = 0, whose metric is flat), and bisect that bracket when a secant step leaves it. It stops
  when a step is below ``xatol / 100`` (log10 units; the iteration is superlinear, so the error is far smaller than
  ``xatol``) or at a bound with g pointing outward (``at_boundary``).
* Between iterates the fixed point is continued, not re-solved: the tangent predictor y + dy/dt dt, corrected by
  chord-Newton steps with the last Jacobian (refreshed when a step contracts less than twofold). Only the first point
  and the answer go through :func:`asymptotics.solve` (the answer is certified like any solve); a failure of the
  continuation falls back to ``solve`` warm-started from the nearest iterate.
* ``optimal_reg_order``: the same on the grid of r (each r warm-started from the previous optimum), then a
  safeguarded secant on the envelope derivative dE*/dr = dE/dr at (r, lam*(r)) (dE/dt = 0 there) inside the grid
  bracket of the minimiser.

Anything the iteration cannot handle (the start collapses to w = 0, a collapsed solution beats every solved one, the
solver fails, no convergence in MAX_ITER steps) falls back to the bounded search, and the result says so in
``method``. Speed and agreement: benchmarks/bench_optimal_newton.py, docs/sensitivities.md.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, replace

import numpy as np

from . import metrics
from .errors import ConvergenceError, InvalidParameter
from .fixed_point import _Collapsed, _Map, _result, solve, test_functional
from .problem import Problem
from .regularizers import Regularizer
from .sensitivity import OBSERVABLES, R1_STEP, _Around
from .trivial import zero_test

LN10 = math.log(10.0)
MAX_STEP = LN10          # at most one decade of lam per step
CUBIC_FROM = 0.05        # steps (in ln lam) longer than this use the cubic Hermite model, shorter ones the secant
FIRST_PROBE = 0.05       # ln-lam offset of the probe that gives the first second derivative
JAC_STEP = 1e-7          # forward-difference step in y (error ~1e-8; docs/sensitivities.md)
PARAM_STEP = 1e-7        # forward-difference step in t = ln lam and in r (relative)
CONVERGE_TOL = 1e-10     # residual (y units) of the continued fixed points
LOOSE_TOL = 1e-4         # tolerance of a solve whose result Newton's method then finishes
CHORD_ITER = 12          # chord-Newton steps per continuation at most
CHORD_MAX_STEP = 2.0     # a corrector step longer than this (max |dy|) abandons the continuation
HALVINGS = 3             # a failed continuation step is retried via its midpoint this many times at most
MAX_ITER = 40            # Newton-secant iterations at most (then the bounded search)
R_STEP = 0.25            # largest step in r of the refinement (inside the grid bracket)
START_LAM = 0.1          # first lam (clipped to the bracket): cold solves are easy there (fixed_point.LAM_PATH_FROM)
FLAT_G = 1e-7            # |dE/d ln lam| below this at the start: a flat metric (e.g. the hinge's max-margin regime)
FLAT_CURVATURE = 1e-6    # d2E/d(ln lam)^2 below this at the answer: not a proper minimum
_PROBLEM_KEYS = tuple(inspect.signature(Problem.from_point).parameters)


class _Fallback(Exception):
    """The Newton iteration cannot handle this case: use the bounded search."""


@dataclass
class _Visit:
    """One point (t = ln lam, r) with its fixed point y and the derivatives of the metric there."""

    t: float
    r: float
    E: float
    g_t: float = 0.0
    g_r: float = 0.0
    y: np.ndarray | None = None
    J: np.ndarray | None = None
    dy_t: np.ndarray | None = None
    dy_r: np.ndarray | None = None
    trivial: bool = False


class _Landscape:
    """The metric over (t, r) at the fixed points, continued from visit to visit."""

    def __init__(self, metric: str, point: dict, vary_r: bool, init=None):
        self.metric = metric
        self.init = init            # the caller's warm start for the first solve
        self.index = OBSERVABLES.index(metric)
        self.point = {k: v for k, v in point.items() if k not in ("lam",)}
        self.vary_r = vary_r
        base = Problem.from_point(**{k: v for k, v in self.point.items() if k in _PROBLEM_KEYS}, lam=1.0)
        self.base = base
        self.around = _Around(base)
        self.visits: list[_Visit] = []
        self.solves = 0

    # ---- problems and solves ----------------------------------------------------------------------------------
    def problem(self, t: float, r: float) -> Problem:
        pb = replace(self.base, lam=math.exp(t))
        if self.vary_r:
            pb = replace(pb, reg=Regularizer.lr(r))
        return pb

    def solve_args(self, t: float, r: float) -> dict:
        args = dict(self.point, lam=math.exp(t))      # with any solver options (tol, ...) the caller gave
        if self.vary_r:
            args["reg"] = Regularizer.lr(r)
        return args

    def nearest(self, t: float, r: float) -> _Visit | None:
        live = [v for v in self.visits if not v.trivial]
        if not live:
            return None
        if not self.vary_r:
            return min(live, key=lambda v: abs(v.t - t))
        return min(live, key=lambda v: abs(v.t - t) / LN10 + abs(v.r - r))

    # ---- the fixed point by continuation ---------------------------------------------------------------------
    def _jacobian(self, y, pb, gy=None):
        """(J, parts): the channel's closed-form Jacobian with the prior's by forward differences where the loss
        allows (``_Around.analytic``; parts for the parameter derivatives), else forward differences of the map."""
        found = self.around.analytic(y, pb, "forward")
        if found is not None:
            return found
        gy = self.around.G(y, pb) if gy is None else gy
        J = np.empty((4, 4))
        for j in range(4):
            yj = np.array(y)
            yj[j] += JAC_STEP
            J[:, j] = (self.around.G(yj, pb) - gy) / JAC_STEP
        return J, None

    def _converge(self, pb, y, J):
        """Newton from the predictor y: chord steps with J while they contract fourfold, a fresh Jacobian when they
        do not (at the current point when a step fails), halved steps when even a fresh one does not lower the
        residual. Returns the converged y* (residual <= CONVERGE_TOL) or None."""
        G = self.around.G
        try:
            gy = G(y, pb)
            res = float(np.max(np.abs(gy - y)))
            A, fresh = np.eye(4) - J, False
            for _ in range(CHORD_ITER):
                if res <= CONVERGE_TOL:
                    return gy
                step = np.linalg.solve(A, gy - y)
                accepted = False
                for _half in range(3):
                    if np.all(np.isfinite(step)) and np.max(np.abs(step)) <= CHORD_MAX_STEP:
                        y_new = y + step
                        try:
                            g_new = G(y_new, pb)
                            res_new = float(np.max(np.abs(g_new - y_new)))
                        except (FloatingPointError, ZeroDivisionError, ValueError, OverflowError, _Collapsed):
                            res_new = math.inf
                        if res_new < res:
                            accepted = True
                            break
                    if not fresh:
                        break                        # retry from y with a fresh Jacobian first
                    step = 0.5 * step
                if not accepted:
                    if fresh:
                        return None
                    A, fresh = np.eye(4) - self._jacobian(y, pb, gy)[0], True
                    continue
                fresh = False
                if res_new > 0.25 * res:            # slow contraction: a fresh Jacobian for the next step
                    A, fresh = np.eye(4) - self._jacobian(y_new, pb, g_new)[0], True
                y, gy, res = y_new, g_new, res_new
        except (FloatingPointError, ZeroDivisionError, ValueError, OverflowError, _Collapsed, np.linalg.LinAlgError):
            return None
        return None

    def _track(self, near: _Visit, t, r, pb, depth: int = 0):
        """Continue the fixed point from the visit ``near`` to (t, r): tangent predictor and Newton corrector;
        when that fails, through the midpoint (a visit of its own), at most HALVINGS times."""
        pred = near.y + near.dy_t * (t - near.t)
        if self.vary_r and near.dy_r is not None:
            pred = pred + near.dy_r * (r - near.r)
        found = self._converge(pb, pred, near.J)
        if found is not None or depth >= HALVINGS:
            return found
        mid = self.visit(0.5 * (near.t + t), 0.5 * (near.r + r), depth=depth + 1)
        if mid.trivial:
            return None
        return self._track(mid, t, r, pb, depth + 1)

    def _fixed_point(self, t, r, pb, depth: int = 0):
        """y at (t, r): continued from the nearest visit, or solved (warm-started from it, to LOOSE_TOL) and
        finished by Newton's method when that fails. None when the solve certifies w = 0."""
        near = self.nearest(t, r)
        if near is not None:
            found = self._track(near, t, r, pb, depth)
            if found is not None:
                return found
        init = self.init if near is None else self.around.to_x(near.y)
        args = {**self.solve_args(t, r), "tol": LOOSE_TOL}
        try:
            fp = solve(**args, init=init)
        except ConvergenceError:
            if init is None:
                raise
            fp = solve(**args)
        self.solves += 1
        if fp.trivial:
            return None
        y = self.around.to_y(fp.state)
        with np.errstate(all="ignore"):
            found = self._converge(pb, y, self._jacobian(y, pb)[0])
        if found is None:
            raise _Fallback(f"Newton's method does not finish the solve at lam = {math.exp(t):.4g}, r = {r:g}")
        return found

    # ---- the metric -------------------------------------------------------------------------------------------
    def metric_at(self, y, pb: Problem) -> float:
        """The metric at y; the errors of m, q and P directly (no map evaluation) where the test attack's functional
        is P itself, otherwise through ``fixed_point._result`` (the formulas of every FixedPoint)."""
        x = self.around.to_x(y)
        m, q, _, P = x
        rho, tau = pb.rho_x, pb.data.tau
        if self.metric in ("gen_error", "estimation_error"):
            return (metrics.gen_error(m, q, rho, tau) if self.metric == "gen_error"
                    else metrics.estimation_error(m, q, rho))
        if self.metric in ("adv_error", "boundary_error"):
            try:
                same = test_functional(pb, None) is None
            except TypeError:         # the test functional needs the conjugates: the general route
                same = False
            if same:
                g_test = pb.eps_test * pb.attack_test.term(P) if pb.eps_test > 0 else 0.0
                adv = metrics.adv_error(m, q, g_test, rho, tau)
                return adv if self.metric == "adv_error" else adv - metrics.gen_error(m, q, rho, tau)
        self.around.calls += 1
        return float(getattr(_result(pb, _Map(pb, True), x, [0.0], 0.0, {}), self.metric))

    # ---- derivatives ---------------------------------------------------------------------------------------------
    def _param_derivative(self, name, y, gy, t, r, A, E0, parts):
        """(dy/dtheta, dE/dtheta) for theta = t or r by forward differences (one-sided Richardson with step 0.1 at
        r = 1, where the prior switches from closed form to quadrature: sensitivity.R1_STEP). lam and r enter the
        prior only: with ``parts`` the differences are of the prior at fixed conjugates."""
        from .differences import derivative

        metric = self.metric_at
        if parts is not None:
            hats, x1, T = parts["hats"], parts["x1"], parts["T"]
            G = lambda pb: T @ self.around.prior(hats, pb)     # noqa: E731  (linear in the prior's output: exact)
            base = T @ x1
        else:
            G = lambda pb: self.around.G(y, pb)                # noqa: E731
            base = gy
        if name == "t":
            move = lambda s: self.problem(s, r)                # noqa: E731
            t0, h, side = t, PARAM_STEP, 0
        elif r == 1.0:
            move = lambda s: self.problem(t, s)                # noqa: E731
            t0, h, side = r, R1_STEP, 1
        else:
            move = lambda s: self.problem(t, s)                # noqa: E731
            t0, h, side = r, PARAM_STEP * r, 0
        if side:
            dG = derivative(lambda s: G(move(s)), t0, h, f0=base, side=1)
            dy = np.linalg.solve(A, dG)
            dE = derivative(lambda s: metric(y + (s - t0) * dy, move(s)), t0, h, f0=E0, side=1)
            return dy, float(dE)
        dG = (G(move(t0 + h)) - base) / h
        dy = np.linalg.solve(A, dG)
        dE = (metric(y + h * dy, move(t0 + h)) - E0) / h
        return dy, dE

    def visit(self, t: float, r: float, depth: int = 0) -> _Visit:
        pb = self.problem(t, r)
        if zero_test(pb).optimal:
            v = _Visit(t, r, self._trivial_value(pb), trivial=True)
            self.visits.append(v)
            return v
        with np.errstate(all="ignore"):
            found = self._fixed_point(t, r, pb, depth)
            if found is None:          # solve returned w = 0 (certified): flat metric
                v = _Visit(t, r, self._trivial_value(pb), trivial=True)
                self.visits.append(v)
                return v
            y, gy = found, None
            try:
                J, parts = self._jacobian(y, pb)
                if parts is None:
                    gy = self.around.G(y, pb)
                A = np.eye(4) - J
                E0 = float(self.metric_at(y, pb))
                dy_t, g_t = self._param_derivative("t", y, gy, t, r, A, E0, parts)
                dy_r, g_r = (self._param_derivative("r", y, gy, t, r, A, E0, parts) if self.vary_r else (None, 0.0))
            except (FloatingPointError, ZeroDivisionError, ValueError, OverflowError, _Collapsed,
                    np.linalg.LinAlgError, ConvergenceError) as exc:
                raise _Fallback(f"derivatives failed at lam = {math.exp(t):.4g}, r = {r:g}: {exc}") from None
        if not all(map(math.isfinite, (E0, g_t, g_r))):
            raise _Fallback(f"non-finite derivative at lam = {math.exp(t):.4g}, r = {r:g}")
        v = _Visit(t, r, E0, g_t, g_r, y, J, dy_t, dy_r)
        self.visits.append(v)
        return v

    def _trivial_value(self, pb) -> float:
        from .fixed_point import _trivial_result

        return float(getattr(_trivial_result(pb, {}), self.metric))


def _cubic_step(p: _Visit, v: _Visit) -> float | None:
    """The minimiser of the cubic Hermite interpolant of E through two visits (value and slope at each), or None
    when it has none (Nocedal & Wright, eq. 3.59)."""
    dt = v.t - p.t
    d1 = p.g_t + v.g_t - 3.0 * (p.E - v.E) / (p.t - v.t)
    disc = d1 * d1 - p.g_t * v.g_t
    if disc < 0 or dt == 0:
        return None
    d2 = math.copysign(math.sqrt(disc), dt)
    den = v.g_t - p.g_t + 2.0 * d2
    if den == 0:
        return None
    return v.t - dt * (v.g_t + d2 - d1) / den


def _minimise_t(land: _Landscape, t0: float, r: float, lo: float, hi: float, xtol: float, first_step=MAX_STEP):
    """Safeguarded Newton iteration on g = dE/dt over [lo, hi] from t0 (module docstring). Returns (visit, at_bound).

    Steps: the minimiser of the cubic Hermite interpolant of E through the last two visits (values and first
    derivatives: a Newton step whose second derivative is the difference of first derivatives, corrected by the
    values), else the secant of g when its slope is positive, else ``first_step`` (a decade) downhill; at most a
    decade; inside the bracket of the minimiser [a, b] (a: largest t with g < 0, b: smallest t with g > 0 or w = 0),
    bisecting it when a step would leave it."""
    v = land.visit(t0, r)
    while v.trivial and v.t > lo:                     # start collapsed: step down towards the solved region
        v = land.visit(max(lo, v.t - LN10), r)
    if v.trivial:
        raise _Fallback("w = 0 over the whole lam bracket")
    a, b = lo, hi                 # bracket of the minimiser; a_set / b_set: its ends are visited points
    a_set = b_set = False
    prev = None
    for _ in range(MAX_ITER):
        if v.trivial or v.g_t > 0:
            if v.t <= b:
                b, b_set = v.t, True
        elif v.t >= a:
            a, a_set = v.t, True
        if not v.trivial and (v.t <= lo and v.g_t > 0 or v.t >= hi and v.g_t < 0):
            if abs(v.g_t) < FLAT_G:
                raise _Fallback(f"the metric is flat in lam at the end of the bracket (|dE/d ln lam| < {FLAT_G:g})")
            return v, True
        if not v.trivial and prev is not None and abs(v.g_t) < FLAT_G and abs(prev.g_t) < FLAT_G:
            if abs(v.g_t - prev.g_t) < FLAT_CURVATURE * abs(v.t - prev.t):
                raise _Fallback(f"the metric is flat in lam (|dE/d ln lam| < {FLAT_G:g} with no curvature, e.g. "
                                "the hinge's max-margin regime)")
        if not v.trivial and v.g_t == 0.0 and prev is not None:
            return _accept(v, prev), False
        if a_set and b_set and b - a < xtol:
            return _accept(v if not v.trivial else prev, prev), False
        if v.trivial:
            cand = 0.5 * (a + v.t)
        elif prev is None:                                # a probe: the second derivative from first derivatives
            cand = v.t - math.copysign(FIRST_PROBE, v.g_t)
        else:
            # far from the minimiser the cubic through values and slopes; close to it (where differences of E are
            # at the level of its rounding) the secant of g, i.e. Newton with a difference second derivative
            cand = _cubic_step(prev, v) if abs(v.t - prev.t) > CUBIC_FROM else None
            if cand is not None and (cand - v.t) * v.g_t > 0:
                cand = None                               # the cubic's minimiser lies uphill: not a descent step
            if cand is None and (v.g_t - prev.g_t) / (v.t - prev.t) > 0:
                cand = v.t - v.g_t * (v.t - prev.t) / (v.g_t - prev.g_t)
            if cand is None or not math.isfinite(cand):
                cand = v.t - math.copysign(first_step, v.g_t)
        cand = min(max(cand, v.t - MAX_STEP), v.t + MAX_STEP)
        if cand <= a:
            cand = 0.5 * (a + min(b, a + MAX_STEP)) if a_set else lo
        elif cand >= b:
            cand = 0.5 * (max(a, b - MAX_STEP) + b) if b_set else hi
        if abs(cand - v.t) < xtol and not v.trivial:
            return _accept(v, prev), False
        if not v.trivial:
            prev = v
        step = abs(cand - v.t)
        v = land.visit(cand, r)
        if step < xtol and not v.trivial:
            return _accept(v, prev), False
    raise _Fallback(f"no convergence in {MAX_ITER} Newton steps")


def _accept(v: _Visit, prev: _Visit | None) -> _Visit:
    """The answer, unless the metric is flat there (no curvature between the last two visits)."""
    if prev is not None and prev.t != v.t and not prev.trivial:
        curvature = (v.g_t - prev.g_t) / (v.t - prev.t)
        if curvature < FLAT_CURVATURE:
            raise _Fallback(f"no curvature at the stationary point (d2E/d(ln lam)^2 ~ {curvature:.1e})")
    return v


def _final(land: _Landscape, v: _Visit):
    """The certified FixedPoint at a visit (a solve warm-started at its continued fixed point)."""
    return solve(**land.solve_args(v.t, v.r), init=land.around.to_x(v.y))


def _check_bounds(lam_bounds):
    from . import validation as V

    lo = V.positive("lam_bounds[0]", lam_bounds[0])
    hi = V.positive("lam_bounds[1]", lam_bounds[1])
    if not lo < hi:
        raise InvalidParameter("lam_bounds", f"must be increasing, got {lam_bounds!r}")
    return math.log(lo), math.log(hi)


def newton_optimal_lambda(metric, lam_bounds, xatol, init, point):
    """The Newton path of :func:`asymptotics.optimal_lambda` (module docstring). Returns (OptimalLambda or None,
    reason): None means "use the bounded search" for ``reason``."""
    from .sweeps import OptimalLambda

    lo, hi = _check_bounds(lam_bounds)
    try:
        land = _Landscape(metric, point, vary_r=False, init=init)
        t0 = min(max(math.log(START_LAM), lo), hi)
        v, edge = _minimise_t(land, t0, land.base.reg.r, lo, hi, LN10 * xatol / 100.0)
        fp = _final(land, v)
    except (_Fallback, ConvergenceError) as exc:
        return None, str(exc)
    if any(w.trivial and w.E < getattr(fp, metric) for w in land.visits):
        return None, "a collapsed w = 0 solution beats the solved ones"
    return OptimalLambda(math.exp(v.t), getattr(fp, metric), metric, fp, len(land.visits), bool(edge), {},
                         method="newton"), ""


def newton_optimal_reg_order(r_grid, metric, lam_bounds, refine, point, xatol=1e-3):
    """The Newton path of :func:`asymptotics.optimal_reg_order`: (OptimalRegOrder or None, reason)."""
    from .sweeps import OptimalRegOrder

    lo, hi = _check_bounds(lam_bounds)
    try:
        land = _Landscape(metric, {**point, "reg": "l2"}, vary_r=True)
        xtol = LN10 * xatol / 100.0
        t = min(max(math.log(START_LAM), lo), hi)
        profile = {}
        for r in sorted(r_grid):
            v, _ = _minimise_t(land, t, float(r), lo, hi, xtol)
            profile[float(r)] = v
            t = v.t
        values = np.array([profile[float(r)].E for r in r_grid])
        lams = np.array([math.exp(profile[float(r)].t) for r in r_grid])
        order = sorted(profile)
        k = int(np.argmin([profile[r].E for r in order]))
        best = profile[order[k]]
        if refine and len(order) >= 3:
            lo_r, hi_r = order[max(k - 1, 0)], order[min(k + 1, len(order) - 1)]
            seeds = [profile[r] for r in order if lo_r <= r <= hi_r]
            cand, _ = _minimise_r(land, best, lo_r, hi_r, lo, hi, xtol, xatol / 100.0, seeds)
            if cand.E < best.E:
                best = cand
        fp = _final(land, best)
    except (_Fallback, ConvergenceError) as exc:
        return None, str(exc)
    if any(w.trivial and w.E < best.E for w in land.visits):
        return None, "a collapsed w = 0 solution beats the solved ones"
    return OptimalRegOrder(float(best.r), float(getattr(fp, metric)), metric, np.asarray(r_grid, dtype=np.float64),
                           values, lams, "newton"), ""


R_PROBE = 0.05           # first step in r when no second derivative is known


def _minimise_r(land, v, r_lo, r_hi, lo, hi, xtol, r_tol, seeds=()):
    """min over r in [r_lo, r_hi] of E(r, lam*(r)), from the optimum ``v`` at v.r: a safeguarded secant on the
    envelope derivative h(r) = dE/dr at (r, lam*(r)) (dE/dt = 0 there), each evaluation an inner
    :func:`_minimise_t` warm-started at lam predicted from the last two optima. ``seeds`` (optima at other r, e.g. the
    grid neighbours) bracket the root of h. Returns (visit, at_bound)."""
    a, b = r_lo, r_hi
    a_set = b_set = False
    prev = None
    for w in seeds:
        if w is v:
            continue
        if w.g_r < 0 and w.r >= a and w.r < v.r:
            a, a_set = w.r, True
        elif w.g_r > 0 and w.r <= b and w.r > v.r:
            b, b_set = w.r, True
    partners = [w for w in seeds if w is not v and (w.g_r - v.g_r) * (w.r - v.r) > 0]
    if partners:                                   # a seed on the other side of the root: the first secant
        prev = min(partners, key=lambda w: abs(w.r - v.r))
    for _ in range(MAX_ITER):
        if v.g_r > 0 and v.r <= b:
            b, b_set = v.r, True
        elif v.g_r < 0 and v.r >= a:
            a, a_set = v.r, True
        if (v.r <= r_lo and v.g_r >= 0) or (v.r >= r_hi and v.g_r <= 0):
            return v, True
        if a_set and b_set and b - a < r_tol:
            return v, False
        if prev is not None and (v.g_r - prev.g_r) * (v.r - prev.r) > 0:
            cand = v.r - v.g_r * (v.r - prev.r) / (v.g_r - prev.g_r)
        elif prev is None:
            cand = v.r - math.copysign(R_PROBE, v.g_r)
        else:
            cand = v.r - math.copysign(min(2.0 * abs(v.r - prev.r), R_STEP), v.g_r)
        cand = min(max(cand, v.r - R_STEP), v.r + R_STEP)
        if cand <= a:
            cand = 0.5 * (a + b) if a_set else r_lo
        elif cand >= b:
            cand = 0.5 * (a + b) if b_set else r_hi
        if abs(cand - v.r) < r_tol:
            return v, False
        t0 = v.t + (cand - v.r) * _dt_dr(v, prev)
        prev, step = v, abs(cand - v.r)
        v, _ = _minimise_t(land, min(max(t0, lo), hi), cand, lo, hi, xtol)
        if step < r_tol:
            return v, False
    raise _Fallback(f"no convergence in r in {MAX_ITER} steps")


def _dt_dr(v: _Visit, prev: _Visit | None) -> float:
    """Slope of lam*(r) in ln lam from two optima (0 without a second one): the predictor of the next inner start."""
    if prev is None or prev.r == v.r:
        return 0.0
    return (v.t - prev.t) / (v.r - prev.r)
