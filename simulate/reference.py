"""cvxpy reference of finite-d robust ERM, with an explicitly named solver (Clarabel by default, or SCS).

The expression restates ``F(w) = sum_i l(z_i.w - eps A(w)) + lam R(w)`` in cvxpy atoms; the tests check that its
optimal value equals :meth:`RobustObjective.value` (the asymptotics objects) at the returned point, so the two
statements cannot drift apart. Used in tests at small d, for the hinge loss, and as the benchmark's baseline.
The square loss with an attack is not DCP (it is the margin-shifted objective of Tanner et al., non-convex where
the margin exceeds 1) and is rejected here.
"""
from __future__ import annotations

import math
import time

import numpy as np

from asymptotics.errors import ConvergenceError, InvalidParameter

from .objective import RobustObjective


def build(obj: RobustObjective):
    """(cvxpy Problem, variable w) for the objective."""
    import cvxpy as cp

    pb, d = obj.pb, obj.d
    if obj.formula_loss is not None or obj.penalty is not None:
        what = "loss" if obj.formula_loss is not None else "reg"
        raise InvalidParameter(what, "the cvxpy reference does not support formula losses or penalties "
                                     "(Loss.from_sympy, Regularizer.from_sympy): use solver='lbfgs' or 'fista'")
    w = cp.Variable(d)
    kind = obj.attack_kind
    if kind == "none":
        A = 0.0
    elif kind == "mahalanobis":
        cov = obj._cov_delta
        A = (cp.norm(cp.multiply(np.sqrt(cov), w)) if cov.ndim == 1
             else cp.norm(np.linalg.cholesky(cov).T @ w)) / math.sqrt(d)
    elif kind == "maxnorm":
        A = cp.norm(w, "inf")
    else:
        ps = pb.attack.dual_exponent
        A = cp.norm(w, ps) / d ** (1.0 / ps)
    u = obj.Z @ w - obj.eps * A
    name = pb.loss.name
    if name == "square" and kind != "none":
        raise InvalidParameter("loss", "the margin-shifted square loss with an attack is not convex (not DCP)")
    loss = {"logistic": lambda v: cp.sum(cp.logistic(-v)), "hinge": lambda v: cp.sum(cp.pos(1 - v)),
            "exponential": lambda v: cp.sum(cp.exp(-v)), "square": lambda v: 0.5 * cp.sum_squares(1 - v)}[name](u)
    reg = pb.reg
    if obj.lam == 0:
        R = 0.0
    elif reg.kind == "mahalanobis":
        cov = obj._cov_w
        R = cp.sum(cp.multiply(cov, cp.square(w))) if cov.ndim == 1 else cp.quad_form(w, cov)
    elif reg.r == 1:
        R = cp.norm1(w)
    elif reg.r == 2:
        R = cp.sum_squares(w)
    else:
        R = cp.sum(cp.power(cp.abs(w), reg.r))
    return cp.Problem(cp.Minimize(loss + obj.lam * R)), w


def cvxpy_solve(obj: RobustObjective, solver: str = "CLARABEL", tol: float = 1e-9, max_iter: int = 10_000,
                accept_inaccurate: bool = False):
    """Solve with cvxpy and a named solver; raise ConvergenceError unless the status is "optimal"
    (or "optimal_inaccurate" with ``accept_inaccurate``: Clarabel reports it at tight tolerances on problems mixing
    second-order and exponential cones, with objectives still within ~1e-9 relative of the optimum).

    Clarabel gets ``tol_gap_abs = tol_gap_rel = tol_feas = tol``; SCS ``eps_abs = eps_rel = tol``. The certificate
    is the relative duality gap |primal - dual| / max(1, |primal|) reported by the solver (Clarabel), or the
    requested tolerance when the solver does not report it (SCS).
    """
    import cvxpy as cp

    from .solvers import Solution

    problem, w = build(obj)
    solver = solver.upper()
    opts = {"CLARABEL": dict(tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol, max_iter=max_iter),
            "SCS": dict(eps_abs=tol, eps_rel=tol, max_iters=max_iter)}
    if solver not in opts:
        raise InvalidParameter("solver", f"cvxpy reference supports CLARABEL and SCS, got {solver!r}")
    start = time.perf_counter()
    try:
        problem.solve(solver=getattr(cp, solver), **opts[solver])
    except cp.error.SolverError as exc:
        raise ConvergenceError(f"cvxpy/{solver} failed: {exc}", hint="loosen tol or use the numba solvers") from None
    seconds = time.perf_counter() - start
    accepted = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) if accept_inaccurate else (cp.OPTIMAL,)
    if problem.status not in accepted or w.value is None:
        raise ConvergenceError(f"cvxpy/{solver} status {problem.status}", last_iterate=w.value,
                               hint="loosen tol, raise max_iter or use the numba solvers")
    wv = np.asarray(w.value, dtype=np.float64)
    stats = problem.solver_stats
    gap = math.nan
    extra = getattr(stats, "extra_stats", None)
    if solver == "CLARABEL" and extra is not None and hasattr(extra, "obj_val_dual"):
        gap = abs(extra.obj_val - extra.obj_val_dual) / max(1.0, abs(extra.obj_val))
    cert = gap if math.isfinite(gap) else tol
    kind = f"solver status {problem.status}; " + ("relative duality gap" if math.isfinite(gap) else
                                                  "requested tolerance")
    return Solution(wv, obj.value(wv), solver.lower(), float(cert), kind, tol, int(stats.num_iters or 0), 0,
                    seconds)
