"""Benchmark: one robust ERM solve at n = d = 2000 (logistic; linf + l1 and linf + l2) — numba solver vs cvxpy.

In the same run, for each case: our solver (FISTA on the epigraph form, numba kernels) to a KKT residual of 1e-9,
cvxpy/Clarabel (gap tolerance 1e-9) and cvxpy/SCS (eps 1e-8, capped iterations). Accuracy of each: relative
objective excess (F - F_best)/|F_best| over the best objective found (target 1e-8). Ratio: time of the best
cvxpy solver that reached 1e-8 / our time. Also: time of one gradient evaluation (one fused pass over the
n x d matrix) vs the memory-bandwidth bound 8 n d bytes / bandwidth, the bandwidth measured by a large numpy copy
(read + write: 2 x 8 x size bytes per copy).

Usage: python benchmarks/bench_erm.py [--n 2000] [--d 2000] [--skip-scs] [--out out/benchmarks/erm.json]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np


def bandwidth_gbs(size_mb: int = 256, repeat: int = 5) -> float:
    a = np.ones(size_mb * 2**20 // 8)
    b = np.empty_like(a)
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best / 1e9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--d", type=int, default=2000)
    ap.add_argument("--skip-scs", action="store_true")
    ap.add_argument("--scs-max-iters", type=int, default=20000)
    ap.add_argument("--out", default="out/benchmarks/erm.json")
    args = ap.parse_args(argv)

    from asymptotics import ConvergenceError, Problem
    from simulate import _kernels as K
    from simulate import data as D
    from simulate import streams
    from simulate.objective import RobustObjective
    from simulate.reference import cvxpy_solve
    from simulate.solvers import solve

    bw = bandwidth_gbs()
    rows = []
    for reg in ("l1", "l2"):
        pb = Problem.from_point(alpha=args.n / args.d, eps=0.3, lam=0.05, attack="linf", reg=reg)
        theta = D.gaussian_teacher(pb, args.d, streams.generator(0, "teacher"))
        train = D.gaussian_sample(pb, theta, args.n, streams.generator(0, "train"))
        obj = RobustObjective(pb, train.X, train.y)
        # one gradient evaluation: the fused pass (compiled beforehand)
        g, u = np.empty(args.d), np.empty(args.n)
        w = np.full(args.d, 0.01)
        K.data_value_grad(obj.Z, w, 0.0, obj.code, g, u)
        times = []
        for _ in range(20):
            t = time.perf_counter()
            K.data_value_grad(obj.Z, w, 0.0, obj.code, g, u)
            times.append(time.perf_counter() - t)
        grad_s = float(np.median(times))
        bound_s = obj.Z.nbytes / (bw * 1e9)
        solve(obj, tol=1e-4)                         # warm the numba caches
        t = time.perf_counter()
        ours = solve(obj, tol=1e-9)
        ours_s = time.perf_counter() - t
        results = {"numba": (ours.objective, ours_s, ours.diagnostics())}
        for name, kw in (("clarabel", dict(solver="CLARABEL", tol=1e-9, accept_inaccurate=True)),
                         ("scs", dict(solver="SCS", tol=1e-8, max_iter=args.scs_max_iters,
                                      accept_inaccurate=True))):
            if name == "scs" and args.skip_scs:
                continue
            t = time.perf_counter()
            try:
                sol = cvxpy_solve(obj, **kw)
                results[name] = (sol.objective, time.perf_counter() - t, sol.diagnostics())
            except ConvergenceError as exc:
                results[name] = (math.nan, time.perf_counter() - t, {"error": str(exc)})
        best = min(v[0] for v in results.values() if math.isfinite(v[0]))
        row = {"case": f"linf+{reg}", "n": args.n, "d": args.d, "gradient_ms": grad_s * 1e3,
               "bandwidth_bound_ms": bound_s * 1e3, "bandwidth_GBs": bw, "solvers": {}}
        for name, (val, sec, diag) in results.items():
            row["solvers"][name] = {"seconds": sec, "objective": val,
                                    "rel_excess": (val - best) / abs(best) if math.isfinite(val) else None,
                                    "diagnostics": diag}
        ok = [s for k, s in row["solvers"].items() if k != "numba" and s["rel_excess"] is not None
              and s["rel_excess"] <= 1e-8]
        row["best_cvxpy_seconds"] = min((s["seconds"] for s in ok), default=None)
        row["ratio"] = (row["best_cvxpy_seconds"] / ours_s) if ok else None
        rows.append(row)

    print(f"memory bandwidth (numpy copy): {bw:.1f} GB/s; machine {platform.machine()}, {os.cpu_count()} cpus")
    print(f"{'case':<9} {'solver':<9} {'seconds':>9} {'rel excess':>11} {'certificate':>12}")
    for row in rows:
        for name, s in row["solvers"].items():
            cert = s["diagnostics"].get("certificate", float("nan"))
            exc = "failed" if s["rel_excess"] is None else f"{s['rel_excess']:.1e}"
            print(f"{row['case']:<9} {name:<9} {s['seconds']:9.3f} {exc:>11} {cert:12.1e}")
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.0f}x"
        print(f"{row['case']:<9} gradient {row['gradient_ms']:.2f} ms vs bandwidth bound {row['bandwidth_bound_ms']:.2f} ms;"
              f" speed-up vs best cvxpy reaching 1e-8: {ratio}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "python": platform.python_version()}, indent=1, default=str))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
