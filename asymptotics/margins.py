"""Max-margin programs of linear classifiers for any lp norm (p in [1, inf]) and Mahalanobis norms, clean and robust.

Conventions (spec ``margins.md`` §1.4, §3.2 and ``implicit_bias_robust.md`` §1.2, §2.2)
--------------------------------------------------------------------------------------
Everything here uses *raw* inner products and *unnormalised* norms (no ``1/sqrt(d)``, no ``d^{1/p*}``): with
``z_i = y_i x_i`` and an lp input attack ``||delta||_p <= eps`` (dual exponent ``p*``),

* ``normalized_margin(w, X, y, norm)`` = ``min_i <w, z_i> / ||w||``. ``norm="linf"`` means normalisation by
  ``||w||_inf`` (the implicit-bias meaning, sign descent), *not* robustness to linf input perturbations;
* ``robust_margin(w, X, y, eps, attack, norm)`` = ``(min_i <w, z_i> - eps ||w||_{p*}) / ||w||`` — the input-robustness
  margin always goes through ``eps`` and ``attack`` (naming pitfall, spec margins §1.4);
* max margin ``gamma* = max_{||w|| <= 1} min_i <w, z_i> - eps ||w||_{p*}``; the min-norm program
  ``P(eps): min ||w|| s.t. <w, z_i> - eps ||w||_{p*} >= 1`` has value ``1/gamma*`` and the same direction;
* dual program (minimax over the simplex and the attack ball, derived in ``docs/margins.md``)
  ``gamma* = min_{lambda in simplex, ||delta||_p <= eps} ||Z^T lambda - delta||_*``. At ``eps = 0`` it is the
  dual-norm distance from 0 to conv{z_i};
* KKT multipliers of ``min 1/2 ||w||^2 s.t. <w, z_i> - eps ||w||_{p*} >= 1``: the optimal simplex weights of the
  dual program times ``1/gamma*^2``, so that ``sum(lambda) = ||w_hat||^2 = 1/gamma*^2`` (the ``L = 1`` identity);
* robust separability radius ``eps*(S) = max_w min_i <w, z_i> / ||w||_{p*}`` (the clean max margin in the attack's
  dual norm); matched geometry (algorithm norm = ``||.||_{p*}``) gives ``gamma*(eps) = eps* - eps``;
* Dinkelbach: the direction of ``P_r(eps)`` solves ``min ||v||_r + lam ||v||_{p*} s.t. <v, z_i> >= 1`` with
  ``lam = eps / gamma*`` (the "elastic net" max margin, ``elastic_net_max_margin``).

Solvers: scipy HiGHS (``linprog(method="highs")``) for the polyhedral cases (algorithm norm l1/linf, attack linf/l1,
clean or robust), cvxpy with Clarabel (named explicitly) for everything else.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from . import validation as V
from .errors import InvalidParameter
from .geometry import Attack, dual_exponent, expand_spectrum, parse_attack

_TOL = dict(highs=1e-10, clarabel=1e-10)


# ---------------------------------------------------------------------------------------------------------------
# norms of the algorithm (the normalisation), as opposed to attacks (the input perturbation)
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Norm:
    """A norm on the weights: ``lp`` (``p`` in [1, inf]) or Mahalanobis ``sqrt(w^T M w)``.

    Build with :func:`parse_norm` ("l1", "l2", "linf", "l1.5", a float p, or a positive-definite matrix/spectrum M).

    Parameters
    ----------
    kind : {"lp", "mahalanobis"}
        The family.
    p : float
        The exponent (2 for Mahalanobis).
    matrix : numpy.ndarray, optional
        M of a Mahalanobis norm.

    Examples
    --------
    >>> from asymptotics import parse_norm
    >>> parse_norm("l1.5")
    Norm(kind='lp', p=1.5)
    """

    kind: str
    p: float
    matrix: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        if self.kind == "mahalanobis":
            return "mahalanobis"
        return "linf" if math.isinf(self.p) else f"l{self.p:g}"

    @property
    def dual_exponent(self) -> float:
        """q with 1/p + 1/q = 1 (2 for Mahalanobis: the dual norm is sqrt(g^T M^{-1} g))."""
        return 2.0 if self.kind == "mahalanobis" else dual_exponent(self.p)

    @property
    def polyhedral(self) -> bool:
        return self.kind == "lp" and (self.p == 1.0 or math.isinf(self.p))

    def _chol(self, d: int) -> np.ndarray:
        M = expand_spectrum(self.matrix, d)
        return np.diag(np.sqrt(M)) if M.ndim == 1 else np.linalg.cholesky(M).T      # M = R^T R

    def __call__(self, w) -> float:
        """||w||."""
        w = np.asarray(w, dtype=np.float64)
        if self.kind == "mahalanobis":
            return float(np.linalg.norm(self._chol(w.shape[-1]) @ w))
        return float(np.linalg.norm(w, ord=self.p))

    def dual(self, g) -> float:
        """||g||_* = sup_{||u|| <= 1} <g, u>."""
        g = np.asarray(g, dtype=np.float64)
        if self.kind == "mahalanobis":
            return float(np.linalg.norm(np.linalg.solve(self._chol(g.shape[-1]).T, g)))
        return float(np.linalg.norm(g, ord=self.dual_exponent))

    def cvx(self, expr, d: int):
        import cvxpy as cp

        if self.kind == "mahalanobis":
            return cp.norm(self._chol(d) @ expr, 2)
        return cp.norm(expr, "inf" if math.isinf(self.p) else self.p)

    def cvx_dual(self, expr, d: int):
        import cvxpy as cp

        if self.kind == "mahalanobis":
            return cp.norm(np.linalg.inv(self._chol(d).T) @ expr, 2)
        q = self.dual_exponent
        return cp.norm(expr, "inf" if math.isinf(q) else q)


_LP = re.compile(r"^l(inf|\d+(\.\d+)?)$")


def parse_norm(norm) -> Norm:
    """Parse a weight norm given as a string, a number, a :class:`Norm` or a matrix.

    Parameters
    ----------
    norm : str, float, Norm or array_like
        "l1", "l2", "linf", "l<p>" (p >= 1), a float p, a :class:`Norm`, or a positive-definite matrix / positive
        spectrum M (Mahalanobis ``sqrt(w^T M w)``).

    Returns
    -------
    Norm

    Raises
    ------
    InvalidParameter
        An unknown name, p < 1, or a matrix that is not positive definite.

    Examples
    --------
    >>> from asymptotics import parse_norm
    >>> parse_norm("linf")
    Norm(kind='lp', p=inf)
    """
    if isinstance(norm, Norm):
        return norm
    if isinstance(norm, str):
        match = _LP.match(norm.strip().lower())
        if not match:
            raise InvalidParameter("norm", f"expected 'l1', 'l2', 'linf', 'l<p>' with p >= 1, a float p or a "
                                           f"positive-definite matrix, got {norm!r}")
        p = math.inf if match.group(1) == "inf" else float(match.group(1))
        if p < 1:
            raise InvalidParameter("norm", f"p must be >= 1 (a norm), got {p:g}")
        return Norm("lp", p)
    if isinstance(norm, (int, float, np.integer, np.floating)) and not isinstance(norm, bool):
        return Norm("lp", V.real("norm", norm, low=1.0, allow_inf=True))
    if isinstance(norm, (list, tuple, np.ndarray)):
        return Norm("mahalanobis", 2.0, V.spectrum_or_matrix("norm", norm, positive_definite=True))
    raise InvalidParameter("norm", f"expected a string like 'linf', a float p or a matrix, got {norm!r}")


def attack_norm(attack: Attack) -> Norm:
    """The attack's dual norm ``||w||_{p*}`` (the eps-term of a robust margin) as a :class:`Norm` on the weights."""
    if attack.kind == "mahalanobis":
        return Norm("mahalanobis", 2.0, attack.covariance)
    return Norm("lp", attack.dual_exponent)


