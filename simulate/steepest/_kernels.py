"""Numba kernels of steepest descent on linear models and depth-D diagonal networks (see ``docs/margins.md``).

One run is :func:`run_one`; :func:`run_batch` runs a batch of independent problems with ``prange``. The Python
wrappers in :mod:`simulate.steepest.dynamics` validate, allocate and document; nothing here checks its inputs.

Numerics (log space, so that 1e6+ steps neither underflow nor overflow)
----------------------------------------------------------------------
Parameters are stored as ``theta = e^kappa * phi``; for diagonal networks phi is renormalised (``kappa`` absorbs the
norm) whenever ``max|phi|`` leaves ``[1e-3, 1e3]``; linear models keep ``kappa = 0``. Margins are D-homogeneous,
``r_i(theta) = e^{D kappa} r_i(phi)``. The loss gradient is ``grad L = -e^{log_scale} e^{(D-1) kappa} J^T c`` with
``c = sum_i a_i (z_i - eps s)``, ``s`` in ``d||w||_{p*}``, and weights ``a_i`` normalised at the smallest margin:
exponential ``a_i = e^{-(r_i - r_min)}``, ``log_scale = -r_min``; logistic ``a_i = sigma(-r_i)/sigma(-r_min)``,
``log_scale = log sigma(-r_min)``. The loss itself is kept as ``log L`` (a log-sum-exp). A step
``theta += eta_t Delta(grad L)`` becomes ``phi += exp(log_mult) Delta(-J^T c)`` with
``log_mult = log eta_t + log_scale + (D - 2) kappa`` (unnormalised; Delta is 1-homogeneous) or
``log eta_t - kappa`` (normalised), and ``eta_t = lr`` (constant) or ``min(lr / L_t, max_lr)`` (loss-scaled).
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from .._kernels import matvec

STATS = ("log_loss", "margin_l1", "margin_l2", "margin_linf", "margin_own", "robust_margin_own",
         "smoothed_margin_own", "beta", "log_norm_own", "robust_margin_l1", "robust_margin_l2", "robust_margin_linf")
N_STATS = len(STATS)
RESCALE_HIGH = 1e3
RESCALE_LOW = 1e-3


@nb.njit(cache=True, error_model="numpy")
def pnorm(v, p):
    """||v||_p for p in [1, inf] (scaled by max|v| so large entries cannot overflow)."""
    big = 0.0
    for x in v:
        big = max(big, abs(x))
    if big == 0.0 or math.isinf(p):
        return big
    total = 0.0
    if p == 1.0:
        for x in v:
            total += abs(x)
        return total
    if p == 2.0:
        for x in v:
            total += (x / big) ** 2
        return big * math.sqrt(total)
    for x in v:
        total += (abs(x) / big) ** p
    return big * total ** (1.0 / p)


@nb.njit(cache=True, error_model="numpy")
def dual_exp(p):
    if math.isinf(p):
        return 1.0
    if p == 1.0:
        return math.inf
    return p / (p - 1.0)


@nb.njit(cache=True, error_model="numpy")
def steepest_step(v, p, normalized, out):
    """out = argmax_u <v, u> - 1/2||u||_p^2 (unnormalised), or argmax_{||u||_p <= 1} <v, u> (normalised).

    v is the negative gradient. l2: v (v/||v||_2); linf: ||v||_1 sign(v) (sign(v), sign(0) = 0); l1: v_j e_j at the
    first j maximising |v_j| (sign(v_j) e_j); lp: ||v||_r^{2-r} sign(v)|v|^{r-1} (divided by ||v||_r), 1/p + 1/r = 1.
    """
    n = v.size
    if p == 2.0:
        scale = 1.0
        if normalized:
            nv = pnorm(v, 2.0)
            scale = 1.0 / nv if nv > 0 else 0.0
        for j in range(n):
            out[j] = scale * v[j]
    elif math.isinf(p):
        scale = 1.0 if normalized else pnorm(v, 1.0)
        for j in range(n):
            out[j] = scale * (1.0 if v[j] > 0 else (-1.0 if v[j] < 0 else 0.0))
    elif p == 1.0:
        jbest = 0
        for j in range(n):
            out[j] = 0.0
            if abs(v[j]) > abs(v[jbest]):
                jbest = j
        x = v[jbest]
        out[jbest] = (1.0 if x > 0 else (-1.0 if x < 0 else 0.0)) if normalized else x
    else:
        r = dual_exp(p)
        gr = pnorm(v, r)
        if gr == 0.0:
            for j in range(n):
                out[j] = 0.0
            return
        scale = 1.0 if normalized else gr
        for j in range(n):
            x = v[j]
            mag = (abs(x) / gr) ** (r - 1.0)
            out[j] = scale * (mag if x > 0 else -mag)


@nb.njit(cache=True, error_model="numpy")
def norm_subgradient(w, ps, out):
    """One element of d||w||_{ps}: sign(w) (ps = 1, sign(0) = 0), w/||w||_2, sign(w_j) e_j (first argmax), lp."""
    n = w.size
    nw = pnorm(w, ps)
    if ps == 1.0:
        for j in range(n):
            out[j] = 1.0 if w[j] > 0 else (-1.0 if w[j] < 0 else 0.0)
    elif math.isinf(ps):
        jbest = 0
        for j in range(n):
            out[j] = 0.0
            if abs(w[j]) > abs(w[jbest]):
                jbest = j
        out[jbest] = 1.0 if w[jbest] > 0 else (-1.0 if w[jbest] < 0 else 0.0)
    else:
        for j in range(n):
            if nw == 0.0:
                out[j] = 0.0
            else:
                mag = (abs(w[j]) / nw) ** (ps - 1.0)
                out[j] = mag if w[j] > 0 else -mag


@nb.njit(cache=True, error_model="numpy")
def softplus(x):
    """log(1 + e^x), stable."""
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@nb.njit(cache=True, error_model="numpy")
def log_logistic_loss(r):
    """log(log(1 + e^{-r})), stable for large r (then ~ -r)."""
    if r > 35.0:
        return -r - 0.5 * math.exp(-r)
    return math.log(math.log1p(math.exp(-r)))


_FAST = {"reassoc", "contract", "nsz", "arcp"}   # SIMD reductions; no nnan/ninf: infinities stay meaningful


@nb.njit(cache=True, error_model="numpy", fastmath=_FAST)
def add_weighted_rows(Z, a, c):
    """c += Z^T a."""
    m, d = Z.shape
    for i in range(m):
        ai = a[i]
        if ai != 0.0:
            for j in range(d):
                c[j] += ai * Z[i, j]


@nb.njit(cache=True, error_model="numpy")
def predictor(phi, model, depth, w):
    """w(phi): phi itself (model 0, linear) or u^D - v^D with phi = [u, v] (model 1, diagonal network)."""
    d = w.size
    if model == 0:
        for j in range(d):
            w[j] = phi[j]
    else:
        for j in range(d):
            w[j] = phi[j] ** depth - phi[d + j] ** depth


@nb.njit(cache=True, error_model="numpy")
def run_one(Z, theta0, model, depth, p, ps, eps, lr, max_lr, normalized, loss_scaled, logistic, ckpt, stats, wout,
            decay=0.0):
    """Run one trajectory; fill ``stats[k]`` (see STATS) and ``wout[k]`` (unit-l2 predictor) at steps ``ckpt[k]``."""
    m, d = Z.shape
    P = theta0.size
    phi = theta0.copy()
    kappa = 0.0
    w = np.empty(d)
    q = np.empty(m)
    r = np.empty(m)
    a = np.empty(m)
    c = np.empty(d)
    s = np.zeros(d)
    v = np.empty(P)
    step = np.empty(P)
    K = ckpt.size
    T = ckpt[K - 1]
    k = 0
    pp = dual_exp(p)
    for t in range(T + 1):
        predictor(phi, model, depth, w)
        nrm_att = 0.0
        if eps > 0:
            nrm_att = pnorm(w, ps)
            norm_subgradient(w, ps, s)
        scale = math.exp(depth * kappa)
        rmin = math.inf
        qmin = math.inf
        matvec(Z, w, q)
        for i in range(m):
            qmin = min(qmin, q[i])
            r[i] = scale * (q[i] - eps * nrm_att)
            rmin = min(rmin, r[i])
        nphi = pnorm(phi, p)
        hom = nphi ** depth
        rob = qmin - eps * nrm_att
        if logistic and rmin < 35.0:
            sp_min = softplus(-rmin)
            log_scale = -sp_min
            big = -math.inf
            for i in range(m):
                a[i] = math.exp(sp_min - softplus(-r[i]))
                big = max(big, log_logistic_loss(r[i]))
            total = 0.0
            for i in range(m):
                total += math.exp(log_logistic_loss(r[i]) - big)
            log_loss = big + math.log(total)
            log_ratio = log_scale - log_loss
            if log_loss < -30.0:
                inv = -log_loss - 0.5 * math.exp(log_loss)
            else:
                inv = -math.log(math.expm1(math.exp(log_loss)))
            smooth = inv / (scale * hom)
        else:
            # exponential loss, or logistic with r_min >= 35 where l(r) = e^{-r}(1 + O(e^{-35})): weights from the
            # phi-margins, a_i = exp(-e^{D kappa}(q_i - q_min)), so an astronomically large scale gives 0 or 1
            total = 0.0
            for i in range(m):
                diff = q[i] - qmin
                a[i] = 1.0 if diff == 0.0 else math.exp(-scale * diff)
                total += a[i]
            log_s = math.log(total)
            log_scale = -rmin
            log_loss = -rmin + log_s
            log_ratio = -log_s
            smooth = rob / hom - log_s / (scale * hom)
        suma = 0.0
        for i in range(m):
            suma += a[i]
        for j in range(d):
            c[j] = -eps * suma * s[j]
        add_weighted_rows(Z, a, c)
        if eps > 0 and ps == 1.0:
            # zero coordinates: the minimum-norm element of the subdifferential of the l1 attack term, i.e. the
            # data pull soft-thresholded by eps * sum(a); sign(0) = 0 instead lets CD oscillate near eps*
            thr = eps * suma
            for j in range(d):
                if w[j] == 0.0:
                    g = c[j]
                    c[j] = (g - thr) if g > thr else ((g + thr) if g < -thr else 0.0)
        if model == 0:
            for j in range(d):
                v[j] = c[j]
        else:
            for j in range(d):
                v[j] = c[j] * depth * phi[j] ** (depth - 1)
                v[d + j] = -c[j] * depth * phi[d + j] ** (depth - 1)
        while k < K and ckpt[k] == t:
            nw2 = pnorm(w, 2.0)
            stats[k, 0] = log_loss
            stats[k, 1] = qmin / pnorm(w, 1.0)
            stats[k, 2] = qmin / nw2
            stats[k, 3] = qmin / pnorm(w, math.inf)
            stats[k, 4] = qmin / hom
            stats[k, 5] = rob / hom
            stats[k, 6] = smooth
            dot = 0.0
            for j in range(P):
                dot += phi[j] * v[j]
            stats[k, 7] = dot / (nphi * pnorm(v, pp))
            stats[k, 8] = kappa + math.log(nphi)
            stats[k, 9] = rob / pnorm(w, 1.0)
            stats[k, 10] = rob / nw2
            stats[k, 11] = rob / pnorm(w, math.inf)
            for j in range(d):
                wout[k, j] = w[j] / nw2
            k += 1
        if t == T:
            break
        steepest_step(v, p, normalized, step)
        log_lr = math.log(lr) - decay * math.log(1.0 + t)
        if normalized:
            if loss_scaled:
                log_lr = min(log_lr - log_loss, math.log(max_lr))
            log_mult = log_lr - kappa
        elif loss_scaled and (math.isinf(max_lr) or log_lr - log_loss < math.log(max_lr)):
            # eta_t e^{log_scale} = lr e^{log_scale - log L}: use the finite ratio (both terms may be infinite)
            log_mult = log_lr + log_ratio + (depth - 2.0) * kappa
        else:
            if loss_scaled:
                log_lr = math.log(max_lr)
            log_mult = log_lr + log_scale + (depth - 2.0) * kappa
        mult = math.exp(log_mult)
        big = 0.0
        for j in range(P):
            phi[j] += mult * step[j]
            big = max(big, abs(phi[j]))
        if model == 1 and big > 0 and (big > RESCALE_HIGH or big < RESCALE_LOW):
            for j in range(P):
                phi[j] /= big
            kappa += math.log(big)


@nb.njit(cache=True, parallel=True, error_model="numpy")
def run_batch(Z, theta0, model, depth, p, ps, eps, lr, max_lr, normalized, loss_scaled, logistic, ckpt, stats, wout,
              decay=0.0):
    """``run_one`` over the leading axis of Z (B, m, d), theta0 (B, P), lr (B,), stats (B, K, S), wout (B, K, d)."""
    for b in nb.prange(Z.shape[0]):
        run_one(Z[b], theta0[b], model, depth, p, ps, eps, lr[b], max_lr, normalized, loss_scaled, logistic, ckpt,
                stats[b], wout[b], decay)
