"""Benchmark: training throughput of the ICL-MC and sparse-parity experiments on CPU (1 thread), and quick-figure times.

For each task, training steps per second of the package's loop (batched torch sampler / indexed minibatches) are
compared, in the same run, with a straightforward implementation that samples or assembles every sequence/example
one at a time in Python (numpy Dirichlet rows, eigen-decomposition for the stationary law, token-by-token draws; a
Python list of examples stacked per minibatch, hinge by masked assignment). The model and optimiser step are the same.

Usage::

    python benchmarks/bench_icl_grokking.py [--out out/benchmarks/icl_grokking.json] [--steps 100] [--skip-figures]
        [--figures-dir out/figures]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deep.grokking.model import ParityMLP
from deep.grokking.parity import sparse_parity_dataset
from deep.grokking.training import hinge_loss
from deep.icl_markov.model import AttentionOnlyTransformer
from deep.icl_markov.sampler import sample_batch


# ---------------------------------------------------------------- straightforward baselines (one item at a time)
def naive_icl_batch(batch: int, length: int, k: int, rng: np.random.Generator) -> torch.Tensor:
    """One sequence at a time: Dirichlet rows, stationary law by eigenvector, tokens drawn one by one."""
    sequences = []
    for _ in range(batch):
        P = rng.dirichlet(np.ones(k), size=k)
        vals, vecs = np.linalg.eig(P.T)
        pi = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
        pi = pi / pi.sum()
        seq = [rng.choice(k, p=pi)]
        for _ in range(length - 1):
            seq.append(rng.choice(k, p=P[seq[-1]]))
        sequences.append(seq)
    return torch.tensor(sequences, dtype=torch.long)


def naive_hinge(output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    loss = 1 - output * labels
    loss[loss < 0] = 0
    return loss.mean()


# ---------------------------------------------------------------- timed loops
def icl_steps_per_second(steps: int, batched: bool, k=3, context=50, batch=64) -> float:
    model = AttentionOnlyTransformer(k, context, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1, foreach=True)
    gen = torch.Generator().manual_seed(1)
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    for _ in range(steps):
        tokens = (sample_batch(batch, context + 1, k, generator=gen).tokens if batched
                  else naive_icl_batch(batch, context + 1, k, rng))
        loss = torch.nn.functional.cross_entropy(model(tokens[:, :-1]).reshape(-1, k), tokens[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - start)


def icl_sampler_sequences_per_second(batched: bool, k=3, context=50, batch=64, repeats=20) -> float:
    gen = torch.Generator().manual_seed(2)
    rng = np.random.default_rng(2)
    start = time.perf_counter()
    for _ in range(repeats):
        if batched:
            sample_batch(batch, context + 1, k, generator=gen)
        else:
            naive_icl_batch(batch, context + 1, k, rng)
    return repeats * batch / (time.perf_counter() - start)


def parity_steps_per_second(steps: int, batched: bool, width=1000, batch=32) -> float:
    data = sparse_parity_dataset(40, 3, 1000, 10, seed=0)
    model = ParityMLP(40, width, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=0.01)
    gen = torch.Generator().manual_seed(3)
    examples = list(zip(data.x_train, data.y_train))
    done = 0
    start = time.perf_counter()
    while done < steps:
        perm = torch.randperm(1000, generator=gen)
        for lo in range(0, 1000, batch):
            idx = perm[lo: lo + batch]
            if batched:
                x, y = data.x_train[idx], data.y_train[idx]
                loss = hinge_loss(model(x), y)
            else:
                items = [examples[int(i)] for i in idx]
                x = torch.stack([item[0] for item in items])
                y = torch.stack([item[1] for item in items])
                loss = naive_hinge(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps:
                break
    return steps / (time.perf_counter() - start)


def figure_times(outdir: str | None = None) -> dict:
    import figures
    from figures import grokking_accuracy, icl_phases

    names = ["icl_phases", "icl_attention", "icl_stumbling_block", "grokking_accuracy", "grokking_neuron_norms",
             "grokking_sparsity"]
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        target = outdir or tmp
        for name in names:
            icl_phases._RUNS.clear()              # standalone time: no training shared with a previous figure
            grokking_accuracy._RUNS.clear()
            out = figures.make(name, preset="quick", outdir=target)
            times[name] = out.seconds
            print(f"  {name:24s} {out.seconds:7.1f} s", flush=True)
    return times


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/benchmarks/icl_grokking.json")
    parser.add_argument("--steps", type=int, default=100, help="training steps per measurement")
    parser.add_argument("--skip-figures", action="store_true")
    parser.add_argument("--figures-dir", default=None, help="keep the quick figures there (default: discarded)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for task, fn in (("icl_markov train steps/s (k=3, T=50, batch 64)", lambda b: icl_steps_per_second(args.steps, b)),
                     ("icl_markov sampler sequences/s", lambda b: icl_sampler_sequences_per_second(b)),
                     ("sparse parity train steps/s (p=1000, batch 32)",
                      lambda b: parity_steps_per_second(10 * args.steps, b))):
        fn(True)                                   # warm-up
        package, baseline = fn(True), fn(False)
        rows.append({"task": task, "package": package, "baseline": baseline, "ratio": package / baseline})
    print(f"{'task':50s} {'package':>10s} {'baseline':>10s} {'ratio':>7s}")
    for r in rows:
        print(f"{r['task']:50s} {r['package']:10.1f} {r['baseline']:10.1f} {r['ratio']:7.2f}")
    result = {"torch_threads": torch.get_num_threads(), "torch": torch.__version__, "throughput": rows}
    if not args.skip_figures:
        print("quick figures (standalone wall time):")
        result["quick_figure_seconds"] = figure_times(args.figures_dir)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