def _data(X, y) -> np.ndarray:
    """Validate (X, y) and return Z with rows z_i = y_i x_i."""
    try:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter("X", f"must be arrays of reals ({exc})") from None
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise InvalidParameter("X", f"must be a non-empty 2-D array (m samples x d features), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise InvalidParameter("y", f"must have shape ({X.shape[0]},) to match X, got {y.shape}")
    if not np.all(np.isfinite(X)):
        raise InvalidParameter("X", "contains NaN or inf")
    if not np.all(np.abs(y) == 1.0):
        raise InvalidParameter("y", "labels must be -1 or +1")
    return y[:, None] * X


def _geometry(norm, eps, attack):
    nrm = parse_norm(norm)
    eps = V.nonnegative("eps", eps)
    att = parse_attack("linf" if attack is None else attack)
    return nrm, eps, att


# ---------------------------------------------------------------------------------------------------------------
# margins of a given separator
# ---------------------------------------------------------------------------------------------------------------
def normalized_margin(w, X, y, norm="l2") -> float:
    """Geometric margin ``min_i y_i <w, x_i> / ||w||`` in the algorithm's norm (``norm="linf"``: divide by ||w||_inf).

    Parameters
    ----------
    w : array_like, shape (d,)
        The separator (any scale).
    X : array_like, shape (m, d)
        The data.
    y : array_like, shape (m,)
        Labels in {-1, +1}.
    norm : str or Norm, default "l2"
        The normalisation of w.

    Returns
    -------
    float
        Negative when some point is misclassified.

    Examples
    --------
    >>> from asymptotics import normalized_margin
    >>> normalized_margin([1.0, 1.0], [[1.0, 2.0]], [1.0], norm="linf")
    3.0
    """
    Z = _data(X, y)
    nrm = parse_norm(norm)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (Z.shape[1],):
        raise InvalidParameter("w", f"must have shape ({Z.shape[1]},), got {w.shape}")
    size = nrm(w)
    if not size > 0:
        raise InvalidParameter("w", "must be nonzero")
    return float(np.min(Z @ w)) / size


def robust_margin(w, X, y, eps, attack="linf", norm="l2") -> float:
    """Input-robust margin ``(min_i y_i <w, x_i> - eps ||w||_{p*}) / ||w||`` against ``||delta||_p <= eps``.

    ``attack`` is the input-perturbation geometry (p), ``norm`` the normalisation of w; e.g. the ``adv_margininf`` of
    the robust spec is ``robust_margin(w, X, y, eps, attack="linf", norm="l1")``.

    Parameters
    ----------
    w : array_like, shape (d,)
        The separator (any scale).
    X : array_like, shape (m, d)
        The data.
    y : array_like, shape (m,)
        Labels in {-1, +1}.
    eps : float
        Attack radius (raw units of X).
    attack : str or Attack, default "linf"
        The input attack geometry; its dual norm ``||w||_{p*}`` enters the margin.
    norm : str or Norm, default "l2"
        The normalisation of w.

    Returns
    -------
    float

    Examples
    --------
    >>> from asymptotics import robust_margin
    >>> round(robust_margin([1.0, 1.0], [[4.0, 1.0], [1.0, 2.0]], [1.0, 1.0], eps=0.1, attack="linf", norm="l2"), 6)
    1.979899
    """
    eps = V.nonnegative("eps", eps)
    att = parse_attack(attack)
    shift = eps * att.dual_norm(np.asarray(w, dtype=np.float64)) if eps > 0 else 0.0
    nrm = parse_norm(norm)
    return normalized_margin(w, X, y, nrm) - shift / nrm(w)


# ---------------------------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MaxMargin:
    """Solution of the (robust) max-margin program, with the evidence (primal, dual, multipliers).

    Returned by :func:`max_margin`. Raw inner products and unnormalised norms (no 1/sqrt(d)); ``z_i = y_i x_i``.

    Attributes
    ----------
    w : numpy.ndarray
        Unit-norm maximiser (``||w|| = 1`` in ``norm``).
    margin : float
        ``gamma* = max_{||w||<=1} min_i <w, z_i> - eps ||w||_{p*}`` (primal value).
    w_min_norm : numpy.ndarray
        Solution of ``min ||w|| s.t. <w, z_i> - eps ||w||_{p*} >= 1`` (= ``w / margin``).
    multipliers : numpy.ndarray
        KKT multipliers of ``min 1/2||w||^2`` s.t. the same constraints; ``sum = 1/margin^2``.
    dual_value : float
        Optimal value of the dual program (equals ``margin`` up to solver tolerance).
    active : numpy.ndarray
        Indices i with ``<w_min_norm, z_i> - eps ||w_min_norm||_{p*} <= 1 + 1e-6``.
    norm : str
        The normalisation of w.
    eps : float
        The input attack radius.
    attack : str or None
        The attack geometry (None when eps = 0).
    solver : str
        "highs" (LP) or "clarabel" (cvxpy).
    elastic_net_lam : float
        Dinkelbach weight ``eps / margin`` of the equivalent elastic-net program.

    Examples
    --------
    >>> from asymptotics import max_margin
    >>> r = max_margin([[4.0, 1.0], [1.0, 2.0]], [1.0, 1.0], norm="l2")
    >>> round(r.margin ** 2, 8), r.active.tolist()          # gamma* = sqrt(5) (spec margins, oracle B)
    (5.0, [1])
    """

    w: np.ndarray
    margin: float
    w_min_norm: np.ndarray
    multipliers: np.ndarray
    dual_value: float
    active: np.ndarray
    norm: str
    eps: float
    attack: str | None
    solver: str

    @property
    def duality_gap(self) -> float:
        return abs(self.margin - self.dual_value)

    @property
    def elastic_net_lam(self) -> float:
        return self.eps / self.margin

    def to_dict(self) -> dict:
        return {"w": self.w, "margin": self.margin, "w_min_norm": self.w_min_norm, "multipliers": self.multipliers,
                "dual_value": self.dual_value, "duality_gap": self.duality_gap, "active": self.active,
                "norm": self.norm, "eps": self.eps, "attack": self.attack, "solver": self.solver,
                "elastic_net_lam": self.elastic_net_lam}

    def __repr__(self) -> str:
        att = f", eps={self.eps:g} ({self.attack} attack)" if self.eps > 0 else ""
        return (f"MaxMargin(norm={self.norm}{att}: margin={self.margin:.10g}, dual={self.dual_value:.10g}, "
                f"gap={self.duality_gap:.1e}, active={self.active.tolist()}, solver={self.solver})")


# ---------------------------------------------------------------------------------------------------------------
# HiGHS LPs (polyhedral algorithm norm and attack)
# ---------------------------------------------------------------------------------------------------------------
def _linprog(c, A_ub=None, b_ub=None, A_eq=None, b_eq=None, bounds=None):
    from scipy.optimize import linprog

    tol = _TOL["highs"]
    return linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs",
                   options={"primal_feasibility_tolerance": tol, "dual_feasibility_tolerance": tol})


