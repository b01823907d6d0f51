"""Kernel dynamics during standard vs adversarial training (Tsilivis & Kempe 2022, claim (c); spec §1.2, §1.4
item 3): empirical NTK (output-averaged) of a fixed clean probe set after every epoch for clean, FGSM-AT and PGD-AT
training of an NTK-parameterised MLP on 10-class digits: kernel distance to the final kernel, polar radius/angle,
top-k eigen-mass, kernel-target alignment."""
from __future__ import annotations

import numpy as np

from . import style

NAME = "ntk_dynamics"
TITLE = "Empirical NTK dynamics: clean vs FGSM vs PGD adversarial training (distance, polar, eigen-mass)"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(n_train=600, n_probe=60, width=128, depth=2, epochs=20, lr=0.5, batch_size=100, eps=0.1,
                  attack_steps=5, methods=["clean", "fgsm", "pgd"], top_k=10, seed=0),
    "paper": dict(n_train=1437, n_probe=100, width=512, depth=2, epochs=100, lr=0.5, batch_size=128, eps=0.1,
                  attack_steps=10, methods=["clean", "fgsm", "pgd"], top_k=20, seed=0),
}


def compute(params: dict, progress: bool = False) -> dict:
    import torch

    from deep.data import digits_multiclass
    from deep.ntk import (NTKMLP, eigen_mass, kernel_distance, kernel_target_alignment, polar_dynamics,
                          track_ntk)
    from deep.ntk.kernel_utils import one_hot

    d = digits_multiclass(n_train=params["n_train"], n_test=50, seed=params["seed"], device="cpu")
    Xp, yp = d.X_train[:params["n_probe"]], d.y_train[:params["n_probe"]]
    out = {}
    for method in params["methods"]:
        gen = torch.Generator().manual_seed(params["seed"])
        net = NTKMLP(64, [params["width"]] * params["depth"], 10, generator=gen, squeeze=False)
        tr = track_ntk(net, d.X_train, d.y_train, Xp, params["epochs"], params["lr"], method, params["eps"],
                       params["attack_steps"], params["batch_size"], mode="mean", generator=gen)
        Ks = [K.double() for K in tr["kernels"]]
        pol = polar_dynamics(Ks)
        out[method] = {"epochs": tr["epochs"], "train_acc": tr["train_acc"],
                       "dist_final": [kernel_distance(K, Ks[-1]) for K in Ks],
                       "radius": pol["radius"].tolist(), "angle": pol["angle"].tolist(),
                       "mass": [eigen_mass(K, params["top_k"]) for K in Ks],
                       "alignment": [kernel_target_alignment(K, one_hot(yp, 10)) for K in Ks]}
    return out


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 4, width=2.8)
    colours = {"clean": "tab:blue", "fgsm": "tab:orange", "pgd": "tab:red"}
    for m, r in data.items():
        c = colours.get(m, "k")
        axes[0, 0].plot(r["epochs"], r["dist_final"], "-", color=c, label=m)
        axes[0, 1].plot(np.asarray(r["radius"]) * np.cos(r["angle"]), np.asarray(r["radius"]) * np.sin(r["angle"]),
                        "-o", ms=2, color=c, label=m)
        axes[0, 2].plot(r["epochs"], r["mass"], "-", color=c, label=m)
        axes[0, 3].plot(r["epochs"], r["alignment"], "-", color=c, label=m)
    axes[0, 0].set(xlabel="epoch", ylabel=r"$1 - S(K_t, K_T)$", title="distance to final kernel")
    axes[0, 1].set(xlabel=r"$r_t\cos\phi_t$", ylabel=r"$r_t\sin\phi_t$", title="polar dynamics (full space)")
    axes[0, 2].set(xlabel="epoch", ylabel=f"$m_{{{params['top_k']}}}$", title="top-k eigen-mass")
    axes[0, 3].set(xlabel="epoch", ylabel="alignment", title="kernel-target alignment")
    axes[0, 0].legend()
    fig.tight_layout()
    return fig
