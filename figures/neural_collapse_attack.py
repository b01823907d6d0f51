"""Neural collapse under attack (Su, Zhang, Tsilivis, Kempe 2024; spec deep_robustness_ntk.md §3): NC1-NC4 over
epochs for ST / PGD-AT / TRADES on clean and perturbed training data, the angle between clean and perturbed class
means, NCC accuracy per layer, and the targeted "leap" to the target vertex.

Quick preset: scikit-learn digits, balanced 50 images per class (500), bias-free MLP 64-128-128-10, SGD momentum
0.9, lr 0.1 dropped 10x at 70 % / 85 % of 150 epochs, weight decay 1e-3, batch 50, cross-entropy with label
smoothing 0.3 (plain CE plateaus at Papyan NC1 0.3-0.9 on this net: it never enters the terminal phase; see
``deep.collapse.regimes``). linf eps = 0.1, PGD-3 for training, PGD-10 for evaluation; the targeted attack uses
eps 0.3 and 50 steps so that it reaches its target (``(y + 1) mod 10``) for >= 90 % of the points of the ST net.
Paper preset (GPU): all 1257 training images, 64-512-512-512-10, 400 epochs, milestones 25 % / 37.5 %, PGD-10.
"""
from __future__ import annotations

import math

import numpy as np

from . import style
from .claims import Claim

NAME = "neural_collapse_attack"
TITLE = ("Neural collapse under attack (digits MLP): ST collapses and PGD undoes it, targeted points leap to "
         "the target vertex; AT / TRADES keep the simplex")
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(widths=[128, 128], per_class=50, epochs=150, log_every=10, eps=0.1, attack_steps=3,
                  eval_steps=10, targeted_eps=0.3, targeted_steps=50, lr=0.1, weight_decay=1e-3, batch_size=50,
                  label_smoothing=0.3, milestones=[0.7, 0.85], regimes=["standard", "pgd_at", "trades"], seed=0,
                  device=None),
    "paper": dict(widths=[512, 512, 512], per_class=None, epochs=400, log_every=10, eps=0.1, attack_steps=10,
                  eval_steps=20, targeted_eps=0.3, targeted_steps=100, lr=0.05, weight_decay=5e-4, batch_size=128,
                  label_smoothing=0.3, milestones=[0.25, 0.375], regimes=["standard", "pgd_at", "trades"], seed=0,
                  device=None),
}
KINDS = ("clean", "pgd", "targeted", "gaussian", "sign")
NUM_CLASSES = 10
METRICS = ("nc1_papyan", "nc2_norm", "nc2_angle", "nc3", "nc4", "angle", "accuracy", "ncc_accuracy",
           "group_success")


def compute(params: dict, progress: bool = False) -> dict:
    import torch

    from deep.collapse import balanced_subset, train_with_collapse
    from deep.data import digits_multiclass
    from deep.device import default_device
    from deep.models import HomogeneousMLP

    dev = default_device(params.get("device"))
    seed = int(params["seed"])
    data = digits_multiclass(seed=seed, device=dev)
    X, y = data.X_train, data.y_train
    if params.get("per_class"):
        X, y = balanced_subset(X, y, int(params["per_class"]))
    out = {"regimes": {}, "kinds": list(KINDS), "n_train": int(X.shape[0])}
    for regime in params["regimes"]:
        gen = torch.Generator().manual_seed(seed)        # CPU draws, moved to the device (device discipline)
        net = HomogeneousMLP(64, list(params["widths"]), NUM_CLASSES,
                             generator=torch.Generator().manual_seed(seed)).to(dev)
        res = train_with_collapse(net, X, y, regime, epochs=int(params["epochs"]), eps=float(params["eps"]),
                                  lr=float(params["lr"]), weight_decay=float(params["weight_decay"]),
                                  batch_size=int(params["batch_size"]), milestones=tuple(params["milestones"]),
                                  attack_steps=int(params["attack_steps"]), eval_steps=int(params["eval_steps"]),
                                  targeted_eps=float(params["targeted_eps"]),
                                  targeted_steps=int(params["targeted_steps"]),
                                  label_smoothing=float(params["label_smoothing"]),
                                  log_every=int(params["log_every"]), generator=gen)
        reps = res["reports"]
        out["regimes"][regime] = {
            "epochs": res["epochs"],
            "train_accuracy": res["train_accuracy"][-1],
            "series": {m: {k: [r[k][m] for r in reps] for k in KINDS} for m in METRICS},
            "nc1_layers": {k: [v / NUM_CLASSES for v in reps[-1][k]["nc1_layers"]] for k in KINDS},   # Papyan
            "ncc_accuracy_layers": {k: reps[-1][k]["ncc_accuracy_layers"] for k in KINDS},
            "leap": {k: reps[-1][k]["leap"]["fraction_at_group"] for k in KINDS},
            "final": {k: {m: reps[-1][k][m] for m in METRICS} for k in KINDS},
        }
    return out


# ---- claims (measured on the JSON data) -------------------------------------------------------------------------

def _final(data, regime, kind, metric):
    return float(data["regimes"][regime]["final"][kind][metric])


def _pgd_ratio(data, regime):
    return _final(data, regime, "pgd", "nc1_papyan") / _final(data, regime, "clean", "nc1_papyan")


