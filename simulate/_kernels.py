"""Numba kernels of the finite-d robust objective: small, pure, typed by their arguments (``cache=True``).

The wrappers in :mod:`simulate.objective` validate, allocate and document; the tests check every kernel against
the :mod:`asymptotics` objects (``Loss.value``/``Loss.d1``) and against plain numpy.

The kernels are serial on purpose: one pass over a row-major matrix is memory-bound, one core streams it at
close to the bandwidth bound (``benchmarks/bench_erm.py``), and threaded BLAS/numba loops slowed down a hundredfold
on the shared 2-core CI machine when oversubscribed. Seeds are parallelised one level up instead. Summation order
is fixed, so results are bitwise reproducible.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

FM = {"reassoc", "contract"}   # allow vectorised dot products; no nnan/ninf assumptions

# loss codes (the registry names of asymptotics.LOSSES)
LOGISTIC, EXPONENTIAL, SQUARE, HINGE = 0, 1, 2, 3
LOSS_CODES = {"logistic": LOGISTIC, "exponential": EXPONENTIAL, "square": SQUARE, "hinge": HINGE}


@njit(cache=True, inline="always")
def _loss(code, u):
    if code == LOGISTIC:
        return math.log1p(math.exp(-u)) if u > 0 else -u + math.log1p(math.exp(u))
    if code == EXPONENTIAL:
        return math.exp(-u)
    if code == SQUARE:
        return 0.5 * (1.0 - u) * (1.0 - u)
    return 1.0 - u if u < 1.0 else 0.0


@njit(cache=True, inline="always")
def _dloss(code, u):
    if code == LOGISTIC:
        if u >= 0:
            e = math.exp(-u)
            return -e / (1.0 + e)
        return -1.0 / (1.0 + math.exp(u))
    if code == EXPONENTIAL:
        return -math.exp(-u)
    if code == SQUARE:
        return u - 1.0
    return -1.0 if u < 1.0 else 0.0


@njit(cache=True)
def loss_values(code, u):
    """l(u) elementwise."""
    out = np.empty_like(u)
    for i in range(u.size):
        out[i] = _loss(code, u[i])
    return out


@njit(cache=True)
def loss_derivatives(code, u):
    """l'(u) elementwise (a subgradient at the hinge's kink: -1 for u < 1, else 0)."""
    out = np.empty_like(u)
    for i in range(u.size):
        out[i] = _dloss(code, u[i])
    return out


@njit(cache=True)
def loss_sum(code, u):
    """sum_i l(u_i) and sum_i l'(u_i)."""
    v = 0.0
    s = 0.0
    for i in range(u.size):
        v += _loss(code, u[i])
        s += _dloss(code, u[i])
    return v, s


@njit(cache=True, fastmath=FM)
def matvec(Z, w, out):
    """out = Z w (one pass over Z)."""
    n, d = Z.shape
    for i in range(n):
        acc = 0.0
        for j in range(d):
            acc += Z[i, j] * w[j]
        out[i] = acc


@njit(cache=True, fastmath=FM)
def rmatvec(Z, v, out):
    """out = Z^T v (one pass over Z, row by row)."""
    n, d = Z.shape
    for j in range(d):
        out[j] = 0.0
    for i in range(n):
        vi = v[i]
        if vi != 0.0:
            for j in range(d):
                out[j] += vi * Z[i, j]


@njit(cache=True, fastmath=FM)
def data_value_grad(Z, w, shift, code, grad, margins):
    """Fused single pass over Z: u_i = Z_i.w - shift, returns (sum_i l(u_i), sum_i l'(u_i)),
    fills grad = sum_i l'(u_i) Z_i and margins = u. Each row is read once from memory and reused from cache."""
    n, d = Z.shape
    for j in range(d):
        grad[j] = 0.0
    v = 0.0
    s = 0.0
    for i in range(n):
        acc = 0.0
        for j in range(d):
            acc += Z[i, j] * w[j]
        u = acc - shift
        margins[i] = u
        v += _loss(code, u)
        g = _dloss(code, u)
        s += g
        if g != 0.0:
            for j in range(d):
                grad[j] += g * Z[i, j]
    return v, s


# ---------------------------------------------------------------- proximal maps ---------------------------------
@njit(cache=True)
def soft_threshold(v, thr, out):
    """out = sign(v) max(|v| - thr, 0): the prox of thr ||.||_1."""
    for j in range(v.size):
        a = abs(v[j]) - thr
        out[j] = math.copysign(a, v[j]) if a > 0 else 0.0


