"""Benchmark: steepest-descent optimizer overhead, network KKT residual, batched PGD (deep base, issue 6).

Everything runs in the same process, one torch thread unless ``--threads``:

1. optimizer step time for a 1M-parameter MLP (gradients set once, ``step()`` timed, median of repeats) for
   ``torch.optim.SGD`` (foreach) and ``deep.optim.SteepestDescent`` in every geometry; ratio to SGD
   (target: global-norm l2/linf steps within 2x of SGD);
2. ``kkt_residual_network`` (l2) for m = 1000 samples and a ~100k-parameter 2-layer net: per-sample gradients
   (torch.func vmap) and the Gram-matrix NNLS, with their split;
3. PGD-10 (linf) throughput in samples/s, batched vs a naive loop that attacks one sample at a time with the same code.

Usage::

    python benchmarks/bench_deep_base.py [--out out/benchmarks/deep_base.json] [--quick] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from deep.attacks import pgd
from deep.margins import kkt_residual_network, per_sample_gradients
from deep.models import HomogeneousMLP
from deep.optim import SteepestDescent


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_optimizers(repeat: int) -> dict:
    gen = torch.Generator().manual_seed(0)
    model = HomogeneousMLP(1000, [500, 500, 500], out_features=10, generator=gen)   # 1,005,000 parameters
    n_params = sum(p.numel() for p in model.parameters())
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=gen)
    configs = {"sgd (torch, foreach)": lambda ps: torch.optim.SGD(ps, lr=1e-6)}
    for norm in ("l2", "linf", "l1", "l1.5", "spectral"):
        for normalized in (False, True):
            configs[f"{norm} normalized={normalized}"] = (
                lambda ps, n=norm, z=normalized: SteepestDescent(ps, lr=1e-6, norm=n, normalized=z))
    configs["linf per_tensor"] = lambda ps: SteepestDescent(ps, lr=1e-6, norm="linf", normalized=True,
                                                            scope="per_tensor")
    rows = {}
    for name, build in configs.items():
        opt = build(model.parameters())
        opt.step()                                           # warm-up
        rows[name] = _median_time(opt.step, repeat)
    sgd = rows["sgd (torch, foreach)"]
    return {"n_params": n_params, "seconds": rows, "ratio_to_sgd": {k: v / sgd for k, v in rows.items()}}


def bench_kkt(m: int, width: int) -> dict:
    gen = torch.Generator().manual_seed(1)
    d = 100
    model = HomogeneousMLP(d, [width], generator=gen)
    X = torch.randn(m, d, generator=gen)
    with torch.no_grad():
        y = torch.sign(model(X))
    n_params = sum(p.numel() for p in model.parameters())
    start = time.perf_counter()
    per_sample_gradients(model, X, y)
    grads = time.perf_counter() - start
    start = time.perf_counter()
    res = kkt_residual_network(model, X, y, "l2")
    total = time.perf_counter() - start
    return {"m": m, "n_params": n_params, "per_sample_gradients_s": grads, "kkt_total_s": total,
            "stationarity": res.stationarity, "alignment_gap": res.alignment_gap}


def bench_pgd(n: int, loop_n: int) -> dict:
    gen = torch.Generator().manual_seed(2)
    model = HomogeneousMLP(784, [256], out_features=10, generator=gen)
    X = torch.rand(n, 784, generator=gen)
    y = torch.randint(0, 10, (n,), generator=gen)
    start = time.perf_counter()
    pgd(model, X, y, 0.1, steps=10, generator=torch.Generator().manual_seed(0))
    batched = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(loop_n):
        pgd(model, X[i:i + 1], y[i:i + 1], 0.1, steps=10, generator=torch.Generator().manual_seed(0))
    looped = loop_n / (time.perf_counter() - start)
    return {"n": n, "batched_samples_per_s": batched, "loop_samples_per_s": looped, "speedup": batched / looped}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/benchmarks/deep_base.json")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller KKT and PGD problems")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = {"threads": args.threads, "torch": torch.__version__}
    result["optimizers"] = bench_optimizers(5 if args.quick else 20)
    for name, ratio in result["optimizers"]["ratio_to_sgd"].items():
        print(f"optimizer step  {name:28s} {1e3 * result['optimizers']['seconds'][name]:8.2f} ms  x{ratio:5.2f} SGD")
    result["kkt"] = bench_kkt(200 if args.quick else 1000, 200 if args.quick else 990)
    k = result["kkt"]
    print(f"KKT l2  m={k['m']} p={k['n_params']}: per-sample grads {k['per_sample_gradients_s']:.2f} s, "
          f"total {k['kkt_total_s']:.2f} s")
    result["pgd"] = bench_pgd(256 if args.quick else 1024, 16 if args.quick else 64)
    p = result["pgd"]
    print(f"PGD-10 linf: batched {p['batched_samples_per_s']:.0f} samples/s, per-sample loop "
          f"{p['loop_samples_per_s']:.0f} samples/s, speedup x{p['speedup']:.1f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
