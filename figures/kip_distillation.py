"""Robustness from data alone? (Tsilivis, Su & Kempe 2022; spec deep_robustness_ntk.md §2.4): KIP and adversarial
(robust) KIP distilled support sets vs a random real subset of the same size vs the full training pool, deployed in
(a) NTK kernel regression and (b) an NTK-parameterised MLP trained on the support set in the lazy regime, evaluated
clean, under PGD-10 (the attack robust KIP was optimised against), a stronger PGD (more steps, random restarts), a
transfer attack (strong PGD made on the same kind of model trained on the full pool) and a gradient-free Square-style
random search (:func:`deep.attacks.random_search`). The alternative attacks test whether the PGD robustness of the
distilled data is real or "fallacious" (gradient masking / attack-specific). Binary digits 3 vs 8, labels +-1.

Paper preset (GPU, several minutes): larger support and target batches, more outer steps, a wider net and more
queries; the code path is the same (pass ``device="cuda"`` or leave ``None`` for :func:`deep.device.default_device`).
"""
from __future__ import annotations

import numpy as np

from . import style

NAME = "kip_distillation"
TITLE = "KIP vs adversarial KIP distilled data: PGD robustness vs stronger, transfer and gradient-free attacks"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(pair=[3, 8], n_train=250, n_test=100, support=20, kip_steps=150, lr=0.01, batch_size=100,
                  eps=0.1, train_attack_steps=5, ridge=1e-6, depth=1, width=512, net_lr=0.5, net_steps=300,
                  strong_steps=50, restarts=3, queries=300, device="cpu", seed=0),
    "paper": dict(pair=[3, 8], n_train=280, n_test=77, support=40, kip_steps=1000, lr=0.01, batch_size=200,
                  eps=0.1, train_attack_steps=10, ridge=1e-6, depth=2, width=4096, net_lr=0.5, net_steps=2000,
                  strong_steps=100, restarts=5, queries=2000, device=None, seed=0),
}

SETS = ("random", "kip", "robust_kip", "full")
ATTACKS = ("clean", "pgd", "pgd_strong", "transfer", "random_search")
LABELS = {"random": "random subset", "kip": "KIP", "robust_kip": "robust KIP", "full": "full data",
          "clean": "clean", "pgd": "PGD-10", "pgd_strong": "PGD strong", "transfer": "transfer",
          "random_search": "random search"}


def _balanced(y, per_class: int, generator):
    import torch

    idx = []
    for label in (-1.0, 1.0):
        pool = torch.nonzero(y == label).flatten()
        idx.append(pool[torch.randperm(pool.numel(), generator=generator)[:per_class]])
    return torch.cat(idx)


def _evaluate(model, source, X, y, params, generator) -> dict:
    """Accuracy of ``model`` under every attack of ``ATTACKS``; ``source`` = full-data model for transfer."""
    import torch

    from deep.attacks import pgd, random_search
    from deep.ntk import predictions_accuracy

    eps = params["eps"]

    def acc(x):
        with torch.no_grad():
            return predictions_accuracy(model(x), y)

    strong = dict(steps=params["strong_steps"], restarts=params["restarts"], random_start=True, generator=generator)
    return {"clean": acc(X),
            "pgd": acc(pgd(model, X, y, eps, steps=10, step_size=eps / 4, random_start=False)),
            "pgd_strong": acc(pgd(model, X, y, eps, **strong)),
            "transfer": acc(pgd(source, X, y, eps, **strong)),
            "random_search": acc(random_search(model, X, y, eps, queries=params["queries"], generator=generator))}