def _primal_lp(Z, nrm: Norm, eps: float, pen: Norm):
    """min ||w|| s.t. Z w - eps ||w||_pen >= 1 over x = [u, v, t, s] >= 0 with w = u - v (see module notes)."""
    m, d = Z.shape
    n = 2 * d + 2
    c = np.zeros(n)
    rows, rhs = [], []
    if math.isinf(nrm.p):                       # minimise t with u_j + v_j <= t
        c[2 * d] = 1.0
        block = np.zeros((d, n))
        block[:, :d] = np.eye(d)
        block[:, d:2 * d] = np.eye(d)
        block[:, 2 * d] = -1.0
        rows.append(block)
        rhs.append(np.zeros(d))
    else:
        c[:2 * d] = 1.0
    if eps > 0:                                 # s >= ||w||_pen (an exact relaxation: shrinking u, v only helps)
        if math.isinf(pen.p):
            block = np.zeros((d, n))
            block[:, :d] = np.eye(d)
            block[:, d:2 * d] = np.eye(d)
            block[:, -1] = -1.0
            rows.append(block)
            rhs.append(np.zeros(d))
        else:
            row = np.zeros((1, n))
            row[0, :2 * d] = 1.0
            row[0, -1] = -1.0
            rows.append(row)
            rhs.append(np.zeros(1))
    margin = np.zeros((m, n))
    margin[:, :d] = -Z
    margin[:, d:2 * d] = Z
    margin[:, -1] = eps
    rows.append(margin)
    rhs.append(-np.ones(m))
    bounds = [(0, None)] * (2 * d + 1) + [(0, None) if eps > 0 else (0, 0)]
    res = _linprog(c, np.vstack(rows), np.concatenate(rhs), bounds=bounds)
    if res.status == 2:
        return None
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the max-margin LP: {res.message}")
    return res.x[:d] - res.x[d:2 * d]


