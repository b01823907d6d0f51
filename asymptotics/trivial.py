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
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

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


def zero_is_optimal(pb: Problem) -> bool:
    """True when w = 0 satisfies the first-order optimality condition in the high-dimensional limit."""
    if pb.eps == 0.0 and pb.reg.r != 1.0:
        return False
    p = pb.attack.p
    if math.isinf(p):
        return False if pb.eps > 0 or pb.reg.r != 1.0 else False
    sp = pb.spectra
    slope = abs(pb.loss.slope_at_zero)
    rho_eff = pb.rho_x + pb.data.tau ** 2
    m_hat0 = pb.alpha * slope * math.sqrt(2.0 / (math.pi * rho_eff))
    q_hat0 = pb.alpha * slope * slope
    sigma = np.sqrt(m_hat0 ** 2 * sp.s ** 2 * sp.t + q_hat0 * sp.s)
    thr = pb.lam * sp.a if pb.reg.r == 1.0 else np.zeros_like(sigma)
    if pb.eps == 0.0:
        return False  # l1 regularizer alone: Gaussian fields exceed any threshold somewhere
    if pb.attack.kind == "mahalanobis":
        lhs = math.sqrt(float(np.sum(sp.weight * _excess_moment(sigma, thr, 2.0) / sp.b)))
    else:
        lhs = float(np.sum(sp.weight * _excess_moment(sigma, thr, p))) ** (1.0 / p)
    return lhs <= pb.alpha * slope * pb.eps