@njit(cache=True)
def prox_l1_epigraph(v, s0, c, kappa, d_norm, w_out):
    """Prox of h(w, s) = c ||w||_1 + indicator{ ||w||_1 / d_norm <= kappa s } at (v, s0) with unit step.

    KKT: w = soft(v, c + mu/d_norm), s = s0 + kappa mu, mu >= 0 with equality in the constraint when mu > 0.
    mu is bracketed by bisection (the constraint gap is decreasing in mu), then solved exactly on the active set
    S = {|v_j| > c + mu/d_norm}: mu (kappa^2 + |S|/d_norm^2) = (sum_S |v_j| - |S| c)/d_norm - kappa s0.
    Returns s.
    """
    d = v.size
    total = 0.0
    for j in range(d):
        a = abs(v[j]) - c
        if a > 0:
            total += a
    if total / d_norm <= kappa * s0:
        soft_threshold(v, c, w_out)
        return s0
    lo = 0.0
    hi = 1.0
    for _ in range(2000):      # grow until the gap is negative
        g = 0.0
        thr = c + hi / d_norm
        for j in range(d):
            a = abs(v[j]) - thr
            if a > 0:
                g += a
        if g / d_norm - kappa * (s0 + kappa * hi) < 0:
            break
        lo = hi
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        g = 0.0
        thr = c + mid / d_norm
        for j in range(d):
            a = abs(v[j]) - thr
            if a > 0:
                g += a
        if g / d_norm - kappa * (s0 + kappa * mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    mid = 0.5 * (lo + hi)
    thr = c + mid / d_norm
    count = 0
    ssum = 0.0
    for j in range(d):
        if abs(v[j]) > thr:
            count += 1
            ssum += abs(v[j])
    mu = ((ssum - count * c) / d_norm - kappa * s0) / (kappa * kappa + count / (d_norm * d_norm))
    # the exact formula holds if the active set is unchanged at mu; otherwise keep the bisection midpoint
    thr_exact = c + mu / d_norm
    ok = mu >= 0
    if ok:
        for j in range(d):
            a = abs(v[j])
            if (a > thr) != (a > thr_exact):
                ok = False
                break
    if not ok:
        mu = mid
    soft_threshold(v, c + mu / d_norm, w_out)
    return s0 + kappa * mu


@njit(cache=True)
def prox_linf_epigraph(v, s0, c, kappa, w_out):
    """Prox of h(w, s) = c ||w||_1 + indicator{ ||w||_inf <= kappa s } at (v, s0) with unit step.

    With u = soft(v, c): w = clip(u, -kappa s, kappa s) and s solves the increasing equation
    phi(s) = s - s0 - kappa sum_j (|u_j| - kappa s)_+ = 0 on s >= 0 (s = 0 when phi(0) >= 0). Bisection brackets
    the active set S = {|u_j| > kappa s}, then s = (s0 + kappa sum_S |u_j|) / (1 + |S| kappa^2). Returns s.
    """
    d = v.size
    soft_threshold(v, c, w_out)
    umax = 0.0
    for j in range(d):
        umax = max(umax, abs(w_out[j]))
    if kappa * s0 >= umax:
        return s0
    total = 0.0
    for j in range(d):
        total += abs(w_out[j])
    if -s0 - kappa * total >= 0.0:   # phi(0) >= 0: the projection is the apex
        for j in range(d):
            w_out[j] = 0.0
        return 0.0
    lo = 0.0
    hi = umax / kappa
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        t = kappa * mid
        g = 0.0
        for j in range(d):
            a = abs(w_out[j]) - t
            if a > 0:
                g += a
        if mid - s0 - kappa * g < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    mid = 0.5 * (lo + hi)
    t = kappa * mid
    count = 0
    ssum = 0.0
    for j in range(d):
        if abs(w_out[j]) > t:
            count += 1
            ssum += abs(w_out[j])
    s = (s0 + kappa * ssum) / (1.0 + count * kappa * kappa)
    ok = s >= 0
    if ok:
        for j in range(d):
            a = abs(w_out[j])
            if (a > t) != (a > kappa * s):
                ok = False
                break
    if not ok:
        s = mid
    t = kappa * s
    for j in range(d):
        if w_out[j] > t:
            w_out[j] = t
        elif w_out[j] < -t:
            w_out[j] = -t
    return s
