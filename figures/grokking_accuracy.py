"""Grokking on (40, 3)-sparse parity: train/test accuracy with the grokking gap (Merrill et al. 2023, Fig. 2).

Panels: (a) train and test accuracy per epoch (mean over seeds; t_mem = train >= 0.98, t_gen = test >= 0.95 marked
and the gap shaded for the first seed); (b) train/test hinge loss. The training runs are cached in this module and
reused by ``grokking_neuron_norms`` and ``grokking_sparsity``.
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim

NAME = "grokking_accuracy"
TITLE = "Grokking on sparse parity: memorisation then delayed generalisation (Merrill, Tsilivis, Shukla 2023)"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(n_bits=40, k=3, n_train=1000, n_test=2000, width=1000, learning_rate=0.1, weight_decay=0.01,
                  batch_size=32, epochs=250, sparsity_every=10, seeds=[0], device=None),
    # the paper's configuration is CPU-sized (about 20 s per seed); 5 seeds as in the paper
    "paper": dict(n_bits=40, k=3, n_train=1000, n_test=2000, width=1000, learning_rate=0.1, weight_decay=0.01,
                  batch_size=32, epochs=300, sparsity_every=5, seeds=[0, 1, 2, 3, 4], device=None),
}

_RUNS: dict = {}


def _chance_at_memorisation(data, params):
    # worst over seeds: test accuracy at the epoch where train accuracy first reaches 0.98
    epochs, accs = list(data["epochs"]), []
    for test, t_mem in zip(data["test_accuracy"], data["memorisation_epoch"]):
        if t_mem is None:
            return float("nan"), False
        accs.append(test[epochs.index(t_mem)])
    return max(accs), max(accs) <= 0.6


def _delayed_generalisation(data, params):
    # every seed generalises (test >= 0.95 at the end) at least 20 epochs after memorising; value: shortest delay
    gaps = data["gap"]
    if any(g is None for g in gaps):
        return float("nan"), False
    final_ok = all(test[-1] >= 0.95 for test in data["test_accuracy"])
    return min(gaps), final_ok and min(gaps) >= 20


CLAIMS = (
    Claim("memorise_at_chance",
          "The network first fits the training set while test accuracy stays at chance (Merrill et al. 2023, "
          "Fig. 2): test accuracy at the memorisation epoch (train >= 0.98), worst seed (<= 0.6 expected).",
          _chance_at_memorisation),
    Claim("delayed_perfect_generalisation",
          "After a long plateau test accuracy jumps to flawless prediction (grokking; Fig. 2): epochs from "
          "memorisation to test >= 0.95, shortest over seeds (>= 20, with final test accuracy >= 0.95, expected).",
          _delayed_generalisation),
)


def grokking_config(params: dict, seed: int):
    from deep.grokking.training import GrokkingConfig

    return GrokkingConfig(n_bits=int(params["n_bits"]), k=int(params["k"]), n_train=int(params["n_train"]),
                          n_test=int(params["n_test"]), width=int(params["width"]),
                          learning_rate=float(params["learning_rate"]), weight_decay=float(params["weight_decay"]),
                          batch_size=int(params["batch_size"]), epochs=int(params["epochs"]),
                          sparsity_every=int(params["sparsity_every"]), seed=int(seed),
                          device=params.get("device"))


def cached_runs(params: dict, progress: bool = False) -> list:
    """train_parity for every seed of ``params``, memoised for the life of the process."""
    from deep.grokking.training import train_parity

    runs = []
    for seed in params["seeds"]:
        config = grokking_config(params, seed)
        if config not in _RUNS:
            _RUNS[config] = train_parity(config, progress=progress)
        runs.append(_RUNS[config])
    return runs


def compute(params: dict, progress: bool = False) -> dict:
    runs = cached_runs(params, progress)
    return {"seeds": list(params["seeds"]), "epochs": runs[0].epochs,
            "train_accuracy": [r.train_accuracy for r in runs], "test_accuracy": [r.test_accuracy for r in runs],
            "train_loss": [r.train_loss for r in runs], "test_loss": [r.test_loss for r in runs],
            "memorisation_epoch": [r.memorisation_epoch for r in runs],
            "generalisation_epoch": [r.generalisation_epoch for r in runs],
            "gap": [None if r.memorisation_epoch is None or r.generalisation_epoch is None
                    else r.generalisation_epoch - r.memorisation_epoch for r in runs]}


def _mean_band(ax, x, curves, colour, label):
    curves = np.asarray(curves, float)
    mean = curves.mean(0)
    ax.plot(x, mean, color=colour, label=label)
    if curves.shape[0] > 1:
        ax.fill_between(x, curves.min(0), curves.max(0), color=colour, alpha=0.2, lw=0)


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 2, width=3.6)
    epochs = np.asarray(data["epochs"])
    ax = axes[0, 0]
    _mean_band(ax, epochs, data["train_accuracy"], "tab:blue", "train")
    _mean_band(ax, epochs, data["test_accuracy"], "tab:red", "test")
    t_mem, t_gen = data["memorisation_epoch"][0], data["generalisation_epoch"][0]
    if t_mem is not None:
        ax.axvline(t_mem, color="tab:blue", ls="--", lw=1)
    if t_gen is not None:
        ax.axvline(t_gen, color="tab:red", ls="--", lw=1)
    if t_mem is not None and t_gen is not None:
        ax.axvspan(t_mem, t_gen, color="0.85", alpha=0.6, lw=0, label=f"gap {t_gen - t_mem} epochs")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.4, 1.02)
    n = len(data["seeds"])
    ax.set_title(f"(a) accuracy, {n} seed(s)" + (f" ({style.BAND_MINMAX})" if n > 1 else ""), fontsize=8)
    ax.legend(loc="lower right")
    ax = axes[0, 1]
    _mean_band(ax, epochs, data["train_loss"], "tab:blue", "train")
    _mean_band(ax, epochs, data["test_loss"], "tab:red", "test")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("hinge loss")
    ax.set_title("(b) loss")
    ax.legend(loc="lower left")
    return fig
