"""Neuron-norm trajectories of the sparse and dense subnetworks (Merrill et al. 2023, Figs. 3 left and 5).

Panels: (a) ||W_i|| over epochs for every unit of the final active subnetwork (colour) and 60 random other units
(grey); (b) mean norm of the sparse set, its complement and a random control of the same size. First seed of the
``grokking_accuracy`` runs (shared cache).
"""
from __future__ import annotations

import numpy as np

from . import style
from .grokking_accuracy import PRESETS as ACCURACY_PRESETS
from .grokking_accuracy import cached_runs

NAME = "grokking_neuron_norms"
TITLE = "Grokking on sparse parity: sparse-subnetwork neurons grow while the dense ones die out (Merrill et al. 2023)"
REQUIRES = ("torch",)
PRESETS = {name: dict(preset, shown_others=60, control_seed=0) for name, preset in ACCURACY_PRESETS.items()}


def compute(params: dict, progress: bool = False) -> dict:
    run = cached_runs(params, progress)[0]
    tracking = run.subnetwork_tracking(control_seed=int(params["control_seed"]))
    sparse = tracking.sets["sparse"]
    others = np.setdiff1d(np.arange(run.config.width), sparse)
    rng = np.random.default_rng(int(params["control_seed"]))
    shown = np.sort(rng.choice(others, size=min(int(params["shown_others"]), len(others)), replace=False))
    return {"epochs": run.epochs, "sparse_units": sparse, "other_units": shown,
            "sparse_norms": run.neuron_norms[:, sparse].T, "other_norms": run.neuron_norms[:, shown].T,
            "mean_norm": tracking.mean_norm, "tracking_epochs": tracking.epochs,
            "memorisation_epoch": run.memorisation_epoch, "generalisation_epoch": run.generalisation_epoch}


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 2, width=3.6)
    epochs = np.asarray(data["epochs"])
    ax = axes[0, 0]
    for curve in data["other_norms"]:
        ax.plot(epochs, curve, color="0.7", lw=0.6)
    colours = style.palette(max(len(data["sparse_norms"]), 1))
    for colour, curve in zip(colours, data["sparse_norms"]):
        ax.plot(epochs, curve, color=colour, lw=1.4)
    ax.plot([], [], color="0.7", label="dense units (sample)")
    ax.plot([], [], color=colours[0], label=f"sparse subnetwork ({len(data['sparse_norms'])} units)")
    for epoch, ls in ((data["memorisation_epoch"], "--"), (data["generalisation_epoch"], ":")):
        if epoch is not None:
            ax.axvline(epoch, color="k", ls=ls, lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("||W_i||")
    ax.set_title("(a) neuron norms (-- t_mem, : t_gen)")
    ax.legend(loc="upper left")
    ax = axes[0, 1]
    for name, colour in (("sparse", "tab:orange"), ("complement", "tab:blue"), ("control", "0.5")):
        ax.plot(data["tracking_epochs"], data["mean_norm"][name], color=colour, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean ||W_i|| over the set")
    ax.set_title("(b) average norm per subnetwork")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig
