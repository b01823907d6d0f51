"""Analytic derivatives of the channel conjugates (``channels.channel_hats``) w.r.t. (m, q, V, P), eps and alpha.

For the smooth built-in losses (logistic, exponential; the square loss in closed form) the conjugates are Gaussian
averages of smooth functions of the proximal point ``u = prox_{V l}(w')``, ``w' = y sqrt(q) xi - g``, so their
derivatives are averages of the derivatives of the integrands, computed on the same quadrature nodes (the rule's
breakpoints move with x, but the integrals are differentiated, not the rule). With ``l1 = -l'(u)``, ``l2 = l''(u)``,
``l3 = l'''(u)``, ``D = du/dw' = 1 / (1 + V l2)``:

    du/dq = D y xi / (2 sqrt q),   du/dV = l1 D,   du/dg = -D,   d l1 = -l2 du,   d kappa = l3 D^2 du - l2^2 D^2 dV
    (kappa = l2 D, the curvature in V_hat);  z0 = Phi(y k xi), dens0 = phi(k xi) / sqrt(V0),  k = m / sqrt(q V0),
    V0 = rho' - m^2 / q:   dk/dm = q rho' / (q rho' - m^2)^{3/2},  dk/dq = -m rho' / (2 (q rho' - m^2)^{3/2}).

The attack enters through g = eps A(P) (the shift of every margin) and dg = eps A'(P) (the prefactor of P_hat), so
d/dP = g' d/dg + g'' d/ddg and d/deps = A d/dg + A' d/ddg; every conjugate is proportional to alpha. The hinge loss
(kinks: the integrands jump where the prox changes branch) and formula losses get no analytic Jacobian here
(``channel_jacobian`` returns None; the callers use differences). Checked against Richardson differences of
``channel_hats`` to 1e-9 in tests/asymptotics/test_sensitivities.py.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc

from .channels import _INV_SQRT_2PI, _SQRT2, _xi_rule, teacher_variance

ANALYTIC_LOSSES = ("logistic", "exponential", "square")


def _third_derivative(loss, u):
    """l'''(u) in closed form for the built-in smooth losses."""
    if loss.name == "logistic":
        l2 = loss.d2(u)
        return l2 * (1.0 - 2.0 / (1.0 + np.exp(-u)))       # sigma(1 - sigma)(1 - 2 sigma), sigma = 1 / (1 + e^-u)
    if loss.name == "exponential":
        return -np.exp(-u)
    return np.zeros_like(u)                                # square: l'' = 1


def _attack_terms(eps, attack, P):
    """(g, dg, A, A', A'') with g = eps A(P), dg = eps A'(P)."""
    ps = attack.dual_exponent
    if math.isinf(ps):
        A, A1, A2 = P, 1.0, 0.0
    else:
        e = 1.0 / ps
        A, A1, A2 = P ** e, e * P ** (e - 1.0), e * (e - 1.0) * P ** (e - 2.0)
    if eps <= 0:
        return 0.0, 0.0, A, A1, A2
    return eps * A, eps * A1, A, A1, A2


def channel_jacobian(m, q, V, P, *, alpha, loss, eps, attack, rho_x, tau, fast_paths=True):
    """(hats, C, d_eps, d_alpha) with C[i, j] = d hat_i / d x_j (x = (m, q, V, P)), or None without a closed form.

    ``hats`` is (m_hat, q_hat, V_hat, P_hat) as ``channel_hats`` computes them (same nodes); ``d_eps`` and
    ``d_alpha`` are the derivatives of the conjugates w.r.t. eps and alpha at fixed x.
    """
    if loss.name not in ANALYTIC_LOSSES:
        return None
    g, dg, A, A1, A2 = _attack_terms(eps, attack, P)
    rho_eff = rho_x + tau * tau
    if loss.name == "square" and fast_paths:
        return _square(m, q, V, g, dg, alpha, rho_eff, eps, A, A1, A2)
    V0 = teacher_variance(m, q, rho_x, tau)
    xi, wq = _xi_rule(m, q, V, g, V0, loss.kinks(V))
    gauss = wq * np.exp(-0.5 * xi * xi) * _INV_SQRT_2PI
    sq = math.sqrt(q)
    sV0 = math.sqrt(V0)
    gap = q * rho_eff - m * m
    k = m / math.sqrt(gap)
    dk_dm = q * rho_eff / gap ** 1.5
    dk_dq = -m * rho_eff / (2.0 * gap ** 1.5)
    dsV0_dm = -(m / q) / sV0
    dsV0_dq = (m * m / (q * q)) / (2.0 * sV0)
    dens0 = np.exp(-0.5 * (k * xi) ** 2) * (_INV_SQRT_2PI / sV0)
    ddens_dm = dens0 * (-k * xi * xi * dk_dm - dsV0_dm / sV0)
    ddens_dq = dens0 * (-k * xi * xi * dk_dq - dsV0_dq / sV0)
    # sums over y of the integrands and of their derivatives: index 0..3 = m_hat, q_hat, V_hat, S (P_hat / (alpha dg))
    val = np.zeros(4)
    d_m, d_q, d_V, d_g = (np.zeros(4) for _ in range(4))
    for y in (1.0, -1.0):
        shifted = y * sq * xi - g
        u, D = loss.prox(shifted, V)
        l1 = -loss.d1(u)
        l2 = loss.d2(u)
        l3 = _third_derivative(loss, u)
        kappa = l2 * D
        a = y * k * xi
        z0 = 0.5 * erfc(-a / _SQRT2)
        phi_a = np.exp(-0.5 * a * a) * _INV_SQRT_2PI
        dz_dm = phi_a * y * xi * dk_dm
        dz_dq = phi_a * y * xi * dk_dq
        du_dq = D * y * xi / (2.0 * sq)
        du_dV = l1 * D
        du_dg = -D
        dl1 = -l2                      # d l1 / du
        dkappa_du = l3 * D * D
        dkappa_dV = -l2 * l2 * D * D   # explicit V dependence of kappa
        val += [np.dot(gauss, dens0 * l1), np.dot(gauss, z0 * l1 * l1), np.dot(gauss, z0 * kappa),
                np.dot(gauss, z0 * l1)]
        d_m += [np.dot(gauss, ddens_dm * l1), np.dot(gauss, dz_dm * l1 * l1), np.dot(gauss, dz_dm * kappa),
                np.dot(gauss, dz_dm * l1)]
        d_q += [np.dot(gauss, ddens_dq * l1 + dens0 * dl1 * du_dq),
                np.dot(gauss, dz_dq * l1 * l1 + z0 * 2.0 * l1 * dl1 * du_dq),
                np.dot(gauss, dz_dq * kappa + z0 * dkappa_du * du_dq),
                np.dot(gauss, dz_dq * l1 + z0 * dl1 * du_dq)]
        d_V += [np.dot(gauss, dens0 * dl1 * du_dV), np.dot(gauss, z0 * 2.0 * l1 * dl1 * du_dV),
                np.dot(gauss, z0 * (dkappa_du * du_dV + dkappa_dV)), np.dot(gauss, z0 * dl1 * du_dV)]
        d_g += [np.dot(gauss, dens0 * dl1 * du_dg), np.dot(gauss, z0 * 2.0 * l1 * dl1 * du_dg),
                np.dot(gauss, z0 * dkappa_du * du_dg), np.dot(gauss, z0 * dl1 * du_dg)]
    # hats = alpha * (val[0], val[1], val[2], dg * val[3]); d/d(dg) only through P_hat
    hats = np.array([alpha * val[0], alpha * val[1], alpha * val[2], alpha * dg * val[3]])
    scale = np.array([alpha, alpha, alpha, alpha * dg])
    C = np.column_stack([scale * d_m, scale * d_q, scale * d_V, scale * d_g])   # the last column: d/dg for now
    d_ddg = np.array([0.0, 0.0, 0.0, alpha * val[3]])
    dhat_dg = C[:, 3].copy()
    gp, gpp = (eps * A1, eps * A2) if eps > 0 else (0.0, 0.0)
    C[:, 3] = dhat_dg * gp + d_ddg * gpp
    d_eps = dhat_dg * A + d_ddg * A1
    d_alpha = hats / alpha
    return hats, C, d_eps, d_alpha


def _square(m, q, V, g, dg, alpha, rho_eff, eps, A, A1, A2):
    """The closed form of ``closed_forms.square_channel_hats`` and its derivatives."""
    kap = math.sqrt(2.0 / (math.pi * rho_eff))
    adv = 1.0 + g
    w = 1.0 + V
    m_hat = alpha * adv * kap / w
    q_hat = alpha * (adv * adv - 2.0 * adv * m * kap + q) / (w * w)
    V_hat = alpha / w
    P_hat = alpha * dg * (adv - m * kap) / w
    hats = np.array([m_hat, q_hat, V_hat, P_hat])
    d_m = np.array([0.0, -2.0 * alpha * adv * kap / (w * w), 0.0, -alpha * dg * kap / w])
    d_q = np.array([0.0, alpha / (w * w), 0.0, 0.0])
    d_V = np.array([-m_hat / w, -2.0 * q_hat / w, -V_hat / w, -P_hat / w])
    d_g = np.array([alpha * kap / w, alpha * (2.0 * adv - 2.0 * m * kap) / (w * w), 0.0, alpha * dg / w])
    d_ddg = np.array([0.0, 0.0, 0.0, alpha * (adv - m * kap) / w])
    gp, gpp = (eps * A1, eps * A2) if eps > 0 else (0.0, 0.0)
    C = np.column_stack([d_m, d_q, d_V, d_g * gp + d_ddg * gpp])
    d_eps = d_g * A + d_ddg * A1
    return hats, C, d_eps, hats / alpha