def _dual_lp(Z, nrm: Norm, eps: float, att: Attack):
    """min ||Z^T lam - delta||_* over lam in the simplex and ||delta||_p <= eps (x = [lam, dp, dm, err...])."""
    m, d = Z.shape
    linf_dual = nrm.p == 1.0                    # algorithm l1 -> dual norm linf (one variable t); linf -> l1 (ep, em)
    n_err = 1 if linf_dual else 2 * d
    n = m + 2 * d + n_err
    c = np.zeros(n)
    ZT = np.zeros((d, n))
    ZT[:, :m] = Z.T
    ZT[:, m:m + d] = -np.eye(d)
    ZT[:, m + d:m + 2 * d] = np.eye(d)
    A_ub, b_ub = [], []
    A_eq = [np.r_[np.ones(m), np.zeros(n - m)][None]]
    b_eq = [np.ones(1)]
    if linf_dual:
        c[-1] = 1.0
        for sign in (1.0, -1.0):
            block = sign * ZT
            block[:, -1] = -1.0
            A_ub.append(block)
            b_ub.append(np.zeros(d))
    else:
        c[m + 2 * d:] = 1.0
        block = ZT.copy()
        block[:, m + 2 * d:m + 3 * d] = -np.eye(d)
        block[:, m + 3 * d:] = np.eye(d)
        A_eq.append(block)
        b_eq.append(np.zeros(d))
    box = (0, 0)
    if eps > 0:
        if math.isinf(att.p):                   # linf ball: |delta_j| <= eps
            box = (0, eps)
        else:                                   # l1 ball: sum |delta_j| <= eps
            box = (0, None)
            row = np.zeros((1, n))
            row[0, m:m + 2 * d] = 1.0
            A_ub.append(row)
            b_ub.append(np.array([eps]))
    bounds = [(0, None)] * m + [box] * (2 * d) + [(0, None)] * n_err
    res = _linprog(c, np.vstack(A_ub) if A_ub else None, np.concatenate(b_ub) if b_ub else None,
                   np.vstack(A_eq), np.concatenate(b_eq), bounds)
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the dual max-margin LP: {res.message}")
    return float(res.fun), res.x[:m]


