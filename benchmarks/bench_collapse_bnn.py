"""Benchmark: NC metrics on 10k x 512 features (vectorised vs per-class loop) and EOT-PGD cost per sample for
S = 1, 10, 100 posterior samples (MC dropout MLP 64-128-128-10). Prints a table; ``--out`` writes JSON."""
from __future__ import annotations

import argparse
import json
import time

import torch

from deep.bayes import DropoutMLP, StochasticPosterior, attack_predictive
from deep.collapse import collapse_metrics, collapse_metrics_loop, simplex_etf


def _time(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    C, p, N = 10, 512, 10_000
    M = simplex_etf(C, p, 3.0, generator=g)
    y = torch.arange(C).repeat_interleave(N // C)
    H = (M[y] + 0.5 * torch.randn(N, p, generator=g, dtype=torch.float64)).float()
    W = M.float()
    vec = _time(lambda: collapse_metrics(H, y, weights=W))
    loop = _time(lambda: collapse_metrics_loop(H, y))
    rows = {"nc_vectorised_s": vec, "nc1_loop_s": loop, "ratio_loop_over_vectorised": loop / vec,
            "nc1_agree_rel": abs(collapse_metrics(H, y).nc1 / collapse_metrics_loop(H, y) - 1)}
    print(f"NC metrics, {N} x {p}: vectorised (all NC1-NC4) {vec * 1e3:.1f} ms, per-class loop (NC1 only) "
          f"{loop * 1e3:.1f} ms, ratio {loop / vec:.1f}x")
    net = DropoutMLP(64, [128, 128], 10, p=0.2, generator=g)
    post = StochasticPosterior(net)
    x = torch.rand(100, 64, generator=g)
    yy = torch.arange(10).repeat(10)
    eot = {}
    for S in (1, 10, 100):
        t = _time(lambda: attack_predictive(post, x, yy, 0.1, samples=S, steps=10, resample=True, generator=g),
                  repeat=1)
        eot[S] = t / x.shape[0]
        print(f"EOT-PGD-10, S = {S:3d}: {eot[S] * 1e3:.3f} ms per sample ({eot[S] / eot[1]:.1f}x S = 1)")
    rows["eot_pgd10_seconds_per_sample"] = eot
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
