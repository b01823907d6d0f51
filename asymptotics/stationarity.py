"""KKT and Bregman/Fenchel-Young stationarity residuals of a linear separator for the max-margin problem in any norm.

Problem (spec margins §1.5, L = 1 for linear models): ``min 1/2 ||w||^2 s.t. q_i(w) >= 1`` with
``q_i(w) = <w, z_i> - eps ||w||_{p*}`` (``eps = 0``: clean). A trained ``w`` (any scale, ``q_min > 0``) is rescaled to
``w_hat = w / q_min(w)`` (so ``q_min(w_hat) = 1``) and the residuals of spec margins §5.1 are computed:

* stationarity ``eps_stat = min_{lam >= 0, s in d(1/2||w_hat||^2)} ||s - H^T lam||_*`` (the dual norm), with
  ``H`` the rows ``h_i = z_i - eps a`` (``a`` one fixed element of ``d||w||_{p*}``, see :func:`kkt_residual`):
  l2 by NNLS, l1 and linf by a HiGHS LP (active-set tolerance ``tau``), other norms by Clarabel;
* complementary slackness ``delta = sum_i lam_i (q_i(w_hat) - 1)`` (>= 0). l1/linf/other norms minimise
  ``eps_stat + delta`` jointly (an LP/conic program), so that degenerate programs return the CS-respecting multipliers;
  l2 follows Lyu & Li: NNLS over all constraints, then delta at the NNLS multipliers;
* the scale-free Bregman/Fenchel-Young gap ``1 - beta*`` with
  ``beta* = max { <w_hat, H^T lam> / ||w_hat|| : lam >= 0, ||H^T lam||_* <= 1 }``; ``min_c F(w, c v) =
  1/2 ||w||^2 (1 - beta(w, v)^2)`` where ``F(x, s) = 1/2||x||^2 + 1/2||s||_*^2 - <s, x>`` is the Fenchel-Young gap;
  it vanishes iff some nonnegative combination of the h_i lies in ``d(1/2||w_hat||^2)`` up to scale;
* the identity ``sum(lam) = ||w_hat||^2 / L`` of every KKT point (Euler + complementary slackness).

The flow alignment ``beta(w) = <w, -grad L(w)> / (||w|| ||grad L(w)||_*)`` of :func:`flow_alignment` is the same
quantity along the exponential-loss weights ``v = sum_i e^{-q_i} h_i`` (1 - beta is the gap the dynamics record).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import validation as V
from .errors import InvalidParameter
from .geometry import parse_attack
from .margins import Norm, _clarabel, _data, _linprog, attack_norm, parse_norm


@dataclass(frozen=True)
class KKTResidual:
    """Stationarity evidence for a separator ``w`` of the max-margin program (returned by :func:`kkt_residual`).

    Attributes
    ----------
    stationarity : float
        Dual-norm distance of ``w_hat`` from the cone spanned by the active ``z_i`` (0 at a KKT point).
    complementary_slackness : float
        ``sum_i lam_i (q_i - 1)``.
    multipliers : numpy.ndarray
        The stationarity multipliers ``lam_i >= 0``.
    beta_star : float
        The best alignment; ``gap = 1 - beta_star`` is the Bregman/Fenchel-Young gap.
    norm_sq_over_L : float
        ``||w_hat||^2 / L`` (equals ``sum(lam)`` at a KKT point).
    norm : str
        The algorithm's norm.
    active_coordinates : int
        Size of the active set of the duality map.

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import kkt_residual, max_margin
    >>> X = np.array([[4.0, 1.0], [1.0, 2.0]]); y = np.array([1.0, 1.0])
    >>> res = kkt_residual(max_margin(X, y, norm="l2").w_min_norm, X, y, norm="l2")
    >>> bool(res.stationarity < 1e-8), bool(res.gap < 1e-12)
    (True, True)
    """

    stationarity: float
    complementary_slackness: float
    multipliers: np.ndarray
    beta_star: float
    norm_sq_over_L: float
    norm: str
    active_coordinates: int

    @property
    def gap(self) -> float:
        return max(0.0, 1.0 - self.beta_star)

    @property
    def multiplier_sum(self) -> float:
        return float(np.sum(self.multipliers))

    @property
    def identity_residual(self) -> float:
        """``|sum(lam) - ||w_hat||^2 / L| / (||w_hat||^2 / L)`` (0 at a KKT point)."""
        return abs(self.multiplier_sum - self.norm_sq_over_L) / self.norm_sq_over_L

    def to_dict(self) -> dict:
        return {"stationarity": self.stationarity, "complementary_slackness": self.complementary_slackness,
                "multipliers": self.multipliers, "beta_star": self.beta_star, "gap": self.gap,
                "multiplier_sum": self.multiplier_sum, "norm_sq_over_L": self.norm_sq_over_L,
                "identity_residual": self.identity_residual, "norm": self.norm,
                "active_coordinates": self.active_coordinates}


# ---------------------------------------------------------------------------------------------------------------
def fenchel_young_gap(x, s, norm="l2") -> float:
    """``F(x, s) = 1/2 ||x||^2 + 1/2 ||s||_*^2 - <s, x> >= 0``; zero iff ``s in d(1/2||.||^2)(x)``.

    Parameters
    ----------
    x, s : array_like, shape (d,)
        The primal point and the dual vector.
    norm : str or Norm, default "l2"
        The norm ``||.||`` (``||.||_*`` its dual).

    Returns
    -------
    float

    Examples
    --------
    >>> from asymptotics import fenchel_young_gap
    >>> fenchel_young_gap([1.0, 0.0], [1.0, 0.0]), fenchel_young_gap([1.0, 0.0], [0.0, 1.0])
    (0.0, 1.0)
    """
    nrm = parse_norm(norm)
    x = np.asarray(x, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    return 0.5 * nrm(x) ** 2 + 0.5 * nrm.dual(s) ** 2 - float(s @ x)


def alignment(w, v, norm="l2") -> float:
    """``beta(w, v) = <w, v> / (||w|| ||v||_*)`` in [-1, 1] (Hoelder); 1 iff v is in the duality-map cone of w.

    Parameters
    ----------
    w, v : array_like, shape (d,)
        The vectors (``||.||`` is ``norm``, ``||.||_*`` its dual).
    norm : str or Norm, default "l2"
        The norm.

    Returns
    -------
    float

    Examples
    --------
    >>> from asymptotics import alignment
    >>> alignment([1.0, 0.0], [2.0, 0.0])
    1.0
    """
    nrm = parse_norm(norm)
    w = np.asarray(w, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    den = nrm(w) * nrm.dual(v)
    if not den > 0:
        raise InvalidParameter("w", "w and v must be nonzero")
    return float(w @ v) / den


def _attack_subgradient(w, ps: float) -> np.ndarray:
    """One element of d||w||_{ps}: sign(w) (ps = 1, sign(0) = 0), w/||w||_2, e_{argmax} (lowest index), lp formula."""
    if ps == 1.0:
        return np.sign(w)
    if math.isinf(ps):
        a = np.zeros_like(w)
        j = int(np.argmax(np.abs(w)))
        a[j] = np.sign(w[j])
        return a
    n = np.linalg.norm(w, ord=ps)
    return np.sign(w) * (np.abs(w) / n) ** (ps - 1.0)


def _rows(w, X, y, eps, attack):
    """H (rows h_i = z_i - eps a) and robust margins q = H w (exact, since <a, w> = ||w||_{p*})."""
    Z = _data(X, y)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (Z.shape[1],):
        raise InvalidParameter("w", f"must have shape ({Z.shape[1]},), got {w.shape}")
    eps = V.nonnegative("eps", eps)
    if eps > 0:
        att = parse_attack("linf" if attack is None else attack)
        pen = attack_norm(att)
        if pen.kind == "mahalanobis":
            from .geometry import expand_spectrum

            S = expand_spectrum(att.covariance, w.size)
            Sw = S * w if S.ndim == 1 else S @ w
            a = Sw / math.sqrt(float(w @ Sw))
        else:
            a = _attack_subgradient(w, pen.p)
        Z = Z - eps * a[None, :]
    return Z, Z @ w


def flow_alignment(w, X, y, norm="l2", loss="exp", eps=0.0, attack=None) -> float:
    """``beta(w) = <w, -grad L> / (||w|| ||grad L||_*)`` for the (robust) exponential or logistic loss.

    The loss weights are computed in log space, ``e^{-(q_i - q_min)}`` (exp) and ``sigma(-q_i)/sigma(-q_min)``
    (logistic), so any scale of w works; ``1 - beta`` is the Bregman/Fenchel-Young gap of the current direction.

    Parameters
    ----------
    w : array_like, shape (d,)
        The current iterate (any scale).
    X : array_like, shape (m, d)
        The data.
    y : array_like, shape (m,)
        Labels in {-1, +1}.
    norm : str or Norm, default "l2"
        The algorithm's norm.
    loss : {"exp", "logistic"}, default "exp"
        The loss L.
    eps : float, default 0.0
        Attack radius of the robust loss.
    attack : str or Attack, optional
        Attack geometry (default linf when eps > 0).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import flow_alignment, max_margin
    >>> X = np.array([[4.0, 1.0], [1.0, 2.0]]); y = np.array([1.0, 1.0])
    >>> round(flow_alignment(50 * max_margin(X, y, norm="l2").w, X, y, norm="l2"), 6)   # at the max-margin direction
    1.0
    """
    H, q = _rows(w, X, y, eps, attack)
    V.choice("loss", loss, ("exp", "logistic"))
    if loss == "exp":
        a = np.exp(-(q - q.min()))
    else:
        a = np.exp(-np.logaddexp(0.0, q) + np.logaddexp(0.0, q.min()))
    return alignment(w, H.T @ a, norm)


# ---------------------------------------------------------------------------------------------------------------
def _stationarity_lp(H, w_hat, slack, nrm: Norm, tau: float):
    """min ||s - H^T lam||_* + sum lam_i slack_i over lam >= 0, s in d(1/2||w_hat||^2) (l1 or linf), a HiGHS LP.

    ``slack = q_hat - 1 >= 0``, so the second term is the complementary-slackness measure: the joint minimum is the
    (eps, delta)-KKT pair with the smallest eps + delta (degenerate LPs would otherwise return arbitrary lam).
    Returns (eps, delta, lam, active coordinates)."""
    m, d = H.shape
    big = np.max(np.abs(w_hat))
    if math.isinf(nrm.p):
        # s = ||w||_inf sum_{j in A} mu_j sign(w_j) e_j, mu in simplex; error in l1: H^T lam - B mu = ep - em
        A = np.flatnonzero(np.abs(w_hat) >= (1.0 - tau) * big)
        k = A.size
        B = np.zeros((d, k))
        B[A, np.arange(k)] = big * np.sign(w_hat[A])
        n = m + k + 2 * d
        c = np.r_[slack, np.zeros(k), np.ones(2 * d)]
        A_eq = np.vstack([np.hstack([H.T, -B, -np.eye(d), np.eye(d)]),
                          np.r_[np.zeros(m), np.ones(k), np.zeros(2 * d)][None]])
        b_eq = np.r_[np.zeros(d), 1.0]
        res = _linprog(c, A_eq=A_eq, b_eq=b_eq, bounds=[(0, None)] * n)
        lam = res.x[:m]
        return float(np.sum(res.x[m + k:])), float(lam @ slack), lam, k
    # l1: s = ||w||_1 sgn with sgn_j = sign(w_j) on the support, free in [-1, 1] off it; error in linf (t)
    norm1 = float(np.sum(np.abs(w_hat)))
    support = np.abs(w_hat) > tau * big
    free = np.flatnonzero(~support)
    k = free.size
    fixed = np.where(support, norm1 * np.sign(w_hat), 0.0)
    Fm = np.zeros((d, k))
    Fm[free, np.arange(k)] = norm1
    n = m + k + 1
    c = np.r_[slack, np.zeros(k), 1.0]
    block = np.hstack([H.T, -Fm])
    A_ub = np.vstack([np.hstack([block, -np.ones((d, 1))]), np.hstack([-block, -np.ones((d, 1))])])
    b_ub = np.r_[fixed, -fixed]
    res = _linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=[(0, None)] * m + [(-1, 1)] * k + [(0, None)])
    lam = res.x[:m]
    return float(res.x[-1]), float(lam @ slack), lam, int(support.sum())


def _beta_star(H, w_hat, nrm: Norm):
    """max <w_hat, H^T lam>/||w_hat|| s.t. lam >= 0, ||H^T lam||_* <= 1, and the maximising lam."""
    m, d = H.shape
    gain = -(H @ w_hat) / nrm(w_hat)
    if nrm.polyhedral:
        if math.isinf(nrm.p):                   # dual l1: H^T lam = ep - em, sum(ep + em) <= 1
            A_eq = np.hstack([H.T, -np.eye(d), np.eye(d)])
            A_ub = np.r_[np.zeros(m), np.ones(2 * d)][None]
            res = _linprog(np.r_[gain, np.zeros(2 * d)], A_ub=A_ub, b_ub=[1.0], A_eq=A_eq, b_eq=np.zeros(d),
                           bounds=[(0, None)] * (m + 2 * d))
        else:                                   # dual linf: -1 <= H^T lam <= 1
            res = _linprog(gain, A_ub=np.vstack([H.T, -H.T]), b_ub=np.ones(2 * d), bounds=[(0, None)] * m)
        return -res.fun, res.x[:m]
    import cvxpy as cp

    lam = cp.Variable(m, nonneg=True)
    prob = cp.Problem(cp.Maximize(-gain @ lam), [nrm.cvx_dual(H.T @ lam, d) <= 1])
    _clarabel(prob)
    return float(prob.value), np.maximum(np.asarray(lam.value), 0.0)


def kkt_residual(w, X, y, norm="l2", eps=0.0, attack=None, L=1.0, tau=1e-3) -> KKTResidual:
    """KKT residuals of ``w`` for ``min 1/2||w||^2 s.t. <w, z_i> - eps ||w||_{p*} >= 1`` (spec margins §5.1).

    Parameters
    ----------
    w : array_like, shape (d,)
        Separator of any scale with positive (robust) margin.
    X : array_like, shape (m, d)
        The data.
    y : array_like, shape (m,)
        Labels in {-1, +1}.
    norm : str, float, Norm or array_like, default "l2"
        The algorithm's norm ("l1", "l2", "linf", "l<p>" or a PD matrix).
    eps, attack : float, str
        Robust constraints; ``a`` in ``d||w||_{p*}`` is fixed at sign(w) (sign(0) = 0) for an linf attack,
        ``w/||w||_2`` for l2, so for sparse w under linf attacks the residual is an upper bound.
    L : float, default 1.0
        Homogeneity order in the identity ``sum(lam) = ||w_hat||^2 / L`` (1 for linear models).
    tau : float, default 1e-3
        Active-set tolerance for the l1/linf duality maps (relative to ``||w_hat||_inf``).

    Returns
    -------
    KKTResidual
        ``stationarity`` (dual-norm distance, solved by NNLS for l2, HiGHS for l1/linf, Clarabel otherwise),
        ``complementary_slackness`` ``sum lam_i (q_i - 1)``, the stationarity ``multipliers``, ``beta_star`` and
        ``gap = 1 - beta_star``, ``norm_sq_over_L = ||w_hat||^2 / L``.

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import kkt_residual, max_margin
    >>> X = np.array([[4.0, 1.0], [1.0, 2.0]]); y = np.array([1.0, 1.0])
    >>> res = kkt_residual(max_margin(X, y, norm="l2").w_min_norm, X, y, norm="l2")
    >>> round(float(res.multipliers.sum()), 6), round(res.norm_sq_over_L, 6)     # sum(lam) = ||w||^2 = 1/gamma*^2
    (0.2, 0.2)
    """
    nrm = parse_norm(norm)
    L = V.positive("L", L)
    tau = V.real("tau", tau, low=0.0, high=1.0)
    H, q = _rows(w, X, y, eps, attack)
    qmin = float(np.min(q))
    if not qmin > 0:
        raise InvalidParameter("w", f"must separate the data with a positive (robust) margin, got min q = {qmin:.3g}")
    w_hat = np.asarray(w, dtype=np.float64) / qmin
    q_hat = q / qmin
    size = nrm(w_hat)
    active = w_hat.size
    slack = q_hat - 1.0
    if nrm.kind == "lp" and nrm.p == 2.0:
        from scipy.optimize import nnls

        lam, stat = nnls(H.T, w_hat, maxiter=50 * H.shape[0])
        cs = float(lam @ slack)
        beta = float(np.linalg.norm(H.T @ lam)) / size
    elif nrm.polyhedral:
        stat, cs, lam, active = _stationarity_lp(H, w_hat, slack, nrm, tau)
        beta = _beta_star(H, w_hat, nrm)[0]
    else:
        import cvxpy as cp

        if nrm.kind == "mahalanobis":
            from .geometry import expand_spectrum

            M = expand_spectrum(nrm.matrix, w_hat.size)
            s = M * w_hat if M.ndim == 1 else M @ w_hat
        else:                                   # unique duality map ||w||^{2-p} sign(w) |w|^{p-1}
            s = size ** (2.0 - nrm.p) * np.sign(w_hat) * np.abs(w_hat) ** (nrm.p - 1.0)
        lam_v = cp.Variable(H.shape[0], nonneg=True)
        prob = cp.Problem(cp.Minimize(nrm.cvx_dual(s - H.T @ lam_v, w_hat.size) + slack @ lam_v))
        _clarabel(prob)
        lam = np.maximum(np.asarray(lam_v.value), 0.0)
        stat, cs = nrm.dual(s - H.T @ lam), float(lam @ slack)
        beta = _beta_star(H, w_hat, nrm)[0]
    return KKTResidual(stationarity=float(stat), complementary_slackness=cs, multipliers=np.asarray(lam, float),
                       beta_star=float(min(beta, 1.0)), norm_sq_over_L=size ** 2 / L, norm=nrm.name,
                       active_coordinates=int(active))


def stationarity_gap(w, X, y, norm="l2", eps=0.0, attack=None) -> float:
    """The scale-free Bregman/Fenchel-Young gap ``1 - beta*(w_hat)`` alone (see :func:`kkt_residual`).

    Parameters
    ----------
    w : array_like, shape (d,)
        A separator of any scale with positive (robust) margin.
    X : array_like, shape (m, d)
        The data.
    y : array_like, shape (m,)
        Labels in {-1, +1}.
    norm : str or Norm, default "l2"
        The algorithm's norm.
    eps : float, default 0.0
        Attack radius of the robust constraints.
    attack : str or Attack, optional
        Attack geometry.

    Returns
    -------
    float
        0 at a KKT direction of the max-margin program.

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import max_margin, stationarity_gap
    >>> X = np.array([[4.0, 1.0], [1.0, 2.0]]); y = np.array([1.0, 1.0])
    >>> stationarity_gap(max_margin(X, y, norm="l2").w, X, y) < 1e-12, stationarity_gap([1.0, 0.0], X, y) > 0.01
    (True, True)
    """
    nrm = parse_norm(norm)
    H, q = _rows(w, X, y, eps, attack)
    qmin = float(np.min(q))
    if not qmin > 0:
        raise InvalidParameter("w", f"must separate the data with a positive (robust) margin, got min q = {qmin:.3g}")
    w_hat = np.asarray(w, dtype=np.float64) / qmin
    if nrm.kind == "lp" and nrm.p == 2.0:
        from scipy.optimize import nnls

        lam, _ = nnls(H.T, w_hat, maxiter=50 * H.shape[0])
        return max(0.0, 1.0 - float(np.linalg.norm(H.T @ lam)) / float(np.linalg.norm(w_hat)))
    return max(0.0, 1.0 - _beta_star(H, w_hat, nrm)[0])
