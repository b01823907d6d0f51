"""Numba kernels: small, pure, typed by their arguments. Wrappers in losses.py / priors.py validate and document.

All kernels solve a scalar monotone equation per element with Newton steps safeguarded by bisection.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

_MAX_NEWTON = 200


@njit(cache=True, inline="always")
def _expit(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(cache=True)
def logistic_prox(w, V):
    """u* = argmin_u (u - w)^2/(2V) + log(1 + e^{-u}); elementwise over w. Solves u - w - V*expit(-u) = 0."""
    out = np.empty_like(w)
    for i in range(w.size):
        wi = w[i]
        lo = wi
        hi = wi + V
        u = wi + V * _expit(-wi)  # one fixed-point step: a good start
        if u < lo or u > hi:
            u = 0.5 * (lo + hi)
        h_prev = math.inf
        for _ in range(_MAX_NEWTON):
            s = _expit(-u)
            h = u - wi - V * s
            if h > 0:
                hi = u
            else:
                lo = u
            dh = 1.0 + V * s * (1.0 - s)
            un = u - h / dh
            # bisect when Newton leaves the bracket or stalls (|h| not halved): Newton can cycle here
            if un <= lo or un >= hi or abs(h) > 0.5 * h_prev:
                un = 0.5 * (lo + hi)
            h_prev = abs(h)
            if abs(un - u) <= 1e-15 * (1.0 + abs(u)) or hi - lo <= 1e-15 * (1.0 + abs(u)):
                u = un
                break
            u = un
        out[i] = u
    return out


@njit(cache=True)
def exponential_prox(w, V):
    """u* = argmin_u (u - w)^2/(2V) + exp(-u); solves s e^s = V e^{-w} for s = u - w >= 0 (Lambert W)."""
    out = np.empty_like(w)
    logV = math.log(V)
    for i in range(w.size):
        L = logV - w[i]                     # log of the Lambert argument
        lo = 0.0
        hi = max(L, 1.0) if L > 1.0 else math.exp(L)
        if hi < 1e-300:
            out[i] = w[i]
            continue
        s = min(hi, max(lo, L - math.log(max(L, 1.0)) if L > 1.0 else math.exp(L)))
        g_prev = math.inf
        for _ in range(_MAX_NEWTON):
            # g(s) = s + log(s) - L  (monotone, concave) for s > 0
            g = s + math.log(s) - L
            if g > 0:
                hi = s
            else:
                lo = s
            sn = s - g / (1.0 + 1.0 / s)
            if sn <= lo or sn >= hi or abs(g) > 0.5 * g_prev:
                sn = 0.5 * (lo + hi)
            g_prev = abs(g)
            if abs(sn - s) <= 1e-15 * (1.0 + s):
                s = sn
                break
            s = sn
        out[i] = w[i] + s
    return out


@njit(cache=True)
def power_prox(y, c, k1, e1, k2, e2):
    """Solve c*x + k1*e1*x^(e1-1) + k2*e2*x^(e2-1) = y for x >= 0, elementwise (y >= 0, c >= 0).

    This is the stationarity condition of min_x (c/2) x^2 - y x + k1 x^e1 + k2 x^e2 on x > 0 with exponents
    e1, e2 > 1 (terms with exponent 1 are absorbed in a threshold by the caller, exponent 2 in c).
    Arrays y, c, k1, k2 have the same length; e1, e2 are scalars.
    """
    out = np.empty_like(y)
    for i in range(y.size):
        yi = y[i]
        if yi <= 0.0:
            out[i] = 0.0
            continue
        ci = c[i]
        a1 = k1[i] * e1
        a2 = k2[i] * e2
        lo = 0.0
        # c = 0 happens when the channel's V_hat underflows (a hinge loss far from its kink): the power terms
        # alone bound the root; with none of them the scalar problem is unbounded (inf, caught by the caller)
        hi = yi / ci if ci > 0.0 else math.inf
        # the root is below every single-term solution: tighten hi with each power term
        if a1 > 0.0:
            hi = min(hi, (yi / a1) ** (1.0 / (e1 - 1.0)))
        if a2 > 0.0:
            hi = min(hi, (yi / a2) ** (1.0 / (e2 - 1.0)))
        if math.isinf(hi):
            out[i] = math.inf
            continue
        x = 0.5 * hi
        h_prev = math.inf
        for _ in range(_MAX_NEWTON):
            h = ci * x - yi
            dh = ci
            if a1 > 0.0:
                h += a1 * x ** (e1 - 1.0)
                dh += a1 * (e1 - 1.0) * x ** (e1 - 2.0)
            if a2 > 0.0:
                h += a2 * x ** (e2 - 1.0)
                dh += a2 * (e2 - 1.0) * x ** (e2 - 2.0)
            if h > 0:
                hi = x
            else:
                lo = x
            xn = x - h / dh
            if not (xn > lo and xn < hi) or abs(h) > 0.5 * h_prev:
                xn = 0.5 * (lo + hi)
            h_prev = abs(h)
            if abs(xn - x) <= 1e-15 * x or hi - lo <= 1e-16 * hi:
                x = xn
                break
            x = xn
        out[i] = x
    return out
