"""Robust ERM with networks: GD vs sign descent, clean and robust accuracy for eps in {0, 0.1, 0.2} on binary digits
(analogue of Fig. 3 left of "The Price of Implicit Bias in Adversarially Robust Generalization"; spec
implicit_bias_robust.md §4).

Setting: scikit-learn digits pair (default 2 vs 7, labels -1/+1, pixels in [0, 1]), the first ``n_train`` samples
of a seeded shuffle, a bias-free one-hidden-layer ReLU net ``a^T relu(W x)`` with the paper code's init
``U(+-scale/sqrt(fan_in))``, summed logistic loss (the paper's code sums the exponential loss; with plain GD
at a fixed lr that diverges on these data once PGD makes robust margins very negative, so ``loss`` defaults to
"logistic"; "exp" is accepted), full batch. Adversarial training with linf PGD as in the paper's
code (10 steps, step eps/5, zero init) but with the correct ball-and-box projection (``deep.attacks.project``).
GD = unnormalized l2 steepest descent (plain SGD step), SD = sign descent ``theta - lr sign(g)``. Evaluation:
train/test accuracy under the same PGD at the training eps (eps = 0: clean), and clean test accuracy.
The generalization gap is train robust accuracy minus test robust accuracy.
Paper preset (GPU): MNIST 2 vs 7 from a local folder is not wired here; the paper preset uses more digits data,
a wider net and more epochs.
"""
from __future__ import annotations

import numpy as np

from . import style

NAME = "robust_erm_nets"
TITLE = "Robust ERM with nets: GD vs sign descent, clean/robust accuracy vs eps on binary digits (Price Fig. 3 left)"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(pair=[2, 7], n_train=100, width=128, init_scale=0.01, epochs=800, eps=[0.0, 0.1, 0.2],
                  algorithms=["gd", "sign"], lr={"gd": 1e-3, "sign": 2e-4}, attack_steps=10, seeds=[0],
                  loss="logistic"),
    "paper": dict(pair=[2, 7], n_train=250, width=784, init_scale=0.01, epochs=12000, eps=[0.0, 0.1, 0.2],
                  algorithms=["gd", "sign"], lr={"gd": 1e-3, "sign": 1e-5}, attack_steps=10, seeds=[0, 1, 2],
                  loss="logistic"),
}


def run_one(algorithm: str, eps: float, seed: int, params: dict) -> dict:
    """Adversarially train one net; return clean/robust train/test accuracies."""
    import torch

    from deep.attacks import accuracy, adversarial_training, robust_accuracy
    from deep.data import digits_binary
    from deep.models import HomogeneousMLP
    from deep.optim import GradientDescent, SignGD

    data = digits_binary(tuple(params["pair"]), n_train=params["n_train"], seed=seed, device="cpu")
    gen = torch.Generator().manual_seed(int(seed))
    model = HomogeneousMLP(data.n_features, [params["width"]], init_scale=params["init_scale"], generator=gen)
    lr = float(params["lr"][algorithm])
    opt = GradientDescent(model.parameters(), lr=lr) if algorithm == "gd" else SignGD(model.parameters(), lr=lr)
    steps = int(params["attack_steps"])
    adversarial_training(model, opt, data.X_train, data.y_train, eps, epochs=int(params["epochs"]),
                         loss=params["loss"], reduction="sum", attack_steps=steps, step_size=max(eps, 1e-12) / 5, random_start=False)
    attack = dict(steps=steps, step_size=max(eps, 1e-12) / 5, random_start=False, loss=params["loss"])
    return {"train_robust": robust_accuracy(model, data.X_train, data.y_train, eps, **attack),
            "test_robust": robust_accuracy(model, data.X_test, data.y_test, eps, **attack),
            "train_clean": accuracy(model, data.X_train, data.y_train),
            "test_clean": accuracy(model, data.X_test, data.y_test)}


def compute(params: dict, progress: bool = False) -> dict:
    results = {}
    for algorithm in params["algorithms"]:
        rows = []
        for eps in params["eps"]:
            per_seed = [run_one(algorithm, float(eps), int(s), params) for s in params["seeds"]]
            row = {k: float(np.mean([r[k] for r in per_seed])) for k in per_seed[0]}
            row["gap"] = row["train_robust"] - row["test_robust"]
            row["eps"] = float(eps)
            rows.append(row)
        results[algorithm] = rows
    return {"algorithms": list(params["algorithms"]), "eps": [float(e) for e in params["eps"]], "results": results}


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 2, width=3.6)
    colours = {"gd": "tab:blue", "sign": "tab:red"}
    eps = np.asarray(data["eps"])
    for name in data["algorithms"]:
        rows = data["results"][name]
        c = colours.get(name, "k")
        axes[0, 0].plot(eps, [r["train_robust"] for r in rows], color=c, ls="--", marker="o", label=f"{name} train")
        axes[0, 0].plot(eps, [r["test_robust"] for r in rows], color=c, marker="o", label=f"{name} test")
        axes[0, 1].plot(eps, [r["gap"] for r in rows], color=c, marker="o", label=name)
    axes[0, 0].set_xlabel("training = test eps (linf)")
    axes[0, 0].set_ylabel("(robust) accuracy")
    axes[0, 0].set_title("(a) robust accuracy at the training eps")
    axes[0, 0].legend(loc="lower left")
    axes[0, 1].set_xlabel("eps")
    axes[0, 1].set_ylabel("train − test robust accuracy")
    axes[0, 1].set_title("(b) robust generalization gap")
    axes[0, 1].legend(loc="upper left")
    fig.tight_layout()
    return fig
