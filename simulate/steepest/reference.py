"""Plain numpy twin of the numba kernels (same maths, one problem, no batching): the oracle for tests and the
baseline of ``benchmarks/bench_steepest.py``. Written for clarity, one vectorised numpy expression per formula."""
from __future__ import annotations

import math

import numpy as np

from asymptotics import parse_attack
from asymptotics.margins import parse_norm

from ._kernels import RESCALE_HIGH, RESCALE_LOW, STATS
from .dynamics import SteepestRun, _prepare, checkpoint_steps


def _lp(v, p):
    return float(np.linalg.norm(v, ord=p))


def _dual(p):
    return 1.0 if math.isinf(p) else (math.inf if p == 1.0 else p / (p - 1.0))


def _step(v, p, normalized):
    if p == 2.0:
        return v / np.linalg.norm(v) if normalized else v.copy()
    if math.isinf(p):
        return np.sign(v) * (1.0 if normalized else np.abs(v).sum())
    if p == 1.0:
        out = np.zeros_like(v)
        j = int(np.argmax(np.abs(v)))
        out[j] = np.sign(v[j]) if normalized else v[j]
        return out
    r = _dual(p)
    gr = np.linalg.norm(v, ord=r)
    return np.sign(v) * (np.abs(v) / gr) ** (r - 1.0) * (1.0 if normalized else gr)


def _subgrad(w, ps):
    if ps == 1.0:
        return np.sign(w)
    if math.isinf(ps):
        out = np.zeros_like(w)
        j = int(np.argmax(np.abs(w)))
        out[j] = np.sign(w[j])
        return out
    n = np.linalg.norm(w, ord=ps)
    return np.zeros_like(w) if n == 0 else np.sign(w) * (np.abs(w) / n) ** (ps - 1.0)


def _softplus(x):
    return np.logaddexp(0.0, x)


def reference_descent(X, y, norm="l2", steps=1000, lr=0.1, normalized=False, schedule="constant", loss="exp",
                      eps=0.0, attack="linf", model="linear", depth=1, init_scale=1e-2, w0=None, checkpoints=60,
                      max_lr=math.inf, decay=0.0) -> SteepestRun:
    """The algorithm of :func:`simulate.steepest.steepest_descent` / ``diagonal_descent`` as a plain numpy loop."""
    Z = _prepare(X, y)[0][0]
    m, d = Z.shape
    p = parse_norm(norm).p
    ps = parse_attack(attack).dual_exponent
    diag = model == "diagonal"
    if diag:
        phi = np.full(2 * d, init_scale / math.sqrt(2 * d))
    else:
        depth = 1
        phi = np.zeros(d) if w0 is None else np.asarray(w0, dtype=np.float64).copy()
    kappa = 0.0
    ckpt = checkpoint_steps(steps, checkpoints)
    stats = np.full((ckpt.size, len(STATS)), np.nan)
    wout = np.full((ckpt.size, d), np.nan)
    k = 0
    with np.errstate(all="ignore"):
        for t in range(int(ckpt[-1]) + 1):
            w = phi[:d] ** depth - phi[d:] ** depth if diag else phi.copy()
            natt = _lp(w, ps) if eps > 0 else 0.0
            s = _subgrad(w, ps) if eps > 0 else np.zeros(d)
            scale = np.exp(np.float64(depth * kappa))
            q = Z @ w
            r = scale * (q - eps * natt)
            rmin = r.min()
            nphi = np.float64(_lp(phi, p))
            hom = nphi ** depth
            rob = q.min() - eps * natt
            if loss == "logistic" and rmin < 35.0:
                a = np.exp(_softplus(-rmin) - _softplus(-r))
                log_scale = -_softplus(-rmin)
                ll = np.where(r > 35.0, -r - 0.5 * np.exp(-r), np.log(np.log1p(np.exp(-r))))
                log_loss = ll.max() + math.log(np.exp(ll - ll.max()).sum())
                log_ratio = log_scale - log_loss
                if log_loss < -30:
                    inv = -log_loss - 0.5 * math.exp(log_loss)
                else:
                    inv = -math.log(math.expm1(math.exp(log_loss)))
                smooth = inv / (scale * hom)
            else:
                diff = q - q.min()
                a = np.where(diff == 0.0, 1.0, np.exp(-scale * diff))
                log_s = math.log(a.sum())
                log_scale, log_loss, log_ratio = -rmin, -rmin + log_s, -log_s
                smooth = rob / hom - log_s / (scale * hom)
            c = Z.T @ a - eps * a.sum() * s
            if eps > 0 and ps == 1.0:                 # minimum-norm subgradient at zero coordinates
                zero = w == 0.0
                c[zero] = np.sign(c[zero]) * np.maximum(np.abs(c[zero]) - eps * a.sum(), 0.0)
            v = np.r_[c * depth * phi[:d] ** (depth - 1), -c * depth * phi[d:] ** (depth - 1)] if diag else c
            while k < ckpt.size and ckpt[k] == t:
                n1, n2, ni = (np.float64(_lp(w, o)) for o in (1, 2, math.inf))
                stats[k] = [log_loss, q.min() / n1, q.min() / n2, q.min() / ni, q.min() / hom, rob / hom,
                            smooth, phi @ v / (nphi * _lp(v, _dual(p))), kappa + np.log(nphi),
                            rob / n1, rob / n2, rob / ni]
                wout[k] = w / n2
                k += 1
            if t == ckpt[-1]:
                break
            log_lr = math.log(lr) - decay * math.log(1.0 + t)
            scaled = schedule == "loss_scaled"
            if normalized:
                log_mult = (min(log_lr - log_loss, math.log(max_lr)) if scaled else log_lr) - kappa
            elif scaled and (math.isinf(max_lr) or log_lr - log_loss < math.log(max_lr)):
                log_mult = log_lr + log_ratio + (depth - 2.0) * kappa
            else:
                log_mult = (math.log(max_lr) if scaled else log_lr) + log_scale + (depth - 2.0) * kappa
            phi = phi + np.exp(np.float64(log_mult)) * _step(v, p, normalized)
            big = np.abs(phi).max()
            if diag and big > 0 and (big > RESCALE_HIGH or big < RESCALE_LOW):
                phi = phi / big
                kappa += math.log(big)
    return SteepestRun(steps=ckpt, stats={n: stats[:, i] for i, n in enumerate(STATS)}, w=wout,
                       params=dict(model=model, depth=depth, norm=norm, steps=int(ckpt[-1]), lr=lr,
                                   normalized=normalized, schedule=schedule, loss=loss, eps=eps, attack=attack))