# ---------------------------------------------------------------------------------------------------------------
# cvxpy (Clarabel) for the conic cases
# ---------------------------------------------------------------------------------------------------------------
def _clarabel(problem):
    """Solve with Clarabel at tight tolerances; an "optimal_inaccurate" answer is accepted (values are re-evaluated
    exactly by the callers, and l2/Mahalanobis solutions are polished on their active set)."""
    import warnings

    import cvxpy as cp

    tol = _TOL["clarabel"]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
        try:
            problem.solve(solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol, max_iter=500)
        except cp.error.SolverError:
            problem.solve(solver=cp.CLARABEL, max_iter=500)
    return problem.status


def _polish_quadratic(Z, nrm: Norm, w_hat):
    """Exact clean l2/Mahalanobis solution on the active set of an interior-point answer.

    On the active set A the KKT system of ``min 1/2 w^T M w s.t. Z_A w = 1`` gives ``w = M^{-1} Z_A^T lam`` with
    ``(Z_A M^{-1} Z_A^T) lam = 1``. Accepted only if lam >= 0 and every constraint holds (else the input is returned).
    """
    q = Z @ w_hat
    active = np.flatnonzero(q / np.min(q) <= 1.0 + 1e-5)
    d = Z.shape[1]
    if nrm.kind == "mahalanobis":
        M = expand_spectrum(nrm.matrix, d)
        Minv_ZT = (Z[active] / M).T if M.ndim == 1 else np.linalg.solve(M, Z[active].T)
    else:
        Minv_ZT = Z[active].T
    try:
        lam = np.linalg.solve(Z[active] @ Minv_ZT, np.ones(active.size))
    except np.linalg.LinAlgError:
        return w_hat
    w = Minv_ZT @ lam
    if np.min(lam) < -1e-12 or np.min(Z @ w) < 1.0 - 1e-12:
        return w_hat
    return w


def _primal_cvx(Z, nrm: Norm, eps: float, pen: Norm):
    import cvxpy as cp

    m, d = Z.shape
    w = cp.Variable(d)
    lhs = Z @ w - eps * pen.cvx(w, d) if eps > 0 else Z @ w
    status = _clarabel(cp.Problem(cp.Minimize(nrm.cvx(w, d)), [lhs >= 1]))
    if status in ("infeasible", "infeasible_inaccurate"):
        return None
    if w.value is None:
        raise RuntimeError(f"Clarabel failed on the max-margin program (status {status})")
    return np.asarray(w.value, dtype=np.float64)


