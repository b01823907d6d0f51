"""Neuron-norm trajectories of the sparse and dense subnetworks (Merrill et al. 2023, Figs. 3 left and 5).

Panels: (a) ||W_i|| over epochs for every unit of the final active subnetwork (colour) and 60 random other units
(grey); (b) mean norm of the sparse set, its complement and a random control of the same size. First seed of the
``grokking_accuracy`` runs (shared cache).
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim
from .grokking_accuracy import PRESETS as ACCURACY_PRESETS
from .grokking_accuracy import cached_runs

NAME = "grokking_neuron_norms"
TITLE = "Grokking on sparse parity: sparse-subnetwork neurons grow while the dense ones die out (Merrill et al. 2023)"
REQUIRES = ("torch",)
PRESETS = {name: dict(preset, shown_others=60, control_seed=0) for name, preset in ACCURACY_PRESETS.items()}


def _norm_at(data, name, epoch):
    return data["mean_norm"][name][list(data["tracking_epochs"]).index(epoch)]


def _sparse_grows_dense_decays(data, params):
    # final mean norm of the sparse set / its complement's, with the sparse norm regrowing >= 2x from its minimum
    sparse, dense = np.asarray(data["mean_norm"]["sparse"]), np.asarray(data["mean_norm"]["complement"])
    ratio = float(sparse[-1] / dense[-1])
    return ratio, ratio >= 10 and sparse[-1] >= 2 * sparse.min()


def _growth_starts_before_grokking(data, params):
    # the sparse set's norm turns (its minimum) before the generalisation epoch, and the sparse and dense means are
    # still similar (ratio <= 1.5) at memorisation; value: epoch of the minimum
    epochs, sparse = np.asarray(data["tracking_epochs"]), np.asarray(data["mean_norm"]["sparse"])
    t_min, t_gen, t_mem = int(epochs[np.argmin(sparse)]), data["generalisation_epoch"], data["memorisation_epoch"]
    if t_gen is None or t_mem is None:
        return t_min, False
    similar = _norm_at(data, "sparse", t_mem) / _norm_at(data, "complement", t_mem) <= 1.5
    return t_min, t_min < t_gen and similar


def _most_neurons_die(data, params):
    dense = np.asarray(data["mean_norm"]["complement"])
    ratio = float(dense[-1] / dense[0])
    return ratio, ratio <= 0.1


CLAIMS = (
    Claim("sparse_grows_dense_decays",
          "Grokking is a competition of two subnetworks: a small set of neurons undergoes rapid norm growth while "
          "the others decay (Merrill et al. 2023, abstract, Figs. 3 left and 5): final mean norm of the sparse set "
          "/ its complement (>= 10, sparse norm regrowing >= 2x from its minimum, expected).",
          _sparse_grows_dense_decays),
    Claim("growth_starts_before_transition",
          "The norms are similar until slightly before the grokking transition, when the generalizing subnetwork's "
          "norm begins to grow (Fig. 3 left): epoch where the sparse set's mean norm turns upward (before the "
          "generalisation epoch, sparse/complement <= 1.5 at memorisation, expected).",
          _growth_starts_before_grokking),
    Claim("most_neurons_driven_to_zero",
          "Most neurons are driven to zero norm (Fig. 5): final / initial mean norm of the complement of the "
          "sparse set (<= 0.1 expected).", _most_neurons_die),
)


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
    style.legend_below(ax)
    ax = axes[0, 1]
    for name, colour in (("sparse", "tab:orange"), ("complement", "tab:blue"), ("control", "0.5")):
        ax.plot(data["tracking_epochs"], data["mean_norm"][name], color=colour, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean ||W_i|| over the set")
    ax.set_title("(b) average norm per subnetwork")
    style.legend_below(ax, ncol=3)
    return fig
