"""Flavors of margin: GD, sign descent, greedy coordinate descent and Adam on a bias-free 2-layer ReLU net
(Tsilivis, Vardi, Kempe 2025, experiments in the spirit of their Fig. 1; spec margins.md §4).

Setting: scikit-learn digits (a binary pair, pixels in [0, 1]), ``f(x) = a^T relu(W x)`` without biases (L = 2),
float64, full batch, summed exponential loss. Every optimizer is fed ``grad log L`` (the same direction as
``grad L``, free of underflow; normalized steepest steps are invariant to this rescaling, Adam only through eps).
GD, sign and CD use *normalized* steps with a fixed lr (``deep.optim.SteepestDescent(normalized=True)``, global
scope); Adam uses torch's Adam with the given betas and eps. Logged on a log-spaced schedule: normalized margins
``q_min / ||theta||^2`` in l1, l2 and linf, the smoothed margins, the alignment ``beta`` in the algorithm's own
norm (``1 - beta`` = Fenchel-Young stationarity gap of the flow direction) and train/test accuracy; at the end the
KKT residual of the margin problem in the own norm (``deep.margins.kkt_residual_network``).

Panels: (a) own-norm normalized margin, (b) own-norm smoothed margin, (c) the final algorithm x flavor matrix
(each column divided by its maximum: a dominant diagonal means each algorithm wins its own geometry), (d) 1 - beta.
Paper preset (GPU or a long CPU run): n_train 500, width 256, 2e5 steps.
"""
from __future__ import annotations

import math

import numpy as np

from . import style

NAME = "margins_steepest_descent"
TITLE = "Flavors of margin: GD / sign / coordinate descent / Adam grow their own margins (Tsilivis et al. 2025)"
REQUIRES = ("torch",)
OWN_NORM = {"gd": "l2", "sign": "linf", "cd": "l1", "adam": "linf"}
PRESETS = {
    "quick": dict(pair=[0, 1], n_train=100, n_test=200, width=32, init_scale=1.0, steps=6000, points=40,
                  algorithms=["gd", "sign", "cd", "adam"], lr={"gd": 0.05, "sign": 1e-3, "cd": 0.02, "adam": 1e-3},
                  adam_betas=[0.9, 0.999], adam_eps=1e-16, seed=0, kkt=True),
    "paper": dict(pair=[0, 1], n_train=500, n_test=500, width=256, init_scale=1.0, steps=200000, points=80,
                  algorithms=["gd", "sign", "cd", "adam"], lr={"gd": 0.02, "sign": 2e-4, "cd": 0.01, "adam": 2e-4},
                  adam_betas=[0.9, 0.999], adam_eps=1e-16, seed=0, kkt=True),
}


def _optimizer(name, params, lr, betas, eps):
    import torch

    from deep.optim import SteepestDescent

    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), eps=eps)
    return SteepestDescent(params, lr=lr, norm=OWN_NORM[name], normalized=True)


def run_algorithm(name: str, params: dict, progress: bool = False) -> dict:
    """Train one algorithm from the shared initialisation; return its tracked history and final KKT residual."""
    import torch

    from deep.data import digits_binary
    from deep.margins import MarginTracker, kkt_residual_network, log_loss, log_schedule, pair_margins
    from deep.models import HomogeneousMLP

    dtype = torch.float64
    data = digits_binary(tuple(params["pair"]), n_train=params["n_train"], n_test=params["n_test"],
                         seed=params["seed"], device="cpu", dtype=dtype)
    gen = torch.Generator().manual_seed(int(params["seed"]))
    model = HomogeneousMLP(data.n_features, [params["width"]], init_scale=params["init_scale"], generator=gen,
                           dtype=dtype)
    opt = _optimizer(name, model.parameters(), float(params["lr"][name]), params["adam_betas"], params["adam_eps"])
    steps = int(params["steps"])
    own = OWN_NORM[name]
    tracker = MarginTracker(model, data.X_train, data.y_train, steps=log_schedule(steps, int(params["points"])),
                            norms=("l1", "l2", "linf"), X_test=data.X_test, y_test=data.y_test,
                            alignment_norms=(own,))
    first_fit = None
    for step in range(steps + 1):
        row = tracker(step)
        if row is not None and first_fit is None and row["accuracy"] == 1.0:
            first_fit = step
        if step == steps:
            break
        opt.zero_grad(set_to_none=True)
        log_loss(pair_margins(model(data.X_train), data.y_train)).backward()
        opt.step()
    out = {"history": tracker.to_dict(), "own_norm": own, "first_fit_logged": first_fit}
    if params["kkt"] and tracker.history["q_min"][-1] > 0:
        res = kkt_residual_network(model, data.X_train, data.y_train, own)
        out["kkt"] = {k: v for k, v in res.to_dict().items() if k != "lambdas"}
    return out


def compute(params: dict, progress: bool = False) -> dict:
    runs = {name: run_algorithm(name, params, progress) for name in params["algorithms"]}
    flavors = ["l1", "l2", "linf"]
    matrix = [[runs[a]["history"][f"margin_{f}"][-1] for f in flavors] for a in params["algorithms"]]
    return {"algorithms": list(params["algorithms"]), "flavors": flavors, "runs": runs, "final_margins": matrix}


def plot(data: dict, params: dict):
    fig, axes = style.subplots(2, 2, width=3.6, height=2.7)
    colours = dict(zip(data["algorithms"], style.palette(len(data["algorithms"]))))
    for name in data["algorithms"]:
        run = data["runs"][name]
        hist = run["history"]
        steps = np.maximum(np.asarray(hist["step"], float), 1)
        own = run["own_norm"]
        label = f"{name} ({own})"
        axes[0, 0].plot(steps, hist[f"margin_{own}"], color=colours[name], label=label)
        axes[0, 1].plot(steps, hist[f"smoothed_{own}"], color=colours[name], label=label)
        gap = np.maximum(1 - np.asarray(hist[f"beta_{own}"], float), 1e-16)
        axes[1, 1].plot(steps, gap, color=colours[name], label=label)
        if run["first_fit_logged"] is not None:
            axes[0, 0].axvline(max(run["first_fit_logged"], 1), color=colours[name], ls=":", lw=0.8)
    for ax, title in ((axes[0, 0], "(a) own-norm margin q_min/||θ||²"), (axes[0, 1], "(b) own-norm smoothed margin"),
                      (axes[1, 1], "(d) 1 − β (own norm)")):
        ax.set_xscale("log")
        ax.set_xlabel("step")
        ax.set_title(title)
        ax.legend(loc="best")
    axes[0, 1].set_ylim(bottom=max(axes[0, 1].get_ylim()[0], -0.5 * abs(axes[0, 1].get_ylim()[1])))
    axes[1, 1].set_yscale("log")
    matrix = np.asarray(data["final_margins"], float)
    scaled = matrix / np.abs(matrix).max(0, keepdims=True)
    ax = axes[1, 0]
    ax.imshow(scaled, cmap="viridis", vmin=min(0.0, scaled.min()), vmax=1.0)
    ax.set_xticks(range(len(data["flavors"])), data["flavors"])
    ax.set_yticks(range(len(data["algorithms"])), data["algorithms"])
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, f"{scaled[i, j]:.2f}", ha="center", va="center", color="w", fontsize=7)
    ax.grid(False)
    ax.set_title("(c) final margin / column max")
    fig.tight_layout()
    return fig
