"""Benchmark of the price-of-implicit-bias sweep (issue 5): the full quick sweep (5 values of m x 3 seeds x
3 algorithms x 3 eps at d = 256), and the numba dynamics against the plain numpy loop of the same algorithm in the
same run (one GD, one CD and one diagonal-net run at m = 128).

    python benchmarks/bench_price_of_bias.py [--steps 15000] [--out out/benchmarks/price_of_bias.json]
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from simulate import streams
from simulate.implicit_bias import _inputs, _teacher, price_of_implicit_bias
from simulate.steepest import diagonal_descent, reference_descent, steepest_descent


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15_000)
    parser.add_argument("--reference-steps", type=int, default=2_000, help="steps timed for the numpy loop")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="out/benchmarks/price_of_bias.json")
    args = parser.parse_args(argv)
    report = {}
    w_star = _teacher("sparse", 256, 16, streams.generator(0, "teacher", streams.DEFAULT_BASE))
    X, y = _inputs("dense", w_star, 128, 4, streams.generator(1, "train", streams.DEFAULT_BASE))
    eps = 0.05
    runs = {
        "gd": (lambda n: steepest_descent(X, y, norm="l2", steps=n, lr=1e-3, schedule="loss_scaled", eps=eps,
                                          checkpoints=[n], max_lr=1e5),
               lambda n: reference_descent(X, y, norm="l2", steps=n, lr=1e-3, schedule="loss_scaled", eps=eps,
                                           checkpoints=4, max_lr=1e5)),
        "cd": (lambda n: steepest_descent(X, y, norm="l1", steps=n, lr=1e-2, schedule="loss_scaled", eps=eps,
                                          checkpoints=[n], max_lr=1e5),
               lambda n: reference_descent(X, y, norm="l1", steps=n, lr=1e-2, schedule="loss_scaled", eps=eps,
                                           checkpoints=4, max_lr=1e5)),
        "diag": (lambda n: diagonal_descent(X, y, norm="l2", depth=2, init_scale=1e-3, steps=n, lr=0.05,
                                            normalized=True, eps=eps, checkpoints=[n]),
                 lambda n: reference_descent(X, y, norm="l2", steps=n, lr=0.05, normalized=True, eps=eps,
                                             model="diagonal", depth=2, init_scale=1e-3, checkpoints=4)),
    }
    print(f"{'algorithm':<10} {'numba us/step':>14} {'numpy us/step':>14} {'ratio':>8}")
    for name, (fast, slow) in runs.items():
        fast(10)                                                 # compile
        _, t_fast = timed(lambda: fast(args.steps))
        _, t_slow = timed(lambda: slow(args.reference_steps))
        per_fast, per_slow = t_fast / args.steps * 1e6, t_slow / args.reference_steps * 1e6
        report[name] = {"numba_us_per_step": per_fast, "numpy_us_per_step": per_slow, "ratio": per_slow / per_fast}
        print(f"{name:<10} {per_fast:14.2f} {per_slow:14.2f} {per_slow / per_fast:8.1f}")
    res, secs = timed(lambda: price_of_implicit_bias("sparse_teacher_dense_data", d=256,
                                                     m_values=(32, 64, 128, 256, 512), seeds=3,
                                                     steps=args.steps, n_test=10_000, jobs=args.jobs))
    runs_total = sum(len(c["runs"]) for c in res.cells)
    report["full_quick_sweep"] = {"seconds": secs, "runs": runs_total, "steps_per_run": args.steps,
                                  "jobs": args.jobs, "benefit_cd_over_gd": res.benefit()}
    print(f"full quick sweep: {runs_total} runs x {args.steps} steps in {secs:.1f} s ({args.jobs} workers); "
          f"benefit of CD over GD by eps fraction: {res.benefit()}")
    numpy_estimate = sum(report[a]["numpy_us_per_step"] for a in ("gd", "cd", "diag")) / 3 * 1e-6 * args.steps \
        * runs_total
    report["full_quick_sweep"]["numpy_estimate_seconds"] = numpy_estimate
    print(f"the same sweep with the numpy loop (estimated from the per-step times at m = 128): ~{numpy_estimate:.0f} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