def _attack_ball(att: Attack, delta, eps: float, d: int):
    import cvxpy as cp

    if att.kind == "mahalanobis":               # delta^T S^{-1} delta <= eps^2, S = R^T R -> ||R^{-T} delta||_2
        S = expand_spectrum(att.covariance, d)
        R = np.diag(np.sqrt(S)) if S.ndim == 1 else np.linalg.cholesky(S).T
        return cp.norm(np.linalg.inv(R.T) @ delta, 2) <= eps
    return cp.norm(delta, "inf" if math.isinf(att.p) else att.p) <= eps


def _dual_cvx(Z, nrm: Norm, eps: float, att: Attack):
    import cvxpy as cp

    m, d = Z.shape
    lam = cp.Variable(m, nonneg=True)
    cons = [cp.sum(lam) == 1]
    expr = Z.T @ lam
    if eps > 0:
        delta = cp.Variable(d)
        cons.append(_attack_ball(att, delta, eps, d))
        expr = expr - delta
    prob = cp.Problem(cp.Minimize(nrm.cvx_dual(expr, d)), cons)
    status = _clarabel(prob)
    if lam.value is None:
        raise RuntimeError(f"Clarabel failed on the dual max-margin program (status {status})")
    return float(prob.value), np.maximum(np.asarray(lam.value, dtype=np.float64), 0.0)


# ---------------------------------------------------------------------------------------------------------------
# public programs
# ---------------------------------------------------------------------------------------------------------------
def max_margin(X, y, norm="linf", eps=0.0, attack=None) -> MaxMargin:
    """Max-margin separator of (X, y) in ``norm``, optionally robust to ``||delta||_p <= eps`` input attacks.

    Parameters
    ----------
    X : array_like, shape (m, d)
        The data.
    y : array_like, shape (m,)
        Labels in {-1, +1}.
    norm : str, float, Norm or array_like, default "linf"
        The normalisation of w ("l1", "l2", "linf", "l<p>", float p, or a PD matrix/spectrum for Mahalanobis).
        ``"linf"`` is the sign-descent margin ``min_i y_i <w, x_i> / ||w||_inf``.
    eps : float, default 0.0
        Input attack radius (raw units, no ``sqrt(d)``); 0 gives the clean program.
    attack : str or Attack, optional
        Attack geometry ("linf", "l2", "l<p>", or an :class:`Attack`); default "linf" (dual norm l1).

    Returns
    -------
    MaxMargin
        ``w`` (unit norm), ``margin`` = ``gamma* = max_{||w||<=1} min_i <w, z_i> - eps ||w||_{p*}``, ``w_min_norm``
        solving ``min ||w|| s.t. <w, z_i> - eps ||w||_{p*} >= 1``, KKT ``multipliers`` of the half-squared-norm
        program (``sum = 1/gamma*^2``), and ``dual_value = min_{lam in simplex, ||delta||_p <= eps}
        ||Z^T lam - delta||_*``.

    Raises
    ------
    InvalidParameter
        bad shapes/labels/norm/eps, or data that are not (eps-robustly) linearly separable.

    Notes
    -----
    HiGHS LPs when both the norm and the attack's dual norm are l1/linf, Clarabel (cvxpy) otherwise; tolerances
    1e-10. References: spec margins §3.2 (oracle B: z = (4,1), (1,2) gives sqrt(5), 3, 7/4), robust spec §2.2, §5.2.

    Examples
    --------
    >>> r = max_margin([[4.0, 1.0], [1.0, 2.0]], [1.0, 1.0], norm="l1")
    >>> round(r.margin, 8), r.w.round(6).tolist()
    (1.75, [0.25, 0.75])
    """
    Z = _data(X, y)
    nrm, eps, att = _geometry(norm, eps, attack)
    pen = attack_norm(att)
    m, d = Z.shape
    lp = nrm.polyhedral and (eps == 0 or pen.polyhedral)
    if lp:
        w_hat = _primal_lp(Z, nrm, eps, pen)
    else:
        w_hat = _primal_cvx(Z, nrm, eps, pen)
        if w_hat is not None and eps == 0 and (nrm.kind == "mahalanobis" or nrm.p == 2.0):
            w_hat = _polish_quadratic(Z, nrm, w_hat)
    if w_hat is None:
        what = f"{eps:g}-robustly ({att.name} attack) " if eps > 0 else ""
        raise InvalidParameter("X", f"the data are not {what}linearly separable (the max-margin program is "
                                    "infeasible)" + (": eps >= eps*(S)" if eps > 0 else ""))
    size = nrm(w_hat)
    robust = Z @ w_hat - (eps * pen(w_hat) if eps > 0 else 0.0)
    # the primal value at the normalised solution (exact evaluation, not the solver's objective)
    margin = float(np.min(robust)) / size
    if lp:
        dual_value, weights = _dual_lp(Z, nrm, eps, att)
        solver = "highs"
    else:
        dual_value, weights = _dual_cvx(Z, nrm, eps, att)
        solver = "clarabel"
    weights = weights / max(float(np.sum(weights)), 1e-300)
    active = np.flatnonzero(robust / np.min(robust) <= 1.0 + 1e-6)
    return MaxMargin(w=w_hat / size, margin=margin, w_min_norm=w_hat / float(np.min(robust)),
                     multipliers=weights / margin ** 2, dual_value=dual_value, active=active, norm=nrm.name,
                     eps=eps, attack=att.name if (eps > 0 or attack is not None) else None, solver=solver)


