"""Benchmark: steepest descent (GD, sign, coordinate descent, l3) at n = 200, d = 1000 — numba kernel vs numpy loop.

In the same process: (1) wall time of ``steps`` normalized steps of each algorithm, numba kernel (compiled before
timing) vs the plain numpy loop ``simulate.steepest.reference_descent`` (same maths, BLAS matvecs); the same at a small
size (n = 20, d = 50) where per-step interpreter overhead dominates; and a batch of 8 problems through the ``prange``
kernel vs 8 sequential numpy runs. (2) Steps and seconds to a relative own-norm margin gap ``1 - gamma/gamma* <=
1e-3`` with loss-scaled steps ``eta_t = lr / L_t``, ``lr = 1 / max_i ||z_i||_*^2``, gamma* from
``asymptotics.max_margin``.

Usage: python benchmarks/bench_steepest.py [--steps 100000] [--numpy-steps 100000] [--quick] [--out PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

ALGORITHMS = {"GD (l2)": "l2", "sign (linf)": "linf", "CD (l1)": "l1", "l3": "l3"}
OWN = {"l2": "margin_l2", "linf": "margin_linf", "l1": "margin_l1", "l3": "margin_own"}


def data(n, d, seed=0, batch=None):
    rng = np.random.default_rng(seed)
    shape = (n, d) if batch is None else (batch, n, d)
    X = rng.standard_normal(shape)
    teacher = np.zeros(d)
    teacher[:10] = rng.standard_normal(10)
    return X, np.where(X @ teacher > 0, 1.0, -1.0)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--d", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--numpy-steps", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="1e4 steps, 1e4 numpy steps")
    ap.add_argument("--out", default="out/benchmarks/steepest.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps = args.numpy_steps = 10_000
    import asymptotics
    from simulate.steepest import reference_descent, steepest_descent

    X, y = data(args.n, args.d)
    rows, report = [], {"n": args.n, "d": args.d, "steps": args.steps, "numpy_steps": args.numpy_steps,
                        "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count()}
    print(f"n = {args.n}, d = {args.d}: {args.steps} numba steps, {args.numpy_steps} numpy steps (normalized, eta=1e-2)")
    print(f"{'algorithm':<12} {'numba s':>9} {'numpy s':>9} {'numba us/step':>14} {'numpy us/step':>14} {'ratio':>7}")
    for label, norm in ALGORITHMS.items():
        kw = dict(norm=norm, lr=1e-2, normalized=True, checkpoints=20)
        steepest_descent(X, y, steps=10, **kw)                           # compile / load the cache outside timing
        t_nb, _ = timed(lambda: steepest_descent(X, y, steps=args.steps, **kw))
        t_np, _ = timed(lambda: reference_descent(X, y, steps=args.numpy_steps, **kw))
        per_nb, per_np = t_nb / args.steps, t_np / args.numpy_steps
        rows.append(dict(algorithm=label, numba_s=t_nb, numpy_s=t_np, numba_us=1e6 * per_nb, numpy_us=1e6 * per_np,
                         ratio=per_np / per_nb))
        print(f"{label:<12} {t_nb:9.2f} {t_np:9.2f} {1e6 * per_nb:14.1f} {1e6 * per_np:14.1f} {per_np / per_nb:7.1f}")
    report["large"] = rows

    Xs, ys = data(20, 50, seed=1)
    small = []
    for label, norm in ALGORITHMS.items():
        kw = dict(norm=norm, lr=1e-2, normalized=True, checkpoints=20)
        steepest_descent(Xs, ys, steps=10, **kw)
        t_nb, _ = timed(lambda: steepest_descent(Xs, ys, steps=args.steps, **kw))
        t_np, _ = timed(lambda: reference_descent(Xs, ys, steps=args.numpy_steps // 10, **kw))
        small.append(dict(algorithm=label, numba_us=1e6 * t_nb / args.steps,
                          numpy_us=1e6 * t_np / (args.numpy_steps // 10),
                          ratio=(t_np / (args.numpy_steps // 10)) / (t_nb / args.steps)))
    report["small"] = small
    print("n = 20, d = 50 (overhead-bound): " + ", ".join(f"{r['algorithm']} {r['ratio']:.0f}x" for r in small))

    Xb, yb = data(args.n, args.d, seed=2, batch=8)
    batch_steps = max(args.steps // 20, 100)
    kw = dict(norm="linf", lr=1e-2, normalized=True, checkpoints=5)
    steepest_descent(Xb, yb, steps=10, **kw)
    t_b, _ = timed(lambda: steepest_descent(Xb, yb, steps=batch_steps, **kw))
    t_s, _ = timed(lambda: [reference_descent(Xb[b], yb[b], steps=batch_steps, **kw) for b in range(8)])
    report["batch"] = dict(problems=8, steps=batch_steps, numba_prange_s=t_b, numpy_sequential_s=t_s, ratio=t_s / t_b)
    print(f"batch of 8 sign-descent problems x {batch_steps} steps: prange {t_b:.2f} s, numpy loop {t_s:.2f} s "
          f"({t_s / t_b:.1f}x)")

    gaps = []
    print(f"\nloss-scaled steps to a 1e-3 relative own-norm margin gap (cap {args.steps} steps):")
    print(f"{'algorithm':<12} {'gamma*':>10} {'steps':>8} {'seconds':>8} {'final gap':>10}")
    for label, norm in ALGORITHMS.items():
        star = asymptotics.max_margin(X, y, norm=norm).margin
        dual = asymptotics.parse_norm(norm).dual_exponent
        lr = 1.0 / np.max(np.linalg.norm(X, ord=dual, axis=1)) ** 2
        t, run = timed(lambda: steepest_descent(X, y, norm=norm, steps=args.steps, lr=lr, schedule="loss_scaled",
                                                checkpoints=200))
        gap = 1.0 - run[OWN[norm]] / star
        hit = np.flatnonzero(gap <= 1e-3)
        step = int(run.steps[hit[0]]) if hit.size else None
        secs = t * step / args.steps if step else None
        gaps.append(dict(algorithm=label, gamma_star=star, steps=step, seconds=secs, final_gap=float(gap[-1])))
        print(f"{label:<12} {star:10.5f} {step if step else 'not hit':>8} "
              f"{(f'{secs:.2f}' if secs else '-'):>8} {gap[-1]:10.2e}")
    report["gap"] = gaps
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
