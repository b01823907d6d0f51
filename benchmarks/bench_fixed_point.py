"""Benchmark of ``asymptotics.solve`` against the public-code-style baseline (issue 2, section 8).

The set: r in {1, 2} x lam in {0.01, 0.05}, each an alpha sweep 3 -> 1 -> 0.3 -> 0.1 with warm starts (each alpha
starts from the previous solution, in both solvers), eps = 0.3, linf attack, logistic loss, tol 1e-8. Both solvers
run in this process, one after the other at every point; the package's numba kernels and the baseline's jitted
integrands are compiled before any timing.

Usage::

    python benchmarks/bench_fixed_point.py                 # the full set (minutes)
    python benchmarks/bench_fixed_point.py --quick         # r = 2, lam = 0.05 only (seconds)
    python benchmarks/bench_fixed_point.py --out out/benchmarks/fixed_point.json --repeat 5

Per point it reports wall time, iterations and (m, q, V, P) of both solvers, the largest relative difference
between them, and the baseline's time per iteration; at the end the totals and their ratio baseline / ours.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asymptotics  # noqa: E402
import baseline_public_style as baseline  # noqa: E402

ALPHAS = (3.0, 1.0, 0.3, 0.1)
REGS = (1.0, 2.0)
LAMS = (0.01, 0.05)
EPS = 0.3
TOL = 1e-8
AGREEMENT = 1e-6
FIELDS = ("m", "q", "V", "P")
say = functools.partial(print, flush=True)


def _max_rel_diff(a, b) -> float:
    return max(abs(x - y) / max(abs(y), 1e-300) for x, y in zip(a, b))


def _tail_error_estimate(history) -> float:
    """A posteriori distance of the damped iterate to its fixed point: change * rate / (1 - rate)."""
    if len(history) < 3 or history[-2] <= 0:
        return math.nan
    rate = history[-1] / history[-2]
    if not 0 < rate < 1:
        return math.nan
    return history[-1] * rate / (1.0 - rate)


def run_sweep(r, lam, *, repeat, baseline_init, baseline_max_iter, criterion, log):
    """One alpha sweep of both solvers; returns one record per alpha."""
    records = []
    base_state = None if baseline_init == "public" else asymptotics.fixed_point.DEFAULT_INIT
    ours_state = None
    reg = f"l{r:g}"
    for alpha in ALPHAS:
        b = baseline.solve_damped(alpha, EPS, lam, r, init=base_state, blend=0.4, tol=TOL, criterion=criterion,
                                  max_iter=baseline_max_iter)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            f = asymptotics.solve(alpha, EPS, lam, attack="linf", reg=reg, loss="logistic", init=ours_state, tol=TOL)
            times.append(time.perf_counter() - t0)
        ours_seconds = statistics.median(times)
        diff = _max_rel_diff(b.state, f.state)
        rec = {
            "r": r, "lam": lam, "alpha": alpha, "eps": EPS,
            "baseline": {"seconds": b.seconds, "iterations": b.iterations, "converged": b.converged,
                         "ms_per_iteration": 1e3 * b.seconds_per_iteration, "last_change": b.change,
                         "tail_error_estimate": _tail_error_estimate(b.history),
                         **dict(zip(FIELDS, b.state)),
                         **{k: getattr(b, k) for k in ("m_hat", "q_hat", "V_hat", "P_hat")}},
            "ours": {"seconds": ours_seconds, "seconds_all_repeats": times, "iterations": f.iterations,
                     "residual": f.residual, **dict(zip(FIELDS, f.state)),
                     **{k: getattr(f, k) for k in ("m_hat", "q_hat", "V_hat", "P_hat", "gen_error", "adv_error")}},
            "max_rel_diff": diff,
            "per_field_rel_diff": {k: abs(x - y) / abs(y) for k, x, y in zip(FIELDS, b.state, f.state)},
            "agree": diff <= AGREEMENT,
        }
        records.append(rec)
        log(_row(rec))
        base_state, ours_state = b.state, f.state
    return records


HEADER = (f"{'r':>3} {'lam':>5} {'alpha':>5} | {'base it':>7} {'base s':>8} {'ms/it':>6} | {'ours it':>7} "
          f"{'ours ms':>8} | {'ratio':>7} | {'max rel diff':>12} | {'m':>10} {'q':>10} {'V':>10} {'P':>10}")


def _row(rec) -> str:
    b, o = rec["baseline"], rec["ours"]
    flag = "" if b["converged"] else " (cap)"
    return (f"{rec['r']:>3g} {rec['lam']:>5g} {rec['alpha']:>5g} | {b['iterations']:>7d} {b['seconds']:>8.2f} "
            f"{b['ms_per_iteration']:>6.2f} | {o['iterations']:>7d} {1e3 * o['seconds']:>8.2f} | "
            f"{b['seconds'] / o['seconds']:>7.0f} | {rec['max_rel_diff']:>12.2e} | {o['m']:>10.6g} {o['q']:>10.6g} "
            f"{o['V']:>10.6g} {o['P']:>10.6g}{flag}")


def code_fingerprint() -> dict:
    """The commit, whether asymptotics/ has uncommitted changes, and a hash of its sources (the code under test)."""
    import hashlib
    import subprocess

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for src in sorted((root / "asymptotics").glob("*.py")):
        digest.update(src.name.encode() + src.read_bytes())

    def git(*cmd):
        try:
            return subprocess.run(["git", *cmd], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "asymptotics_dirty": bool(git("status", "--porcelain", "--", "asymptotics")),
            "asymptotics_sha256": digest.hexdigest()[:16]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only r = 2, lam = 0.05 (a fast check)")
    ap.add_argument("--out", default="out/benchmarks/fixed_point.json", help="JSON output path")
    ap.add_argument("--repeat", type=int, default=5, help="timed repeats of each solve of ours (median reported)")
    ap.add_argument("--baseline-init", choices=("public", "package"), default="public",
                    help="baseline start at alpha = 3: the public code's per-r init or the package's (0.5, 1, 1, 1)")
    ap.add_argument("--baseline-max-iter", type=int, default=100_000, help="cap on the baseline's iterations")
    ap.add_argument("--criterion", choices=("abs", "rel"), default="abs",
                    help="baseline stopping rule: max-abs change (public code) or max relative change")
    args = ap.parse_args(argv)

    say(f"code under test: {code_fingerprint()}")
    say("warming up (numba compilation of both solvers) ...")
    t0 = time.perf_counter()
    asymptotics.solve(1.0, EPS, 0.05, attack="linf", reg="l1")
    asymptotics.solve(1.0, EPS, 0.05, attack="linf", reg="l2")
    baseline.warm_up()
    say(f"  done in {time.perf_counter() - t0:.1f} s")

    sets = [(2.0, 0.05)] if args.quick else [(r, lam) for r in REGS for lam in LAMS]
    say(HEADER)
    say("-" * len(HEADER))
    records = []
    for r, lam in sets:
        records += run_sweep(r, lam, repeat=args.repeat, baseline_init=args.baseline_init,
                             baseline_max_iter=args.baseline_max_iter, criterion=args.criterion, log=say)

    base_total = sum(rec["baseline"]["seconds"] for rec in records)
    ours_total = sum(rec["ours"]["seconds"] for rec in records)
    base_iters = sum(rec["baseline"]["iterations"] for rec in records)
    worst = max(rec["max_rel_diff"] for rec in records)
    summary = {
        "points": len(records),
        "baseline_total_seconds": base_total,
        "ours_total_seconds": ours_total,
        "ratio_baseline_over_ours": base_total / ours_total,
        "baseline_total_iterations": base_iters,
        "baseline_ms_per_iteration": 1e3 * base_total / base_iters,
        "ours_total_iterations": sum(rec["ours"]["iterations"] for rec in records),
        "max_rel_diff": worst,
        "all_agree": all(rec["agree"] for rec in records),
        "baseline_all_converged": all(rec["baseline"]["converged"] for rec in records),
    }
    say("-" * len(HEADER))
    ratio = summary["ratio_baseline_over_ours"]
    say(f"total: baseline {base_total:.2f} s ({base_iters} iterations, {summary['baseline_ms_per_iteration']:.2f} "
        f"ms/iteration), ours {1e3 * ours_total:.1f} ms; ratio baseline/ours = {ratio:.0f}x")
    say(f"max relative difference over (m, q, V, P): {worst:.2e} "
        f"({'all within' if summary['all_agree'] else 'NOT all within'} {AGREEMENT:g})")
    if not summary["baseline_all_converged"]:
        say(f"note: the baseline hit its iteration cap ({args.baseline_max_iter}) at some points (marked '(cap)')")

    out = {
        "benchmark": "fixed_point", "settings": {
            "alphas": ALPHAS, "sets": sets, "eps": EPS, "tol": TOL, "attack": "linf", "loss": "logistic",
            "baseline_blend": 0.4, "baseline_criterion": args.criterion, "baseline_init": args.baseline_init,
            "baseline_max_iter": args.baseline_max_iter, "ours_repeat": args.repeat, "quick": args.quick},
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "numpy": np.__version__, "scipy": scipy.__version__},
        "code": code_fingerprint(), "summary": summary, "points": records,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    say(f"wrote {path}")
    return 0 if summary["all_agree"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