def _clean_collapse(data, params):
    v = _final(data, "standard", "clean", "nc1_papyan")
    return v, v <= 0.1


def _pgd_undoes_collapse(data, params):
    r = _pgd_ratio(data, "standard")
    return r, r >= 10


def _targeted_leap(data, params):
    success = _final(data, "standard", "targeted", "group_success")
    leapt = float(data["regimes"]["standard"]["leap"]["targeted"])
    return f"reach {success:.2f}, leap {leapt:.2f}", success >= 0.9 and leapt >= 0.5


def _robust_keeps_simplex(regime):
    def measure(data, params):
        r, r_st = _pgd_ratio(data, regime), _pgd_ratio(data, "standard")
        return r / r_st, r <= 0.5 * r_st
    return measure


CLAIMS = (
    Claim("st_clean_collapse", "Standard training reaches neural collapse on clean training data "
          "(Papyan NC1 = Tr(S_W S_B^+)/C <= 0.1 at the last epoch; §3, Fig. 2)", _clean_collapse),
    Claim("pgd_undoes_collapse", "PGD perturbations of the training data undo the collapse of a standard net "
          "(NC1 under PGD >= 10x clean NC1; §3, 'the simplex disappears')", _pgd_undoes_collapse),
    Claim("targeted_leap", "A targeted attack that reaches its target class (>= 90 %) moves the perturbed features "
          "to the target class-mean vertex (>= 50 % nearest to it; §3 'leap')", _targeted_leap),
    Claim("pgd_at_keeps_simplex", "PGD-AT nets stay collapsed on perturbed data: their PGD-to-clean NC1 ratio is "
          "at most half that of standard training (value: ratio AT / ratio ST; §4)", _robust_keeps_simplex("pgd_at")),
    Claim("trades_keeps_simplex", "TRADES nets' PGD-to-clean NC1 ratio is at most half that of standard training "
          "(value: ratio TRADES / ratio ST; §4)", _robust_keeps_simplex("trades")),
)


# ---- plot ---------------------------------------------------------------------------------------------------------

_LABELS = {"standard": "ST", "pgd_at": "PGD-AT", "trades": "TRADES"}
_COLOURS = {"clean": "k", "pgd": "tab:red", "targeted": "tab:purple", "gaussian": "tab:green", "sign": "tab:olive"}


def _clean(values):
    return [math.nan if v is None else v for v in values]


def plot(data: dict, params: dict):
    regimes = list(data["regimes"])
    kinds = data["kinds"]
    fig, axes = style.subplots(5, len(regimes), width=3.2, height=2.2)
    for j, regime in enumerate(regimes):
        d = data["regimes"][regime]
        ep, s = d["epochs"], d["series"]
        ax = axes[0, j]
        for k in kinds:
            ax.semilogy(ep, _clean(s["nc1_papyan"][k]), color=_COLOURS[k], marker="o", ms=2)
        ax.axhline(0.1, color="gray", lw=0.6, ls=":")
        ax.set_title(f"{_LABELS.get(regime, regime)}: NC1 (Papyan) on train data", fontsize=8)
        ax.set_ylabel(r"Tr$(\Sigma_W\Sigma_B^+)/C$")
        ax = axes[1, j]
        for k in ("clean", "pgd"):
            for m, ls in (("nc2_norm", "-"), ("nc2_angle", "--"), ("nc3", "-."), ("nc4", ":")):
                ax.semilogy(ep, np.maximum(_clean(s[m][k]), 1e-4), color=_COLOURS[k], ls=ls)
        ax.set_title("NC2 norm (-), NC2 angle (--), NC3 (-.), NC4 (:)", fontsize=7)
        ax.set_ylabel("clean / PGD")
        ax = axes[2, j]
        for k in kinds:
            if k != "clean":
                ax.plot(ep, _clean(s["angle"][k]), color=_COLOURS[k], marker="o", ms=2)
        ax.set_ylabel("angle clean vs\nperturbed means (deg)")
        ax.set_xlabel("epoch")
        ax = axes[3, j]
        L = len(d["ncc_accuracy_layers"]["clean"])
        for k in kinds:
            ax.plot(np.arange(1, L + 1), d["ncc_accuracy_layers"][k], color=_COLOURS[k], marker="s", ms=3)
        ax.set_xticks(np.arange(1, L + 1))
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("hidden layer")
        ax.set_ylabel("NCC accuracy\n(clean means)")
        ax = axes[4, j]
        for k in kinds:
            ax.semilogy(np.arange(1, L + 1), d["nc1_layers"][k], color=_COLOURS[k], marker="s", ms=3)
        ax.set_xticks(np.arange(1, L + 1))
        ax.set_xlabel("hidden layer")
        ax.set_ylabel("NC1 (Papyan), last epoch")
        f = d["final"]
        ax.set_title(f"targeted: reach {f['targeted']['group_success']:.2f}, leap {d['leap']['targeted']:.2f}; "
                     f"PGD/clean NC1 {f['pgd']['nc1_papyan'] / f['clean']['nc1_papyan']:.1f}x", fontsize=7)
    handles = [axes[0, 0].plot([], [], color=_COLOURS[k], marker="o", ms=3, label=k)[0] for k in kinds]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(kinds), fontsize=8, frameon=False)
    return fig
