"""Closed forms used as fast paths (derived in docs/derivations.md; the sympy derivations are in symbolic.py).

Soft thresholding  w~(G) = sign(G) (|G| - tau)_+ / c  with G ~ N(0, sigma^2), t = tau / sigma:

    E[G w~]  = (2 sigma^2 / c) Phibar(t)                      (so V = E[dw~/dG] = 2 Phibar(t) / c)
    E[w~^2]  = (2 / c^2) [ (sigma^2 + tau^2) Phibar(t) - tau sigma phi(t) ]
    E|w~|    = (2 / c)   [ sigma phi(t) - tau Phibar(t) ]

tau = 0 gives the ridge/quadratic case E[G w~] = sigma^2/c, E[w~^2] = sigma^2/c^2.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def soft_threshold_moments(sigma, tau, c):
    sigma = np.asarray(sigma, dtype=np.float64)
    tau = np.asarray(tau, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    s = np.maximum(sigma, 1e-300)
    t = tau / s
    tail = ndtr(-t)
    dens = np.exp(-0.5 * t * t) * _INV_SQRT_2PI
    G_w = 2.0 * s * s * tail / c
    w2 = 2.0 / (c * c) * ((s * s + tau * tau) * tail - tau * s * dens)
    w1 = 2.0 / c * (s * dens - tau * tail)
    return G_w, np.maximum(w2, 0.0), np.maximum(w1, 0.0)


def square_channel_hats(m, q, V, g, dg, alpha, rho_eff):
    """Channel conjugates for the margin-shifted square loss (1 - u)^2/2 in closed form.

    With kappa = sqrt(2 / (pi rho')), E[y omega] = m kappa and f_out = (y (1 + g) - omega) / (1 + V):

        m_hat = alpha (1 + g) kappa / (1 + V)
        q_hat = alpha [ (1 + g)^2 - 2 (1 + g) m kappa + q ] / (1 + V)^2
        V_hat = alpha / (1 + V)
        P_hat = alpha g' (1 + g - m kappa) / (1 + V)
    """
    kappa = math.sqrt(2.0 / (math.pi * rho_eff))
    adv = 1.0 + g
    m_hat = alpha * adv * kappa / (1.0 + V)
    q_hat = alpha * (adv * adv - 2.0 * adv * m * kappa + q) / (1.0 + V) ** 2
    V_hat = alpha / (1.0 + V)
    P_hat = alpha * dg * (adv - m * kappa) / (1.0 + V)
    return m_hat, q_hat, V_hat, P_hat


def square_train_loss(m, q, V, g, rho_eff):
    """Mean training loss E[(1 - u*)^2 / 2] = [ (1 + g)^2 - 2 (1 + g) m kappa + q ] / (2 (1 + V)^2)."""
    kappa = math.sqrt(2.0 / (math.pi * rho_eff))
    adv = 1.0 + g
    return (adv * adv - 2.0 * adv * m * kappa + q) / (2.0 * (1.0 + V) ** 2)
