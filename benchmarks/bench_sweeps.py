"""Sweep engine benchmark (issue 10): wall time of a 200-point theory sweep and a 40-point simulation sweep with
1 and 2 local workers, the cache-hit re-run, and the overhead of a Dask LocalCluster; optionally the full
convergence map of the solver over (alpha, eps, lam, r, p).

    python benchmarks/bench_sweeps.py [--map] [--out out/benchmarks/sweeps.json]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from asymptotics import grid_sweep, map_points, seed_sequence

THEORY_AXES = dict(alpha=list(np.logspace(-2, 1, 20)), eps=[0.0, 0.1, 0.2, 0.3, 0.4], r=[1.0, 2.0])   # 200 points


def simulation_point(params):
    """One finite-d robust ERM point (module level, so that workers can unpickle it)."""
    import simulate

    base = int(seed_sequence(params).generate_state(1)[0])
    res = simulate.erm(params["alpha"], params["eps"], params["lam"], attack="linf", reg=params["reg"],
                       d=params["d"], seeds=1, base=base)
    return {k: float(v) for k, v in res.mean.items()}


SIM_POINTS = [dict(alpha=a, eps=e, lam=0.05, reg=r, d=200)
              for a in (0.25, 0.5, 1.0, 2.0, 4.0) for e in (0.0, 0.3) for r in ("l1", "l2", "l1.5", "l3")]  # 40


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/benchmarks/sweeps.json")
    parser.add_argument("--map", action="store_true", help="also run the full convergence map (minutes)")
    args = parser.parse_args(argv)
    report = {}
    grid_sweep(dict(alpha=[1.0]), eps=0.1, lam=0.01)                       # compile numba in this process
    for jobs in (1, 2):
        res, secs = timed(lambda: grid_sweep(THEORY_AXES, attack="linf", lam=0.01, jobs=jobs))
        report[f"theory_200_jobs{jobs}_s"] = secs
        print(f"theory sweep, 200 points, {jobs} worker(s): {secs:.2f} s ({len(res.failures)} failed)")
    with tempfile.TemporaryDirectory() as cache:
        _, first = timed(lambda: grid_sweep(THEORY_AXES, attack="linf", lam=0.01, jobs=2, cache=cache))
        res, again = timed(lambda: grid_sweep(THEORY_AXES, attack="linf", lam=0.01, jobs=2, cache=cache))
        report.update(theory_200_cache_cold_s=first, theory_200_cache_hit_s=again, cache_hits=res.cached)
        print(f"theory sweep with cache: first {first:.2f} s, re-run {again:.3f} s ({res.cached} hits, "
              f"{first / again:.0f}x faster)")
    for jobs in (1, 2):
        recs, secs = timed(lambda: map_points(simulation_point, SIM_POINTS, jobs=jobs))
        report[f"simulation_40_jobs{jobs}_s"] = secs
        print(f"simulation sweep, 40 points (d = 200), {jobs} worker(s): {secs:.2f} s "
              f"({sum(not r['ok'] for r in recs)} failed)")
    try:
        import distributed

        (cluster, client), start_s = timed(lambda: _local_cluster(distributed))
        with cluster, client:
            grid_sweep(dict(alpha=[1.0]), executor="dask", address=client, eps=0.1, lam=0.01)   # warm the workers
            _, secs = timed(lambda: grid_sweep(THEORY_AXES, attack="linf", lam=0.01, executor="dask", address=client))
        report.update(dask_cluster_start_s=start_s, theory_200_dask2_s=secs,
                      dask_overhead_vs_joblib=secs / report["theory_200_jobs2_s"])
        print(f"Dask LocalCluster (2 workers): start {start_s:.2f} s, sweep {secs:.2f} s "
              f"({secs / report['theory_200_jobs2_s']:.2f}x the joblib time)")
    except ImportError:
        print("distributed not installed: Dask benchmark skipped")
    if args.map:
        from figures.convergence_map import PRESETS, compute

        params = dict(PRESETS["paper"])
        data, secs = timed(lambda: compute(params))
        report["convergence_map"] = {k: data[k] for k in ("points", "solved", "zero", "error", "wrong", "methods",
                                                          "failures", "solved_or_certified_share")}
        report["convergence_map"]["seconds"] = secs
        print(f"convergence map: {data['points']} cold solves, {data['solved']} solved, {data['zero']} certified "
              f"w = 0, {data['error']} ConvergenceError ({100 * data['solved_or_certified_share']:.2f}% solved or "
              f"certified), {data['wrong']} wrong; {secs:.0f} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {args.out}")


def _local_cluster(distributed):
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    return cluster, distributed.Client(cluster)


if __name__ == "__main__":
    main()