def robust_separability_radius(X, y, attack="linf") -> float:
    """``eps*(S) = max_{w != 0} min_i y_i <w, x_i> / ||w||_{p*}``: S is eps-robustly separable iff eps < eps*(S).

    For an linf attack this is the l1 max margin (an LP).

    Parameters
    ----------
    X : array_like, shape (m, d)
        The data.
    y : array_like, shape (m,)
        Labels in {-1, +1}.
    attack : str or Attack, default "linf"
        The input attack geometry.

    Returns
    -------
    float
        0.0 when the data are not linearly separable.

    Examples
    --------
    >>> from asymptotics import robust_separability_radius
    >>> robust_separability_radius([[4.0, 1.0], [1.0, 2.0]], [1.0, 1.0], attack="linf")
    1.75
    """
    att = parse_attack(attack)
    try:
        return max_margin(X, y, norm=attack_norm(att), eps=0.0).margin
    except InvalidParameter as exc:
        if exc.parameter == "X" and "separable" in str(exc):
            return 0.0
        raise


def elastic_net_max_margin(X, y, norm="l2", lam=0.0, penalty="l1") -> np.ndarray:
    """Direction (unit ``norm``) solving ``min ||v|| + lam ||v||_penalty s.t. y_i <v, x_i> >= 1`` (Clarabel).

    With ``lam = eps / gamma*`` (:attr:`MaxMargin.elastic_net_lam`) and ``penalty`` the attack's dual norm this is the
    Dinkelbach-equivalent form of the robust program ``P_norm(eps)`` (robust spec section 2.2, fact 2): same direction.

    Parameters
    ----------
    X : array_like, shape (m, d)
        The data.
    y : array_like, shape (m,)
        Labels in {-1, +1}.
    norm : str or Norm, default "l2"
        The norm of the objective and of the returned direction.
    lam : float, default 0.0
        Weight of the penalty norm (>= 0).
    penalty : str or Norm, default "l1"
        The penalty norm (the attack's dual norm: l1 for an linf attack).

    Returns
    -------
    numpy.ndarray
        The unit-norm direction.

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import elastic_net_max_margin, max_margin
    >>> X = np.array([[4.0, 1.0], [1.0, 2.0]]); y = np.array([1.0, 1.0])
    >>> robust = max_margin(X, y, norm="l2", eps=0.1, attack="linf")
    >>> v = elastic_net_max_margin(X, y, norm="l2", lam=robust.elastic_net_lam, penalty="l1")
    >>> bool(np.allclose(v, robust.w, atol=1e-6))
    True
    """
    import cvxpy as cp

    Z = _data(X, y)
    nrm = parse_norm(norm)
    pen = parse_norm(penalty)
    lam = V.nonnegative("lam", lam)
    d = Z.shape[1]
    v = cp.Variable(d)
    status = _clarabel(cp.Problem(cp.Minimize(nrm.cvx(v, d) + lam * pen.cvx(v, d)), [Z @ v >= 1]))
    if v.value is None:
        if status.startswith("infeasible"):
            raise InvalidParameter("X", "the data are not linearly separable")
        raise RuntimeError(f"Clarabel failed on the elastic-net max-margin program (status {status})")
    v = np.asarray(v.value, dtype=np.float64)
    return v / nrm(v)
