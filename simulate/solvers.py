"""Solvers of finite-d robust ERM ``min_w F(w)`` (:class:`simulate.objective.RobustObjective`), with certificates.

Registry ``SOLVERS``:

* ``"lbfgs"`` — smooth loss, attack and regularizer (lp attacks with p* in (1, inf), Mahalanobis; r > 1):
  L-BFGS on the fused numba value-and-gradient, with a line search on the directional derivative. Certificate: the relative gradient norm
  ``||grad F|| / max(||grad data||, ||lam grad R||)``.
* ``"fista"`` — smooth loss with a non-smooth attack term (linf attack: ``A = ||w||_1/d``; l1 attack:
  ``A = ||w||_inf``) and/or an l1 regularizer. The attack term sits inside the loss, ``sum_i l(z_i.w - eps A(w))``,
  and is not separable; since l is non-increasing,

  .. math::  F(w) = \\min_{s:\\ A(w) \\le \\kappa s} \\sum_i \\ell(z_i\\cdot w - \\varepsilon\\kappa s) + \\lambda R(w),

  a convex problem in (w, s) whose non-smooth part ``lam ||w||_1 + indicator{A(w) <= kappa s}`` (the epigraph of
  the attack norm) has an exact prox (:func:`simulate._kernels.prox_l1_epigraph`, ``prox_linf_epigraph``).
  ``kappa = 1/(eps sqrt(n))`` balances the curvature in s with that in w. Accelerated proximal gradient
  (FISTA) with backtracking, a slowly decreasing step bound and gradient-based adaptive restart
  (O'Donoghue & Candes 2015). Certificate: the relative norm of the gradient mapping
  ``L ||x - prox(x - grad f(x)/L)|| / ||grad f(x)||`` at the returned point (the KKT residual: zero iff optimal).
* ``"clarabel"`` / ``"scs"`` — the cvxpy reference (:mod:`simulate.reference`), needed for the hinge loss.
  Certificate: the solver's status and relative duality gap.

Every solve returns a :class:`Solution`; a certificate above ``tol`` raises ``asymptotics.ConvergenceError``
(with the last iterate and the residual history).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from asymptotics import validation as V
from asymptotics.errors import ConvergenceError, InvalidParameter

from . import _kernels as K
from .objective import RobustObjective


@dataclass(frozen=True)
class Solution:
    """A minimiser of the robust objective and the evidence for it (returned by :func:`simulate.solve`).

    Attributes
    ----------
    w : numpy.ndarray
        The minimiser.
    objective : float
        The objective at ``w``.
    solver : str
        "lbfgs", "fista", "clarabel" or "scs".
    certificate : float
        The certificate's value (relative KKT residual, or the cvxpy solver's gap/feasibility measure).
    certificate_kind : str
        What ``certificate`` measures.
    tol : float
        The tolerance it met.
    iterations : int
        Iterations of the solver.
    passes : int
        Passes over the data (objective and gradient evaluations).
    seconds : float
        Wall time.

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import Problem
    >>> from simulate import RobustObjective, solve
    >>> pb = Problem.from_point(alpha=0.5, eps=0.1, lam=0.1)
    >>> X = np.random.default_rng(0).standard_normal((50, 100)); y = np.sign(X[:, 0])
    >>> sol = solve(RobustObjective(pb, X, y), tol=1e-8)
    >>> sol.solver, bool(sol.certificate <= sol.tol)
    ('fista', True)
    """

    w: np.ndarray = field(repr=False)
    objective: float          # F(w) evaluated through the asymptotics objects
    solver: str
    certificate: float        # relative KKT residual (or duality gap for the cvxpy solvers)
    certificate_kind: str
    tol: float
    iterations: int
    passes: int               # passes over the data matrix (numba solvers)
    seconds: float

    def diagnostics(self) -> dict:
        return {"solver": self.solver, "objective": self.objective, "certificate": self.certificate,
                "certificate_kind": self.certificate_kind, "tol": self.tol, "iterations": self.iterations,
                "passes": self.passes, "seconds": self.seconds}


def choose_solver(obj: RobustObjective) -> str:
    """The default solver of a problem: clarabel for the hinge, L-BFGS when smooth, FISTA otherwise."""
    return resolve_solver("auto", obj.smooth_loss, obj.smooth_attack, obj.smooth_reg)


def resolve_solver(solver, smooth_loss: bool, smooth_attack: bool, smooth_reg: bool) -> str:
    """The solver's name for a problem with these smoothness properties (``"auto"`` chooses, see
    :func:`choose_solver`).

    Raises
    ------
    InvalidParameter("solver") : an unknown name, or a solver that cannot handle the problem (L-BFGS or FISTA on
        the hinge loss, L-BFGS on a non-smooth attack term or regularizer).
    """
    if not isinstance(solver, str) or (solver != "auto" and solver not in SOLVERS):
        raise InvalidParameter("solver", f"must be 'auto' or one of {sorted(SOLVERS)}, got {solver!r}")
    if solver == "auto":
        if not smooth_loss:
            return "clarabel"
        return "lbfgs" if smooth_attack and smooth_reg else "fista"
    if solver in ("lbfgs", "fista") and not smooth_loss:
        raise InvalidParameter("solver", f"{solver} needs a smooth loss; use 'clarabel' for the hinge")
    if solver == "lbfgs" and not (smooth_attack and smooth_reg):
        raise InvalidParameter("solver", "lbfgs needs a smooth attack and regularizer; use 'fista'")
    return solver


def solve(obj: RobustObjective, solver: str = "auto", tol: float = 1e-8, max_iter: int = 50_000,
          w0=None) -> Solution:
    """Minimise the robust objective.

    Parameters
    ----------
    obj : RobustObjective
        The objective (a problem and a training set).
    solver : {"auto", "lbfgs", "fista", "clarabel", "scs"}, default "auto"
        "auto": L-BFGS when everything is smooth, FISTA otherwise, Clarabel for the hinge loss.
    tol : float, default 1e-8
        Relative KKT residual (numba solvers) or gap/feasibility tolerance (cvxpy solvers).
    max_iter : int, default 50000
        Iteration cap.
    w0 : numpy.ndarray, optional
        Warm start (default 0).

    Returns
    -------
    Solution
        The minimiser with its certificate.

    Raises
    ------
    InvalidParameter : unknown solver, or a solver that cannot handle the problem (e.g. L-BFGS on an l1 term).
    ConvergenceError : the certificate is not met.

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import Problem
    >>> from simulate import RobustObjective, solve
    >>> pb = Problem.from_point(alpha=0.5, eps=0.1, lam=0.1, attack="l2", reg="l2")
    >>> X = np.random.default_rng(0).standard_normal((50, 100)); y = np.sign(X[:, 0])
    >>> sol = solve(RobustObjective(pb, X, y), solver="lbfgs")
    >>> sol.solver, sol.w.shape
    ('lbfgs', (100,))
    """
    tol = V.positive("tol", tol)
    max_iter = V.integer("max_iter", max_iter, low=1)
    name = resolve_solver(solver, obj.smooth_loss, obj.smooth_attack, obj.smooth_reg)
    w0 = np.zeros(obj.d) if w0 is None else np.array(w0, dtype=np.float64)
    return SOLVERS[name](obj, tol, max_iter, w0)


# ---------------------------------------------------------------- L-BFGS ------------------------------------------
def lbfgs(obj: RobustObjective, tol: float, max_iter: int, w0, memory: int = 20) -> Solution:
    """L-BFGS (two-loop recursion) with a line search on the directional derivative only.

    Near the minimiser F changes by less than its rounding error (F ~ n), so an Armijo test on F values stalls at
    a relative gradient of ~1e-8 (scipy's L-BFGS-B did, at an l1.5 attack). The directional derivative
    phi'(t) = grad F(w + t p).p keeps full relative precision: the step is accepted when
    -0.9 |phi'(0)| <= phi'(t) <= 0.1 |phi'(0)| (curvature condition; for a convex F, phi' is increasing, so the
    accepted step decreases F up to the small overshoot allowed), bracketing by doubling and safeguarded secant.
    """
    start = time.perf_counter()
    grad = np.empty(obj.d)
    margins = np.empty(obj.n)
    passes = [0]

    def gradient(w):
        passes[0] += 1
        _, g = obj.smooth_value_grad(w, grad, margins)
        return g.copy()

    w = w0.copy()
    g = gradient(w)
    S, Y, R = [], [], []
    history = []
    for it in range(1, max_iter + 1):
        res = _lbfgs_certificate_from(obj, w, g)
        history.append(res)
        if res <= tol:
            return Solution(w, obj.value(w), "lbfgs", res, "relative gradient norm", tol, it - 1, passes[0],
                            time.perf_counter() - start)
        # two-loop recursion
        q = g.copy()
        alphas = []
        for s_k, y_k, r_k in zip(reversed(S), reversed(Y), reversed(R)):
            a = r_k * float(s_k @ q)
            alphas.append(a)
            q -= a * y_k
        if S:
            q *= float(S[-1] @ Y[-1]) / float(Y[-1] @ Y[-1])
        else:
            q /= max(float(np.linalg.norm(g)), 1e-300)
        for (s_k, y_k, r_k), a in zip(zip(S, Y, R), reversed(alphas)):
            b = r_k * float(y_k @ q)
            q += (a - b) * s_k
        p = -q
        d0 = float(g @ p)
        if not d0 < 0:            # not a descent direction: reset the memory
            S, Y, R = [], [], []
            p = -g / max(float(np.linalg.norm(g)), 1e-300)
            d0 = float(g @ p)
        t, lo, hi, d_lo, d_hi = 1.0, 0.0, math.inf, d0, math.nan
        for _ in range(60):
            g_t = gradient(w + t * p)
            d_t = float(g_t @ p)
            if -0.9 * abs(d0) <= d_t <= 0.1 * abs(d0):
                break
            if d_t < 0:
                lo, d_lo = t, d_t
            else:
                hi, d_hi = t, d_t
            if math.isinf(hi):
                t *= 2.0
            else:   # secant on phi' between lo and hi, kept inside the middle of the bracket
                ts = lo - d_lo * (hi - lo) / (d_hi - d_lo)
                t = min(max(ts, lo + 0.1 * (hi - lo)), hi - 0.1 * (hi - lo))
        s_new = t * p
        y_new = g_t - g
        sy = float(s_new @ y_new)
        w = w + s_new
        g = g_t
        if sy > 1e-300:
            S.append(s_new)
            Y.append(y_new)
            R.append(1.0 / sy)
            if len(S) > memory:
                S.pop(0)
                Y.pop(0)
                R.pop(0)
    raise ConvergenceError("L-BFGS did not meet the gradient certificate", last_iterate=w, residuals=history,
                           hint="the objective may be non-smooth at the minimiser (p* or r in (1, 2) near w_j = 0): "
                                "use solver='fista' or 'clarabel', raise max_iter or loosen tol")


def _lbfgs_certificate_from(obj: RobustObjective, w, g) -> float:
    """||grad F|| / max(||grad F - lam grad R||, ||lam grad R||): relative gradient norm."""
    reg = obj.lam * obj.reg_gradient(w) if obj.lam > 0 else np.zeros_like(w)
    scale = max(float(np.linalg.norm(g - reg)), float(np.linalg.norm(reg)), 1e-300)
    return float(np.linalg.norm(g)) / scale


# ---------------------------------------------------------------- FISTA -------------------------------------------
class _Composite:
    """Smooth part f(w, s) and prox of h(w, s) for FISTA (see the module docstring)."""

    def __init__(self, obj: RobustObjective):
        self.obj = obj
        self.epi = obj.attack_kind in ("l1norm", "maxnorm")
        self.kappa = 1.0 / (obj.eps * math.sqrt(obj.n)) if self.epi else 0.0
        self.c = 0.0 if obj.smooth_reg else obj.reg_threshold   # lam for l1, lam f'(0+) for a formula penalty
        self.passes = 0

    def shift(self, w, s):
        obj = self.obj
        if self.epi:
            return obj.eps * self.kappa * s
        if obj.attack_kind in ("lp", "mahalanobis"):
            return obj.eps * obj.pb.attack.margin_shift(w)
        return 0.0

    def value(self, w, s, u):
        obj = self.obj
        val, _ = obj.loss_sum(u - self.shift(w, s))
        return val + obj.smooth_reg_value(w)

    def value_grad(self, w, s, u, gw):
        obj = self.obj
        m = u - self.shift(w, s)
        val, sd1 = obj.loss_sum(m)
        K.rmatvec(obj.Z, obj.loss_derivatives(m), gw)
        self.passes += 1
        gs = -obj.eps * self.kappa * sd1 if self.epi else 0.0
        val += obj.add_smooth_terms(w, sd1, gw)
        return val, gs

    def prox(self, vw, vs, step, out):
        if self.obj.attack_kind == "l1norm":
            return K.prox_l1_epigraph(vw, vs, step * self.c, self.kappa, float(self.obj.d), out)
        if self.obj.attack_kind == "maxnorm":
            return K.prox_linf_epigraph(vw, vs, step * self.c, self.kappa, out)
        K.soft_threshold(vw, step * self.c, out)
        return 0.0

    def matvec(self, w, out):
        K.matvec(self.obj.Z, w, out)
        self.passes += 1


def fista(obj: RobustObjective, tol: float, max_iter: int, w0) -> Solution:
    start = time.perf_counter()
    C = _Composite(obj)
    d, n = obj.d, obj.n
    x_w = w0.copy()
    x_s = obj.pb.attack.margin_shift(x_w) / C.kappa if C.epi else 0.0
    x_u = np.empty(n)
    C.matvec(x_w, x_u)
    p_w, p_s, p_u = x_w.copy(), x_s, x_u.copy()
    gw = np.empty(d)
    new_w = np.empty(d)
    new_u = np.empty(n)
    t = 1.0
    L = 1.0
    history = []
    next_check = 0
    for it in range(1, max_iter + 1):
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_next
        y_w = x_w + beta * (x_w - p_w)
        y_s = x_s + beta * (x_s - p_s)
        y_u = x_u + beta * (x_u - p_u)
        f_y, gs = C.value_grad(y_w, y_s, y_u, gw)
        gnorm = math.sqrt(float(gw @ gw) + gs * gs)
        for _ in range(100):
            step = 1.0 / L
            new_s = C.prox(y_w - step * gw, y_s - step * gs, step, new_w)
            C.matvec(new_w, new_u)
            f_new = C.value(new_w, new_s, new_u)
            dw = new_w - y_w
            ds = new_s - y_s
            sq = float(dw @ dw) + ds * ds
            if f_new <= f_y + float(gw @ dw) + gs * ds + 0.5 * L * sq + 1e-13 * abs(f_y):
                break
            L *= 2.0
        res = L * math.sqrt(sq) / max(gnorm, 1e-300)
        history.append(res)
        # gradient-based adaptive restart: momentum is reset when it points uphill
        restart = float((y_w - new_w) @ (new_w - x_w)) + (y_s - new_s) * (new_s - x_s) > 0
        p_w, x_w = x_w, new_w.copy()
        p_s, x_s = x_s, new_s
        p_u, x_u = x_u, new_u.copy()
        t = 1.0 if restart else t_next
        if restart:
            p_w, p_s, p_u = x_w, x_s, x_u
        if res <= tol and it >= next_check:
            cert = _gradient_mapping(C, x_w, x_s, x_u, L)
            if cert <= tol:
                return Solution(x_w.copy(), obj.value(x_w), "fista", cert, "relative gradient mapping (KKT residual)",
                                tol, it, C.passes, time.perf_counter() - start)
            next_check = it + 10
        L *= 0.9
    raise ConvergenceError("FISTA did not meet the KKT certificate", last_iterate=x_w, residuals=history,
                           hint="raise max_iter or loosen tol; lam -> 0 on separable data has no finite minimiser")


def _gradient_mapping(C: _Composite, w, s, u, L) -> float:
    """L ||x - prox(x - grad f(x)/L)|| / ||grad f(x)||: zero exactly at a minimiser (KKT residual)."""
    gw = np.empty_like(w)
    _, gs = C.value_grad(w, s, u, gw)
    out = np.empty_like(w)
    s_new = C.prox(w - gw / L, s - gs / L, 1.0 / L, out)
    num = math.sqrt(float((out - w) @ (out - w)) + (s_new - s) ** 2) * L
    return num / max(math.sqrt(float(gw @ gw) + gs * gs), 1e-300)


def _cvxpy(name):
    def run(obj, tol, max_iter, w0):
        from .reference import cvxpy_solve

        return cvxpy_solve(obj, solver=name.upper(), tol=tol, max_iter=max_iter)
    return run


SOLVERS = {"lbfgs": lbfgs, "fista": fista, "clarabel": _cvxpy("clarabel"), "scs": _cvxpy("scs")}
