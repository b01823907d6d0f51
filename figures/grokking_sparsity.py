"""Effective sparsity and faithfulness over training (Merrill et al. 2023, Figs. 2 bottom and 3 right).

Panels: (a) effective sparsity (size of the active subnetwork, exact-sign criterion on the training inputs) per
seed, log scale, with test accuracy on a twin axis; (b) faithfulness on the test set of the final sparse set, its
complement and a random control of the same size (first seed). Reuses the ``grokking_accuracy`` runs.
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim
from .grokking_accuracy import PRESETS as ACCURACY_PRESETS
from .grokking_accuracy import cached_runs

NAME = "grokking_sparsity"
TITLE = "Grokking on sparse parity: the network sparsifies as it generalises; the sparse set becomes faithful (Merrill et al. 2023)"
REQUIRES = ("torch",)
PRESETS = {name: dict(preset, control_seed=0) for name, preset in ACCURACY_PRESETS.items()}


def _sparser(data, params):
    # worst over seeds: final effective sparsity / the one at the last sparsity check before memorisation (first seed's
    # memorisation epoch: the seeds share the schedule)
    epochs = np.asarray(data["sparsity_epochs"])
    t_mem = data["memorisation_epoch"]
    if t_mem is None:
        return float("nan"), False
    k = int(np.flatnonzero(epochs <= t_mem)[-1])
    ratio = max(s[-1] / s[k] for s in data["effective_sparsity"])
    return float(ratio), ratio <= 0.02


def _subnetwork_size(data, params):
    sizes = data["final_sparsity"]
    return max(sizes), all(6 <= s <= 8 for s in sizes)


def _faithful(data, params):
    # the final sparse set explains the network on the test set, while its complement's agreement degrades
    faith = data["faithfulness"]
    final, comp = faith["sparse"][-1], faith["complement"]
    return final, final >= 0.99 and comp[-1] <= max(comp) - 0.1


CLAIMS = (
    Claim("orders_of_magnitude_sparser",
          "The network becomes orders of magnitude sparser as it starts generalising (Merrill et al. 2023, Fig. 2 "
          "bottom): final effective sparsity / effective sparsity at memorisation, worst seed (<= 0.02 expected).",
          _sparser),
    Claim("dnf_sized_subnetwork",
          "The sparse subnetwork has the size of a DNF for the k = 3 parity: {6, 6, 6, 8, 8} neurons over 5 runs "
          "(spec deep_icl_grokking.md B.5): largest final active-subnetwork size over seeds (all in [6, 8] "
          "expected).", _subnetwork_size),
    Claim("sparse_set_faithful",
          "At the transition the sparse set comes to fully explain the network while the complement's agreement "
          "degrades (Fig. 3 right): final test-set faithfulness of the sparse set (>= 0.99, complement >= 0.1 below "
          "its peak, expected).", _faithful),
)


def compute(params: dict, progress: bool = False) -> dict:
    runs = cached_runs(params, progress)
    tracking = runs[0].subnetwork_tracking(control_seed=int(params["control_seed"]))
    final = runs[0].final_subnetwork()
    return {"seeds": list(params["seeds"]), "sparsity_epochs": runs[0].sparsity_epochs,
            "effective_sparsity": [r.effective_sparsity for r in runs], "epochs": runs[0].epochs,
            "test_accuracy": runs[0].test_accuracy, "tracking_epochs": tracking.epochs,
            "faithfulness": tracking.faithfulness, "final_sparse_size": final.size,
            "final_sparsity": [int(r.effective_sparsity[-1]) for r in runs],
            "memorisation_epoch": runs[0].memorisation_epoch, "generalisation_epoch": runs[0].generalisation_epoch}


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 2, width=3.6)
    ax = axes[0, 0]
    n = len(data["seeds"])
    style.seed_band(ax, data["sparsity_epochs"], np.maximum(np.asarray(data["effective_sparsity"], float), 1),
                    color="tab:blue", marker=".", label=f"sparsity, {n} seed(s)" + (f" ({style.BAND_MINMAX})"
                                                                                    if n > 1 else ""))
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("effective sparsity (units)")
    ax.set_title("(a) active-subnetwork size")
    twin = ax.twinx()
    twin.plot(data["epochs"], data["test_accuracy"], color="tab:red", lw=0.8, alpha=0.7,
              label=f"test accuracy (seed {data['seeds'][0]})")
    twin.set_ylabel("test accuracy (seed 0)", color="tab:red")
    twin.set_ylim(0.4, 1.02)
    twin.grid(False)
    style.legend_below(ax, *(a + b for a, b in zip(ax.get_legend_handles_labels(),
                                                     twin.get_legend_handles_labels())))
    ax = axes[0, 1]
    for name, colour in (("sparse", "tab:orange"), ("complement", "tab:blue"), ("control", "0.5")):
        ax.plot(data["tracking_epochs"], data["faithfulness"][name], color=colour, label=name)
    for epoch, ls in ((data["memorisation_epoch"], "--"), (data["generalisation_epoch"], ":")):
        if epoch is not None:
            ax.axvline(epoch, color="k", ls=ls, lw=0.8)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("faithfulness on test set")
    ax.set_title(f"(b) final sparse set: {data['final_sparse_size']} units")
    style.legend_below(ax, ncol=3)
    return fig
