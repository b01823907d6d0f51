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
radius, for l-inf): a fraction f = < 2 Phi(-T_j / sigma_j) >. When f < 1e-300 and the loss is strictly convex at 0
(curvature alpha l''(0) > 0 bounds |w~| by the excess field over that curvature) the overlaps are below float64's
range relative to rho: w = 0 to working precision, and at every d < 1e300 the finite-d zero test holds with
probability >= 1 - d f. A loss without curvature at 0 (the hinge) gets no such certificate: there a tiny f can still
give q = O(1) (each active coordinate grows until its margins reach the kink), so the solver must find it.
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


WORKING_PRECISION_LOG10 = -300.0   # log10 of the active fraction below which w = 0 to working precision


@dataclass(frozen=True)
class ZeroTest:
    """The first-order test of w = 0.

    ``verdict``: "exact" (``lhs <= rhs``: the exact first-order condition holds), "working-precision" (the exact
    condition cannot hold, but only a fraction ``10**active_log10 < 1e-300`` of the coordinates can be nonzero and
    the loss is strictly convex at 0: module docstring) or "nonzero". ``lhs`` is the dual norm of the smallest
    loss-plus-regularizer subgradient at w = 0 (infinite for an l-inf attack); ``rhs = alpha |l'(0)| eps`` is the
    radius of the attack term's subdifferential.
    """

    optimal: bool
    verdict: str
    lhs: float
    rhs: float
    active_log10: float

    def to_dict(self) -> dict:
        return {"optimal": self.optimal, "verdict": self.verdict, "lhs": self.lhs if math.isfinite(self.lhs) else None,
                "rhs": self.rhs, "active_log10": self.active_log10}


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
    thr = pb.lam * sp.a if pb.reg.r == 1.0 else np.zeros_like(sigma)
    if pb.eps == 0.0 or math.isinf(p):
        # eps = 0: the Gaussian fields exceed any l1 threshold somewhere (and l_r, r > 1, has a zero subgradient);
        # l-inf attack: the sup of the fields is infinite.
        lhs = math.inf
    elif pb.attack.kind == "mahalanobis":
        lhs = math.sqrt(float(np.sum(sp.weight * _excess_moment(sigma, thr, 2.0) / sp.b)))
    else:
        lhs = float(np.sum(sp.weight * _excess_moment(sigma, thr, p))) ** (1.0 / p)
    radius = rhs if (math.isinf(p) and pb.attack.kind != "mahalanobis") else 0.0
    with np.errstate(divide="ignore"):
        log_terms = np.log(sp.weight) + math.log(2.0) + log_ndtr(-(thr + radius) / np.maximum(sigma, 1e-300))
    active_log10 = float(np.logaddexp.reduce(log_terms) / math.log(10.0))
    if lhs <= rhs:
        verdict = "exact"
    elif active_log10 < WORKING_PRECISION_LOG10 and pb.loss.smooth and float(pb.loss.d2(0.0)) > 0:
        verdict = "working-precision"
    else:
        verdict = "nonzero"
    return ZeroTest(verdict != "nonzero", verdict, lhs, rhs, active_log10)


def zero_is_optimal(pb: Problem) -> bool:
    """True when w = 0 is certified: by the exact first-order condition, or to working precision (``zero_test``)."""
    return zero_test(pb).optimal
