"""When is w = 0 the robust ERM minimiser?  (the "collapsed" solution of strong attacks / regularization)

At w = 0 the loss gradient is l'(0) * h with h_j = sum_i y_i x_ij / sqrt(d); in the high-dimensional limit
|l'(0)| h_j is distributed as the prior field G_j ~ N(0, sigma_j^2) evaluated at the conjugates of q -> 0:

    m_hat0 = alpha |l'(0)| sqrt(2 / (pi rho')),   q_hat0 = alpha l'(0)^2,   sigma_j^2 = m_hat0^2 s_j^2 t_j + q_hat0 s_j.

The attack term contributes n |l'(0)| eps dA(0), with dA(0) the dual ball of radius d^{-1/p*} in the lp norm
(Sigma_delta^{1/2} times the unit l2 ball / sqrt(d) for Mahalanobis); an l1 regularizer contributes the box
[-lam a_j, lam a_j]. Zero is optimal (first-order condition of the convex problem) iff

    ( < E[ (|G_j| - lam a_j [r = 1])_+^p / b_j^{p/2 [Mahalanobis]} ] > )^{1/p}  <=  alpha |l'(0)| eps

(p the attack exponent; p = inf: the sup of the Gaussian fields, which is infinite, so never). Derivation:
docs/derivations.md.

Working precision. Where the exact test cannot hold (an l-inf attack, or eps = 0 with an l1 regularizer) the limit
minimiser is nonzero only on the coordinates whose field exceeds its threshold T_j = lam a_j [r = 1] + (the attack
radius, for l-inf): a fraction f = < 2 Phi(-T_j / sigma_j) >. When the loss is strictly convex at 0, the curvature
V_hat s_j >= alpha l''(0) s_j / 2 (V_hat -> alpha l''(0) as w -> 0) bounds each active coordinate by its excess field
over that curvature, so

    q <= q_bound = < E[(|G_j| - T_j)_+^2] / ((alpha l''(0) / 2)^2 s_j) >,   E[(|G| - T)_+^2] <= 4 sigma^2 phi(t) / t^3

(t = T / sigma; the Mills-ratio bound of the Gaussian tail, evaluated in logs). When q_bound < 1e-200 rho' (the
solver's collapse threshold; then also m^2 < rho' q and every error is 1/2 to far below float64's resolution) the
minimiser is w = 0 to working precision, and at every d the finite-d zero test fails with probability <= d f.
A loss without curvature at 0 (the hinge) gets no such certificate: there a tiny f can still give q = O(1) (each
active coordinate grows until its margins reach the kink: q ~ 2 sigma^2 / T^2 even where f ~ 1e-200), so the
solver must find it or fail.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtr

from .problem import Problem
from .quadrature import legendre


def _excess_moment(sigma, thr, p):
    """E[(|G| - thr)_+^p] for G ~ N(0, sigma^2) (vectorised over classes)."""
    x, w = legendre(96)
    s = np.maximum(sigma, 1e-300)
    if p == 1.0:
        t = thr / s
        return 2.0 * (s * np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi) - thr * ndtr(-t))
    # G = thr + s u, u in [0, 14]
    u = 7.0 * (1.0 + x)
    wu = 7.0 * w
    dens = np.exp(-0.5 * (thr[:, None] / s[:, None] + u[None, :]) ** 2) / math.sqrt(2 * math.pi)
    return 2.0 * np.sum(wu[None, :] * dens * (s[:, None] * u[None, :]) ** p, axis=1)


WORKING_PRECISION_LOG10 = -200.0   # log10 of the bound on q / rho' below which w = 0 to working precision


@dataclass(frozen=True)
class ZeroTest:
    """The first-order test of w = 0.

    ``verdict``: "exact" (``lhs <= rhs``: the exact first-order condition holds), "working-precision" (the exact
    condition cannot hold, but the loss is strictly convex at 0 and the overlap q is bounded by
    ``10**q_bound_log10 < 1e-200 rho'``: module docstring) or "nonzero". ``active_log10`` is log10 of the fraction of
    coordinates that can be nonzero. ``lhs`` is the dual norm of the smallest
    loss-plus-regularizer subgradient at w = 0 (infinite for an l-inf attack); ``rhs = alpha |l'(0)| eps`` is the
    radius of the attack term's subdifferential.
    """

    optimal: bool
    verdict: str
    lhs: float
    rhs: float
    active_log10: float
    q_bound_log10: float = math.inf   # log10(q_bound / rho'); inf without curvature at 0

    def to_dict(self) -> dict:
        return {"optimal": self.optimal, "verdict": self.verdict, "lhs": self.lhs if math.isfinite(self.lhs) else None,
                "rhs": self.rhs, "active_log10": self.active_log10,
                "q_bound_log10": self.q_bound_log10 if math.isfinite(self.q_bound_log10) else None}


def _fields(pb: Problem):
    """(sigma_j, |l'(0)|): the per-class std of the fields G_j at w = 0 and the loss slope."""
    sp = pb.spectra
    slope = abs(pb.loss.slope_at_zero)
    rho_eff = pb.rho_x + pb.data.tau ** 2
    m_hat0 = pb.alpha * slope * math.sqrt(2.0 / (math.pi * rho_eff))
    q_hat0 = pb.alpha * slope * slope
    return np.sqrt(m_hat0 ** 2 * sp.s ** 2 * sp.t + q_hat0 * sp.s), slope


def zero_test(pb: Problem) -> ZeroTest:
    """Evaluate the first-order optimality condition of w = 0 in the high-dimensional limit (module docstring)."""
    sigma, slope = _fields(pb)
    sp = pb.spectra
    rhs = pb.alpha * slope * pb.eps
    p = pb.attack.p
    # the regularizer's subdifferential at 0: [-lam a, lam a] for l1 (f'(0+) = 1), lam a f'(0+) for a formula, else 0
    kink = pb.reg.subgradient_at_zero
    thr = pb.lam * kink * sp.a if kink > 0 else np.zeros_like(sigma)
    if pb.eps == 0.0 or math.isinf(p):
        # eps = 0: the Gaussian fields exceed any l1 threshold somewhere (and l_r, r > 1, has a zero subgradient);
        # l-inf attack: the sup of the fields is infinite.
        lhs = math.inf
    elif pb.attack.kind == "mahalanobis":
        lhs = math.sqrt(float(np.sum(sp.weight * _excess_moment(sigma, thr, 2.0) / sp.b)))
    else:
        lhs = float(np.sum(sp.weight * _excess_moment(sigma, thr, p))) ** (1.0 / p)
    radius = rhs if (math.isinf(p) and pb.attack.kind != "mahalanobis") else 0.0
    thresholds = thr + radius
    safe_sigma = np.maximum(sigma, 1e-300)
    with np.errstate(divide="ignore"):
        log_terms = np.log(sp.weight) + math.log(2.0) + log_ndtr(-thresholds / safe_sigma)
    active_log10 = float(np.logaddexp.reduce(log_terms) / math.log(10.0))
    curvature = 0.5 * pb.alpha * float(pb.loss.d2(0.0)) if pb.loss.smooth else 0.0
    q_bound_log10 = math.inf
    if curvature > 0 and np.all(thresholds > 0):
        t = thresholds / safe_sigma
        # 2 (two tails) * sigma^2 E[(Z - t)_+^2] <= 2 sigma^2 phi(t) 2 / t^3, divided by curvature^2 s_j
        log_excess = (math.log(4.0) + 2 * np.log(safe_sigma) - 0.5 * t * t - 0.5 * math.log(2 * math.pi)
                      - 3 * np.log(t))
        log_q = np.logaddexp.reduce(np.log(sp.weight) + log_excess - 2 * math.log(curvature) - np.log(sp.s))
        q_bound_log10 = float((log_q - math.log(pb.rho_x + pb.data.tau ** 2)) / math.log(10.0))
    if lhs <= rhs:
        verdict = "exact"
    elif q_bound_log10 < WORKING_PRECISION_LOG10:
        verdict = "working-precision"
    else:
        verdict = "nonzero"
    return ZeroTest(verdict != "nonzero", verdict, lhs, rhs, active_log10, q_bound_log10)


def zero_is_optimal(pb: Problem) -> bool:
    """True when w = 0 is certified: by the exact first-order condition, or to working precision (``zero_test``)."""
    return zero_test(pb).optimal
