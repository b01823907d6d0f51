"""Benchmark of the Newton optimisers (issue 18, items 2 and 3) against the bounded searches, in one run.

Three parts, each timing both methods in this process, one after the other at every point (numba kernels compiled
before any timing):

* ``lambda``: :func:`asymptotics.optimal_lambda` with ``method="newton"`` vs the default bounded search
  (``xatol=1e-3``, lam to ~3e-4) and vs the bounded search at the Newton method's accuracy (``xatol=1e-5``); the
  reference for the accuracy columns is a bounded search with ``xatol=1e-8`` on solves at ``tol=1e-12`` (not timed).
* ``order``: :func:`asymptotics.optimal_reg_order` (grid 1..3, 9 points, refined) newton vs bounded.
* ``map``: :func:`asymptotics.optimal_map.optimal_regularization_map` (the figure optimal_regularization_map) on a
  small (alpha, eps) grid for the l_inf and l_2 attacks, newton (continuation) vs bounded (every cell by
  ``optimal_reg_order``).

Usage::

    python benchmarks/bench_optimal_newton.py                  # all three parts (about 10 minutes on 2 cores)
    python benchmarks/bench_optimal_newton.py --part lambda    # one part
    python benchmarks/bench_optimal_newton.py --quick          # fewer points (a couple of minutes)
    python benchmarks/bench_optimal_newton.py --out out/benchmarks/optimal_newton.json

Agreement targets (issue 18): optimal lam and r* to 1e-4 relative with the bounded search (at an accuracy that can
resolve 1e-4: the tight reference), the map to 1e-3; speed: >= 3x (lambda, order) and >= 5x (map).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asymptotics  # noqa: E402
from asymptotics.optimal_map import optimal_regularization_map  # noqa: E402
from bench_fixed_point import code_fingerprint  # noqa: E402

say = functools.partial(print, flush=True)

LAMBDA_POINTS = [
    dict(alpha=1.0, eps=0.3, attack="linf", reg="l2"),
    dict(alpha=1.0, eps=0.1, attack="linf", reg="l1.5"),
    dict(alpha=0.5, eps=0.2, attack="l2", reg="l2"),
    dict(alpha=3.0, eps=0.4, attack="linf", reg="l1"),
    dict(alpha=0.3, eps=0.1, attack="l2", reg="l3", loss="exponential"),
    dict(alpha=2.0, eps=0.2, attack="linf", reg="l1", loss="hinge"),
    dict(alpha=1.0, eps=0.2, attack="l2", reg="l2", loss="square"),
    dict(alpha=0.2, eps=0.5, attack="l1.5", reg="l2"),
]
ORDER_POINTS = [dict(alpha=1.0, eps=0.3, attack="linf"), dict(alpha=0.5, eps=0.1, attack="l2"),
                dict(alpha=2.0, eps=0.1, attack="linf")]
MAP_GRID = dict(alphas=[0.2, 0.6, 1.8], eps=[0.1, 0.3, 0.5], attacks=["linf", "l2"])


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def part_lambda(points):
    rows = []
    say(f"{'point':<58} | {'bounded s':>9} {'b(1e-5) s':>9} {'newton s':>8} | {'ratio':>5} {'ratio=acc':>9} | "
        f"{'lam err N':>9} {'lam err B':>9} {'val diff':>8} | method")
    for p in points:
        b, tb = _timed(lambda: asymptotics.optimal_lambda(**p))
        b5, tb5 = _timed(lambda: asymptotics.optimal_lambda(**p, xatol=1e-5))
        n, tn = _timed(lambda: asymptotics.optimal_lambda(**p, method="newton"))
        ref = asymptotics.optimal_lambda(**p, xatol=1e-8, tol=1e-12)
        row = {"point": p, "bounded_seconds": tb, "bounded_1e-5_seconds": tb5, "newton_seconds": tn,
               "ratio": tb / tn, "ratio_equal_accuracy": tb5 / tn, "lam_newton": n.lam, "lam_bounded": b.lam,
               "lam_reference": ref.lam, "lam_rel_err_newton": _rel(n.lam, ref.lam),
               "lam_rel_err_bounded": _rel(b.lam, ref.lam), "lam_rel_err_bounded_1e-5": _rel(b5.lam, ref.lam),
               "value_rel_diff": _rel(n.value, b.value), "method": n.method,
               "evaluations": {"bounded": b.evaluations, "newton": n.evaluations}}
        rows.append(row)
        say(f"{json.dumps(p):<58} | {tb:>9.3f} {tb5:>9.3f} {tn:>8.3f} | {row['ratio']:>5.1f} "
            f"{row['ratio_equal_accuracy']:>9.1f} | {row['lam_rel_err_newton']:>9.1e} "
            f"{row['lam_rel_err_bounded']:>9.1e} {row['value_rel_diff']:>8.1e} | {n.method[:40]}")
    tb, tb5, tn = (sum(r[k] for r in rows) for k in ("bounded_seconds", "bounded_1e-5_seconds", "newton_seconds"))
    summary = {"bounded_seconds": tb, "bounded_1e-5_seconds": tb5, "newton_seconds": tn, "ratio": tb / tn,
               "ratio_equal_accuracy": tb5 / tn,
               "max_lam_rel_err_newton": max(r["lam_rel_err_newton"] for r in rows),
               "max_lam_rel_err_bounded": max(r["lam_rel_err_bounded"] for r in rows),
               "max_value_rel_diff": max(r["value_rel_diff"] for r in rows),
               "newton_share": sum(r["method"] == "newton" for r in rows) / len(rows)}
    say(f"lambda: bounded {tb:.2f} s, bounded(xatol 1e-5) {tb5:.2f} s, newton {tn:.2f} s: ratio "
        f"{summary['ratio']:.1f}x ({summary['ratio_equal_accuracy']:.1f}x at equal accuracy); lam error vs reference: "
        f"newton <= "
        f"{summary['max_lam_rel_err_newton']:.1e}, bounded <= {summary['max_lam_rel_err_bounded']:.1e}")
    return {"rows": rows, "summary": summary}


def part_order(points):
    rows = []
    for p in points:
        b, tb = _timed(lambda: asymptotics.optimal_reg_order(**p))
        n, tn = _timed(lambda: asymptotics.optimal_reg_order(**p, method="newton"))
        row = {"point": p, "bounded_seconds": tb, "newton_seconds": tn, "ratio": tb / tn, "r_star_bounded": b.r_star,
               "r_star_newton": n.r_star, "r_star_rel_diff": _rel(n.r_star, b.r_star),
               "value_rel_diff": _rel(n.value, b.value), "profile_max_rel_diff": float(np.max(np.abs(
                   n.values - b.values) / b.values)), "method": n.method}
        rows.append(row)
        say(f"order {json.dumps(p):<45} bounded {tb:7.2f} s newton {tn:6.2f} s ratio {row['ratio']:5.1f} | r* "
            f"{b.r_star:.6f} vs {n.r_star:.6f} ({row['r_star_rel_diff']:.1e}) value diff {row['value_rel_diff']:.1e} "
            f"| {n.method[:40]}")
    tb, tn = sum(r["bounded_seconds"] for r in rows), sum(r["newton_seconds"] for r in rows)
    summary = {"bounded_seconds": tb, "newton_seconds": tn, "ratio": tb / tn,
               "max_r_star_rel_diff": max(r["r_star_rel_diff"] for r in rows),
               "max_value_rel_diff": max(r["value_rel_diff"] for r in rows)}
    say(f"order: bounded {tb:.1f} s, newton {tn:.1f} s: ratio {summary['ratio']:.1f}x; r* within "
        f"{summary['max_r_star_rel_diff']:.1e}")
    return {"rows": rows, "summary": summary}


def part_map(grid):
    out = {}
    for attack in grid["attacks"]:
        n, tn = _timed(lambda: optimal_regularization_map(grid["alphas"], grid["eps"], attack=attack))
        b, tb = _timed(lambda: optimal_regularization_map(grid["alphas"], grid["eps"], attack=attack,
                                                          method="bounded"))
        dr = np.abs(n["r_star"] - b["r_star"])
        dl = np.abs(n["lam"] - b["lam"]) / b["lam"]
        dv = np.abs(n["value"] - b["value"]) / b["value"]
        out[attack] = {"newton_seconds": tn, "bounded_seconds": tb, "ratio": tb / tn,
                       "max_abs_r_star_diff": float(dr.max()), "max_rel_lam_diff": float(dl.max()),
                       "max_rel_value_diff": float(dv.max()), "r_star_newton": n["r_star"].tolist(),
                       "r_star_bounded": b["r_star"].tolist(), "lam_newton": n["lam"].tolist(),
                       "lam_bounded": b["lam"].tolist(), "methods": n["method"]}
        say(f"map {attack}: {len(grid['alphas'])}x{len(grid['eps'])} cells: bounded {tb:.1f} s, newton {tn:.1f} s: "
            f"ratio {tb / tn:.1f}x; max |dr*| {dr.max():.1e}, max rel dlam* {dl.max():.1e}, max rel dvalue "
            f"{dv.max():.1e}")
    tb = sum(v["bounded_seconds"] for v in out.values())
    tn = sum(v["newton_seconds"] for v in out.values())
    summary = {"bounded_seconds": tb, "newton_seconds": tn, "ratio": tb / tn}
    say(f"map: ratio {summary['ratio']:.1f}x")
    return {"attacks": out, "summary": summary}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("lambda", "order", "map", "all"), default="all")
    ap.add_argument("--quick", action="store_true", help="fewer points")
    ap.add_argument("--out", default="out/benchmarks/optimal_newton.json", help="JSON output path")
    args = ap.parse_args(argv)
    say(f"code under test: {code_fingerprint()}")
    say("warming up (numba compilation) ...")
    for p in LAMBDA_POINTS:
        asymptotics.solve(**p, lam=0.05)
    asymptotics.optimal_lambda(**LAMBDA_POINTS[0], method="newton")
    lam_points = LAMBDA_POINTS[:4] if args.quick else LAMBDA_POINTS
    order_points = ORDER_POINTS[:1] if args.quick else ORDER_POINTS
    grid = dict(MAP_GRID, alphas=MAP_GRID["alphas"][:2], eps=MAP_GRID["eps"][:2]) if args.quick else MAP_GRID
    result = {"benchmark": "optimal_newton", "quick": args.quick, "code": code_fingerprint(),
              "machine": {"platform": platform.platform(), "python": platform.python_version(),
                          "cpus": os.cpu_count(), "load": os.getloadavg()}}
    if args.part in ("lambda", "all"):
        result["lambda"] = part_lambda(lam_points)
    if args.part in ("order", "all"):
        result["order"] = part_order(order_points)
    if args.part in ("map", "all"):
        result["map"] = part_map(grid)
    result["machine"]["load_after"] = os.getloadavg()
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
