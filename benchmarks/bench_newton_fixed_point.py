"""Benchmark of ``solve(..., newton=True)`` (Newton's method finishing the fixed-point iteration, issue 18 item 5)
against the default Anderson iteration, in one run.

The set of benchmarks/bench_fixed_point.py (r in {1, 2} x lam in {0.01, 0.05}, each an alpha sweep 3 -> 1 -> 0.3 ->
0.1 with warm starts, eps = 0.3, linf attack, logistic loss, tol 1e-8), plus cold solves at harder points (small
lam, l1 regularizer, hinge, l2 attack). Both variants run at every point one after the other (median of ``--repeat``
timings); values are compared with a solve at tol 1e-13 (the distance of each answer to the fixed point) and with
each other. Map evaluations are counted (the Jacobian's four count too).

Usage::

    python benchmarks/bench_newton_fixed_point.py [--repeat 5] [--out out/benchmarks/newton_fixed_point.json]
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asymptotics  # noqa: E402
import asymptotics.fixed_point as fpm  # noqa: E402
from bench_fixed_point import ALPHAS, EPS, LAMS, REGS, TOL, code_fingerprint  # noqa: E402

say = functools.partial(print, flush=True)
HARD = [dict(alpha=0.1, eps=0.3, lam=1e-3, attack="linf", reg="l1"),
        dict(alpha=10.0, eps=0.1, lam=1e-4, attack="l2", reg="l2"),
        dict(alpha=0.3, eps=0.5, lam=1e-3, attack="linf", reg="l1.5", loss="hinge"),
        dict(alpha=5.0, eps=0.0, lam=1e-3, attack="linf", reg="l2"),
        dict(alpha=2.0, eps=0.3, lam=0.01, attack="l1.5", reg="l3", loss="exponential")]
FIELDS = ("m", "q", "V", "P")


class _Counter:
    def __init__(self):
        self.calls = 0
        self._orig = fpm._Map.__call__
        counter = self

        def counted(map_self, x):
            counter.calls += 1
            return counter._orig(map_self, x)

        fpm._Map.__call__ = counted


def _run(point, init, newton, repeat, counter):
    times, fp = [], None
    for _ in range(repeat):
        counter.calls = 0
        t0 = time.perf_counter()
        fp = asymptotics.solve(**point, init=init, newton=newton, tol=TOL)
        times.append(time.perf_counter() - t0)
    return fp, statistics.median(times), counter.calls


def _state(fp):
    return np.array([getattr(fp, k) for k in FIELDS])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default="out/benchmarks/newton_fixed_point.json")
    args = ap.parse_args(argv)
    say(f"code under test: {code_fingerprint()}")
    for p in HARD:
        asymptotics.solve(**p)                      # numba compilation
    counter = _Counter()
    cases = [("sweep", dict(alpha=alpha, eps=EPS, lam=lam, attack="linf", reg=f"l{r:g}"))
             for r in REGS for lam in LAMS for alpha in ALPHAS]     # each variant warm-starts from its own previous
    rows = []
    states = {False: None, True: None}
    say(f"{'point':<70} | {'anderson ms':>11} {'calls':>5} | {'newton ms':>9} {'calls':>5} {'steps':>5} | "
        f"{'ratio':>5} | {'err A':>8} {'err N':>8} {'A vs N':>8}")
    for kind, point in cases + [("cold", p) for p in HARD]:
        if kind == "sweep" and point["alpha"] == ALPHAS[0]:
            states = {False: None, True: None}
        res = {}
        for newton in (False, True):
            init = states[newton] if kind == "sweep" else None
            fp, sec, calls = _run(point, init, newton, args.repeat, counter)
            res[newton] = (fp, sec, calls)
            if kind == "sweep":
                states[newton] = fp.state
        ref = asymptotics.solve(**point, tol=1e-13)
        a, n = res[False][0], res[True][0]
        err = lambda fp: float(np.max(np.abs(_state(fp) - _state(ref)) / np.abs(_state(ref))))  # noqa: E731
        row = {"kind": kind, "point": point, "anderson_seconds": res[False][1], "newton_seconds": res[True][1],
               "anderson_calls": res[False][2], "newton_calls": res[True][2],
               "newton_steps": n.certificate["newton_steps"], "jacobians": n.certificate["jacobians"],
               "ratio": res[False][1] / res[True][1], "err_anderson": err(a), "err_newton": err(n),
               "anderson_vs_newton": float(np.max(np.abs(_state(a) - _state(n)) / np.abs(_state(a))))}
        rows.append(row)
        say(f"{json.dumps(point):<70} | {1e3 * row['anderson_seconds']:>11.2f} {row['anderson_calls']:>5d} | "
            f"{1e3 * row['newton_seconds']:>9.2f} {row['newton_calls']:>5d} {row['newton_steps']:>5d} | "
            f"{row['ratio']:>5.2f} | {row['err_anderson']:>8.1e} {row['err_newton']:>8.1e} "
            f"{row['anderson_vs_newton']:>8.1e}")
    summary = {}
    for kind in ("sweep", "cold"):
        sel = [r for r in rows if r["kind"] == kind]
        ta, tn = sum(r["anderson_seconds"] for r in sel), sum(r["newton_seconds"] for r in sel)
        summary[kind] = {"points": len(sel), "anderson_seconds": ta, "newton_seconds": tn, "ratio": ta / tn,
                         "anderson_ms_per_point": 1e3 * ta / len(sel), "newton_ms_per_point": 1e3 * tn / len(sel),
                         "anderson_calls": sum(r["anderson_calls"] for r in sel),
                         "newton_calls": sum(r["newton_calls"] for r in sel),
                         "max_anderson_vs_newton": max(r["anderson_vs_newton"] for r in sel),
                         "max_err_anderson": max(r["err_anderson"] for r in sel),
                         "max_err_newton": max(r["err_newton"] for r in sel)}
        s = summary[kind]
        say(f"{kind}: anderson {s['anderson_ms_per_point']:.1f} ms/point ({s['anderson_calls']} map calls), newton "
            f"{s['newton_ms_per_point']:.1f} ms/point ({s['newton_calls']} calls): ratio {s['ratio']:.2f}x; values "
            f"agree to {s['max_anderson_vs_newton']:.1e}; distance to the tol-1e-13 point: anderson "
            f"{s['max_err_anderson']:.1e}, newton {s['max_err_newton']:.1e}")
    out = {"benchmark": "newton_fixed_point", "code": code_fingerprint(), "summary": summary, "rows": rows,
           "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                       "load": os.getloadavg()}, "default_newton": fpm.NEWTON_DEFAULT}
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
