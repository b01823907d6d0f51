"""Neural collapse under attack (Su, Zhang, Tsilivis, Kempe 2024; spec deep_robustness_ntk.md §3): NC1 over epochs
for ST / PGD-AT / TRADES on clean and perturbed training data, per-layer NC1 and the leap fractions.

Quick preset: scikit-learn digits (10 classes, 1257 train images in [0, 1]), bias-free MLP 64-256-256-10,
SGD momentum 0.9, lr 0.05 dropped 10x at 50 % / 75 % of the epochs, wd 5e-4, batch 128, linf eps = 0.1 (PGD-5 for
training and evaluation, step 2.5 eps / 5). Paper preset (GPU): 64-512-512-512-10, 400 epochs, PGD-10,
milestones 25 % / 37.5 % as in the public code (CIFAR-scale VGG/ResNet needs local data and is not wired here).
"""
from __future__ import annotations

import numpy as np

from . import style

NAME = "neural_collapse_attack"
TITLE = "Neural collapse under attack: NC1 over epochs (ST / PGD-AT / TRADES), per-layer NC1, leap fractions"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(widths=[256, 256], epochs=120, log_every=10, eps=0.1, attack_steps=5, lr=0.05,
                  milestones=[0.5, 0.75], regimes=["standard", "pgd_at", "trades"], seed=0, n_eval=600),
    "paper": dict(widths=[512, 512, 512], epochs=400, log_every=10, eps=0.1, attack_steps=10, lr=0.05,
                  milestones=[0.25, 0.375], regimes=["standard", "pgd_at", "trades"], seed=0, n_eval=1257),
}
KINDS = ("clean", "pgd", "targeted", "gaussian", "sign")


def compute(params: dict, progress: bool = False) -> dict:
    import torch

    from deep.collapse import train_with_collapse
    from deep.data import digits_multiclass
    from deep.device import default_device, generator_for
    from deep.models import HomogeneousMLP

    dev = default_device()
    data = digits_multiclass(seed=int(params["seed"]), device=dev)
    n_eval = min(int(params["n_eval"]), data.X_train.shape[0])
    out = {"regimes": {}, "kinds": list(KINDS)}
    for regime in params["regimes"]:
        gen = generator_for(int(params["seed"]), dev)
        net = HomogeneousMLP(64, list(params["widths"]), 10, generator=torch.Generator().manual_seed(
            int(params["seed"]))).to(dev)
        res = train_with_collapse(net, data.X_train, data.y_train, regime, epochs=int(params["epochs"]),
                                  eps=float(params["eps"]), lr=float(params["lr"]),
                                  milestones=tuple(params["milestones"]), attack_steps=int(params["attack_steps"]),
                                  log_every=int(params["log_every"]), eval_x=data.X_train[:n_eval],
                                  eval_y=data.y_train[:n_eval], generator=gen)
        out["regimes"][regime] = {
            "epochs": res["epochs"],
            "nc1": {k: [r[k]["nc1"] for r in res["reports"]] for k in KINDS},
            "nc4": {k: [r[k]["nc4"] for r in res["reports"]] for k in KINDS},
            "accuracy": {k: [r[k]["accuracy"] for r in res["reports"]] for k in KINDS},
            "ncc_accuracy": {k: [r[k]["ncc_accuracy"] for r in res["reports"]] for k in KINDS},
            "nc1_layers": {k: res["reports"][-1][k]["nc1_layers"] for k in KINDS},
            "ncc_accuracy_layers": {k: res["reports"][-1][k]["ncc_accuracy_layers"] for k in KINDS},
            "leap": {k: res["reports"][-1][k]["leap"]["fraction_at_group"] for k in KINDS},
            "angle_targeted": res["reports"][-1]["targeted"]["leap"]["angle_centred"],
            "final": {k: {m: res["reports"][-1][k][m] for m in ("nc1", "nc1_papyan", "nc2_norm", "nc2_angle",
                                                                   "nc3", "nc4", "accuracy", "ncc_accuracy")}
                      for k in KINDS},
        }
    return out


def plot(data: dict, params: dict):
    regimes = list(data["regimes"])
    labels = {"standard": "ST", "pgd_at": "PGD-AT", "trades": "TRADES"}
    colours = {"clean": "k", "pgd": "tab:red", "targeted": "tab:purple", "gaussian": "tab:green",
               "sign": "tab:olive"}
    fig, axes = style.subplots(2, len(regimes), width=3.2, height=2.5)
    for j, regime in enumerate(regimes):
        d = data["regimes"][regime]
        ax = axes[0, j]
        for k in data["kinds"]:
            ax.semilogy(d["epochs"], d["nc1"][k], color=colours[k], label=k, marker="o", ms=2.5)
        ax.set_title(f"{labels.get(regime, regime)}: NC1 on train data")
        ax.set_xlabel("epoch")
        ax.set_ylabel(r"NC1 = Tr$(\Sigma_W\Sigma_B^+)$")
        if j == 0:
            ax.legend(ncol=2, fontsize=6.5)
        ax = axes[1, j]
        L = len(d["nc1_layers"]["clean"])
        xs = np.arange(1, L + 1)
        width = 0.8 / len(data["kinds"])
        for i, k in enumerate(data["kinds"]):
            ax.bar(xs + (i - 2) * width, d["nc1_layers"][k], width, color=colours[k], label=k)
        ax.set_yscale("log")
        ax.set_xticks(xs)
        ax.set_xlabel("hidden layer")
        ax.set_ylabel("NC1 (final epoch)")
        leapt = d["leap"]["targeted"]
        stayed = 1 - d["leap"]["pgd"]
        ax.set_title(f"per layer (leap: targeted {leapt:.2f},\nPGD left own vertex {stayed:.2f})", fontsize=8)
    fig.tight_layout()
    return fig
