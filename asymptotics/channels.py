"""Channel ("loss") side of the fixed point: (m, q, V, P) -> (m_hat, q_hat, V_hat, P_hat).

With xi ~ N(0, 1), omega = sqrt(q) xi, the shifted field w' = y omega - g (g = eps * A(P) the attack term) and
``u* = prox_{V l}(w')`` (see ``losses.py``):

    f_out        = y (u* - w') / V                     ( = -y l'(u*) )
    d_omega f    = (du*/dw' - 1) / V
    Z0(y, xi)    = 1/2 erfc(-y omega0 / sqrt(2 V0)),   omega0 = m xi / sqrt(q),  V0 = rho_x - m^2/q + tau^2
    m_hat        = alpha sum_y E_xi[ dZ0/d omega0 * f_out ]
    q_hat        = alpha sum_y E_xi[ Z0 f_out^2 ]
    V_hat        = -alpha sum_y E_xi[ Z0 d_omega f ]
    P_hat        = alpha g'(P) sum_y E_xi[ Z0 (-l'(u*)) ]

(derivation and conventions: docs/derivations.md). The xi integral is a composite Gauss-Legendre rule on
[-L, L] split at 0 (where Z0 steepens as m^2/q -> rho_x), at the width of that step and at the loss kinks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erfc

from .closed_forms import square_channel_hats
from .quadrature import composite

XI_MAX = 12.0          # Gaussian tail beyond 12 sigma is < 1e-32
NODES_PER_PANEL = 24
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class ChannelHats:
    m_hat: float
    q_hat: float
    V_hat: float
    P_hat: float


def teacher_variance(m, q, rho_x, tau):
    """V0 = rho_x - m^2/q + tau^2: the teacher field's conditional variance (plus label noise)."""
    return rho_x - m * m / q + tau * tau


def _xi_rule(m, q, V, g, V0, kinks):
    breaks = [-XI_MAX, 0.0, XI_MAX]
    if m != 0.0:
        width = math.sqrt(V0) * math.sqrt(q) / abs(m)   # xi-scale on which Z0 goes from 0 to 1
        for k in (0.3, 1.0, 3.0):
            if k * width < XI_MAX:
                breaks += [k * width, -k * width]
    sq = math.sqrt(q)
    for kink in kinks:
        x = (kink + g) / sq
        if abs(x) < XI_MAX:
            breaks += [x, -x]
    return composite(breaks, NODES_PER_PANEL)


def _slope_and_curvature(loss, u, du, shifted, V):
    """-l'(u*) and -d_omega f_out = l''/(1 + V l''). Smooth losses use the derivatives at u* (no cancellation in
    (u* - w')/V when V is tiny); piecewise-linear ones need the subgradient (u* - w')/V picked by the prox."""
    if loss.smooth:
        l2 = loss.d2(u)
        return -loss.d1(u), l2 / (1.0 + V * l2)
    return (u - shifted) / V, (1.0 - du) / V


def channel_hats(m, q, V, P, *, alpha, loss, eps, attack, rho_x, tau, fast_paths=True) -> ChannelHats:
    g = eps * attack.term(P) if eps > 0 else 0.0
    dg = eps * attack.term_derivative(P) if eps > 0 else 0.0
    if fast_paths and loss.name == "square":
        return ChannelHats(*square_channel_hats(m, q, V, g, dg, alpha, rho_x + tau * tau))
    V0 = teacher_variance(m, q, rho_x, tau)
    xi, wq = _xi_rule(m, q, V, g, V0, loss.kinks(V))
    gauss = wq * np.exp(-0.5 * xi * xi) * _INV_SQRT_2PI
    omega = math.sqrt(q) * xi
    omega0 = (m / math.sqrt(q)) * xi
    sV0 = math.sqrt(V0)
    dens0 = np.exp(-0.5 * (omega0 / sV0) ** 2) * (_INV_SQRT_2PI / sV0)
    m_hat = q_hat = V_hat = P_hat = 0.0
    for y in (1.0, -1.0):
        shifted = y * omega - g
        u, du = loss.prox(shifted, V)
        z0 = 0.5 * erfc(-y * omega0 / (_SQRT2 * sV0))
        minus_dl, curvature = _slope_and_curvature(loss, u, du, shifted, V)
        f_out = y * minus_dl
        m_hat += np.dot(gauss * y * dens0, f_out)
        q_hat += np.dot(gauss * z0, f_out * f_out)
        V_hat += np.dot(gauss * z0, curvature)
        P_hat += np.dot(gauss * z0, minus_dl)
    return ChannelHats(alpha * m_hat, alpha * q_hat, alpha * V_hat, alpha * dg * P_hat)


def channel_average(fn, m, q, V, P, *, loss, eps, attack, rho_x, tau) -> float:
    """sum_y E_xi[Z0(y, xi) fn(u*)], e.g. the training loss with fn = loss.value."""
    g = eps * attack.term(P) if eps > 0 else 0.0
    V0 = teacher_variance(m, q, rho_x, tau)
    xi, wq = _xi_rule(m, q, V, g, V0, loss.kinks(V))
    gauss = wq * np.exp(-0.5 * xi * xi) * _INV_SQRT_2PI
    omega = math.sqrt(q) * xi
    omega0 = (m / math.sqrt(q)) * xi
    total = 0.0
    for y in (1.0, -1.0):
        u, _ = loss.prox(y * omega - g, V)
        z0 = 0.5 * erfc(-y * omega0 / (_SQRT2 * math.sqrt(V0)))
        total += np.dot(gauss * z0, fn(u))
    return float(total)