def compute(params: dict, progress: bool = False) -> dict:
    import torch

    from deep.data import digits_binary
    from deep.device import default_device
    from deep.ntk import KernelMachine, adversarial_kip_loss, distill, kernel_function, kip_loss
    from deep.ntk.transfer import train_lazy_net

    dev = default_device(params["device"])
    gen = torch.Generator(device=dev).manual_seed(int(params["seed"]))
    d = digits_binary(tuple(params["pair"]), n_train=params["n_train"], n_test=params["n_test"],
                      seed=params["seed"], device=dev, dtype=torch.float64)
    X, y, Xt, yt = d.X_train, d.y_train, d.X_test, d.y_test
    kopt = dict(depth=params["depth"])
    kern = kernel_function("ntk", **kopt)
    init = _balanced(y, params["support"] // 2, gen)
    sets = {"random": (X[init], y[init]), "full": (X, y)}
    traces = {}
    for name, eps in (("kip", 0.0), ("robust_kip", params["eps"])):
        res = distill(X[init], y[init], X, y, steps=params["kip_steps"], lr=params["lr"],
                      batch_size=params["batch_size"], eps=eps, attack_steps=params["train_attack_steps"],
                      kernel=kern, ridge=params["ridge"], generator=gen)
        sets[name] = (res.X, res.Y)
        traces[name] = res.loss

    # KIP objective on the whole pool, clean and under the inner PGD, for every support set (+ the eps = 0 identity)
    objective = {}
    for name in ("random", "kip", "robust_kip"):
        Xs, Ys = sets[name]
        clean = float(kip_loss(Xs, Ys, X, y, kern, params["ridge"])) / X.shape[0]
        robust = float(adversarial_kip_loss(Xs, Ys, X, y, params["eps"], kern, params["ridge"],
                                            params["train_attack_steps"])) / X.shape[0]
        zero = float(adversarial_kip_loss(Xs, Ys, X, y, 0.0, kern, params["ridge"])) / X.shape[0]
        objective[name] = {"clean": clean, "robust": robust, "robust_eps0": zero}

    krr = {n: KernelMachine(Xs, Ys, kernel=kern, ridge=params["ridge"], relative_ridge=True)
           for n, (Xs, Ys) in sets.items()}
    nets = {n: train_lazy_net(Xs, Ys, params["width"], params["depth"], lr=params["net_lr"],
                              steps=params["net_steps"], seed=params["seed"]) for n, (Xs, Ys) in sets.items()}
    results = {"krr": {}, "net": {}}
    for n in SETS:
        results["krr"][n] = _evaluate(krr[n], krr["full"], Xt, yt, params, gen)
        results["net"][n] = _evaluate(nets[n], nets["full"], Xt, yt, params, gen)
    half = int(init.numel()) // 2
    show = torch.cat([torch.arange(min(4, half)), half + torch.arange(min(4, half))]).to(dev)
    images = {n: sets[n][0][show].cpu().numpy() for n in ("random", "kip", "robust_kip")}
    return {"sets": list(SETS), "attacks": list(ATTACKS), "results": results, "objective": objective,
            "loss_trace": traces, "images": images, "support_labels": sets["random"][1][show].cpu().tolist(),
            "support_size": int(init.numel()), "pool_size": int(X.shape[0])}


def _mosaic(images: dict) -> np.ndarray:
    rows = []
    for name in ("random", "kip", "robust_kip"):
        imgs = np.asarray(images[name]).reshape(-1, 8, 8)
        pad = [np.pad(im, 1, constant_values=0.0) for im in imgs]
        rows.append(np.concatenate(pad, axis=1))
    return np.concatenate(rows, axis=0)


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 4, width=3.3, height=2.9)
    sets, attacks = data["sets"], data["attacks"]
    cols = style.palette(len(sets))
    xs = np.arange(len(attacks))
    bw = 0.8 / len(sets)
    for k, model in enumerate(("krr", "net")):
        ax = axes[0, k]
        for j, s in enumerate(sets):
            vals = [data["results"][model][s][a] for a in attacks]
            ax.bar(xs + (j - (len(sets) - 1) / 2) * bw, vals, bw, color=cols[j], label=LABELS[s])
        ax.set_xticks(xs)
        ax.set_xticklabels([LABELS[a] for a in attacks], rotation=30, ha="right", fontsize=7)
        ax.set_ylim(0, 1.32)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.set(ylabel="test accuracy",
               title=("NTK kernel regression" if model == "krr" else f"lazy MLP (width {params['width']})")
               + f", $\\epsilon$={params['eps']:g}")
    axes[0, 0].legend(fontsize=6, loc="upper center", ncol=2, frameon=False)
    axes[0, 1].legend(fontsize=6, loc="upper center", ncol=2, frameon=False)
    ax = axes[0, 2]
    for name, c in (("kip", "tab:blue"), ("robust_kip", "tab:red")):
        tr = np.asarray(data["loss_trace"][name]) / params["batch_size"]
        ax.semilogy(np.arange(1, len(tr) + 1), tr, color=c, lw=1, label=LABELS[name] + " (batch loss)")
    ax.set(xlabel="outer Adam step", ylabel="KIP loss per target", title="distillation objective")
    ax.legend(fontsize=6)
    ax = axes[0, 3]
    ax.imshow(_mosaic(data["images"]), cmap="gray_r", vmin=0, vmax=1)
    ax.set_yticks([4.5, 14.5, 24.5])
    ax.set_yticklabels(["random", "KIP", "robust\nKIP"], fontsize=7)
    ax.set_xticks([])
    ax.grid(False)
    ax.set_title(f"support images (4 per class, {params['pair'][0]} | {params['pair'][1]})")
    fig.tight_layout()
    return fig
