"""Benchmark: analytic and empirical neural tangent kernels (issue 8).

Everything runs in the same process (one torch thread unless ``--threads``), float32 for the networks and float64 for
the analytic recursion:

1. analytic ReLU NTK (and NNGP) of ``n = 2000`` inputs, ``2000 x 2000`` Gram, depth 3, numpy and torch;
2. empirical NTK of an NTK-parameterised MLP ``d-512-512-1`` on ``n = 1000`` samples by three methods:
   the layer-wise closed form ``NTKMLP.ntk`` (no Jacobians), the torch.func path ``deep.ntk.empirical_ntk``
   (vmap + jacrev, chunked) and the per-sample autograd loop ``deep.ntk.per_sample_gradient_ntk`` (one backward per
   sample, then ``G G^T``). The loop is run on ``--loop-n`` samples only (default 100); its time at ``n`` is
   extrapolated as ``(n / loop_n) * t_gradients(loop_n) + t_gram(n)``, where the O(n) gradient part is scaled
   linearly and the O(n^2 P) Gram product ``G G^T`` is *measured* on an ``n x P`` matrix. The three kernels are compared
   on the loop's subset (max relative difference).

Usage::

    python benchmarks/bench_ntk.py [--out out/benchmarks/ntk.json] [--quick] [--threads 1] [--device cpu]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from deep.device import default_device
from deep.ntk import NTKMLP, empirical_ntk, per_sample_gradient_ntk, relu_kernels, relu_ntk


def _timed(fn, device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def _rel(a, b) -> float:
    a, b = a.double().cpu(), b.double().cpu()
    return float((a - b).abs().max() / b.abs().max())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/benchmarks/ntk.json")
    parser.add_argument("--quick", action="store_true", help="n_analytic 500, n_empirical 200, loop 50")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, or auto (default_device())")
    parser.add_argument("--n-analytic", type=int, default=2000)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--loop-n", type=int, default=100)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--depth", type=int, default=3, help="hidden layers of the analytic kernel")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_analytic, args.n, args.loop_n = 500, 200, 50
    torch.set_num_threads(args.threads)
    device = default_device(None if args.device == "auto" else args.device)
    gen = torch.Generator(device=device).manual_seed(0)
    d = 64
    report = {"threads": args.threads, "device": str(device), "torch": torch.__version__}

    # 1. analytic NTK
    Xa = torch.rand(args.n_analytic, d, generator=gen, device=device, dtype=torch.float64)
    K, t_torch = _timed(lambda: relu_ntk(Xa, depth=args.depth), device)
    _, t_both = _timed(lambda: relu_kernels(Xa, depth=args.depth), device)
    Xn = Xa.cpu().numpy()
    start = time.perf_counter()
    Kn = relu_ntk(Xn, depth=args.depth)
    t_numpy = time.perf_counter() - start
    report["analytic"] = {"n": args.n_analytic, "depth": args.depth, "d": d, "torch_s": t_torch,
                          "torch_ntk_and_nngp_s": t_both, "numpy_s": t_numpy,
                          "numpy_vs_torch_max_rel": float(np.abs(Kn - K.cpu().numpy()).max() / np.abs(Kn).max())}
    print(f"analytic NTK {args.n_analytic}x{args.n_analytic}, depth {args.depth}: torch {t_torch:.3f} s, "
          f"numpy {t_numpy:.3f} s (NTK+NNGP torch {t_both:.3f} s)")

    # 2. empirical NTK
    net = NTKMLP(d, [args.width, args.width], 1, generator=torch.Generator().manual_seed(0)).to(device)
    P = sum(p.numel() for p in net.parameters())
    X = torch.rand(args.n, d, generator=gen, device=device)
    K_layer, t_layer = _timed(lambda: net.ntk(X), device)
    K_func, t_func = _timed(lambda: empirical_ntk(net, X, mode="mean"), device)
    sub = X[:args.loop_n]
    K_loop, t_loop = _timed(lambda: per_sample_gradient_ntk(net, sub), device)
    # split of the loop: gradients (O(n P) backward passes) vs Gram (measured at full n on a random n x P matrix)
    G = torch.randn(args.n, P, generator=gen, device=device)
    _, t_gram_full = _timed(lambda: G @ G.T, device)
    G_sub = G[:args.loop_n]
    _, t_gram_sub = _timed(lambda: G_sub @ G_sub.T, device)
    t_grad_sub = max(t_loop - t_gram_sub, 0.0)
    t_loop_extrapolated = t_grad_sub * args.n / args.loop_n + t_gram_full
    del G, G_sub
    agree = {"layerwise_vs_loop": _rel(K_layer[:args.loop_n, :args.loop_n], K_loop),
             "torchfunc_vs_loop": _rel(K_func[:args.loop_n, :args.loop_n], K_loop),
             "layerwise_vs_torchfunc": _rel(K_layer, K_func)}
    report["empirical"] = {
        "n": args.n, "width": args.width, "hidden_layers": 2, "params": P, "layerwise_s": t_layer,
        "torchfunc_s": t_func, "loop_n": args.loop_n, "loop_measured_s": t_loop, "loop_gradients_s": t_grad_sub,
        "gram_full_n_s": t_gram_full, "loop_extrapolated_s": t_loop_extrapolated,
        "ratio_loop_over_layerwise": t_loop_extrapolated / t_layer,
        "ratio_loop_over_torchfunc": t_loop_extrapolated / t_func,
        "ratio_torchfunc_over_layerwise": t_func / t_layer, "max_rel_difference": agree}
    print(f"empirical NTK, MLP {d}-{args.width}-{args.width}-1 (P = {P}), n = {args.n}:")
    print(f"  layer-wise NTKMLP.ntk   {t_layer:8.3f} s")
    print(f"  torch.func empirical    {t_func:8.3f} s")
    print(f"  per-sample loop, n={args.loop_n}: {t_loop:.3f} s measured -> extrapolated to n={args.n}: "
          f"{t_loop_extrapolated:.3f} s (= {t_grad_sub:.3f} s x {args.n / args.loop_n:g} gradients "
          f"+ {t_gram_full:.3f} s Gram measured at full n)")
    print(f"  ratios: loop / layer-wise {t_loop_extrapolated / t_layer:.1f}x, loop / torch.func "
          f"{t_loop_extrapolated / t_func:.1f}x, torch.func / layer-wise {t_func / t_layer:.1f}x")
    print(f"  agreement (max rel diff on the loop subset): {agree}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
