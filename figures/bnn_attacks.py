"""Attacking Bayesian neural networks (Feng, Rudner, Tsilivis, Kempe 2024; spec deep_robustness_ntk.md §4): robust
accuracy of the posterior predictive mean vs linf eps for MC dropout, mean-field VI, a deep ensemble, full-batch HMC
and a deterministic net; MI-based detection AUROC before (naive attack, stopped at the first misclassification) and
after the uncertainty-aware attack (high-confidence targeted, ``- lam MI``).

Quick preset: scikit-learn digits, MLP 64-128-128-10 (HMC: 64-32-10, 2 chains started at a trained net), Adam,
PGD-40 on ``-log p_bar`` with fixed draws (S = 8), 200 test images. Paper preset (GPU): S = 32, PGD-100,
EOT resampling, full test set, longer HMC.
"""
from __future__ import annotations

import numpy as np

from . import style

NAME = "bnn_attacks"
TITLE = "Attacking BNNs: robust accuracy vs eps per inference method; MI detection AUROC before/after adaptive attack"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(eps=[0.0, 0.05, 0.1, 0.15, 0.2], detect_eps=0.2, samples=8, steps=40, epochs=30, n_test=200,
                  hmc=dict(chains=2, num_samples=20, burn_in=40, leapfrog_steps=15, thin=2), resample=False, seed=0,
                  lam=1.0),
    "paper": dict(eps=[0.0, 0.05, 0.1, 0.15, 0.2, 0.3], detect_eps=0.2, samples=32, steps=100, epochs=100,
                  n_test=540, hmc=dict(chains=4, num_samples=200, burn_in=200, leapfrog_steps=30, thin=4),
                  resample=True, seed=0, lam=1.0),
}
METHODS = ("deterministic", "mc_dropout", "mean_field_vi", "ensemble", "hmc")


def compute(params: dict, progress: bool = False) -> dict:
    import torch

    from deep.bayes import (BayesMLP, DeterministicPosterior, DropoutMLP, PosteriorPredictive, StochasticPosterior,
                            attack_predictive, bnn_hmc, detection_auroc, fit, train_ensemble, uncertainty_attack)
    from deep.data import digits_multiclass
    from deep.device import default_device
    from deep.models import HomogeneousMLP

    dev = default_device()
    data = digits_multiclass(seed=int(params["seed"]), device=dev)
    X, y = data.X_train, data.y_train
    Xt, yt = data.X_test[:params["n_test"]], data.y_test[:params["n_test"]]
    g = torch.Generator(device=dev).manual_seed(int(params["seed"]))
    ep = int(params["epochs"])
    posts, info = {}, {}
    net = HomogeneousMLP(64, [128, 128], 10, generator=torch.Generator().manual_seed(1)).to(dev)
    fit(net, X, y, epochs=ep, lr=2e-3, generator=g)
    posts["deterministic"] = DeterministicPosterior(net)
    m = DropoutMLP(64, [128, 128], 10, p=0.2, generator=torch.Generator().manual_seed(2)).to(dev)
    fit(m, X, y, epochs=ep, lr=2e-3, generator=g)
    posts["mc_dropout"] = StochasticPosterior(m)
    m = BayesMLP(64, [128, 128], 10, generator=torch.Generator().manual_seed(3)).to(dev)
    fit(m, X, y, epochs=ep, lr=2e-3, generator=g)
    posts["mean_field_vi"] = StochasticPosterior(m)
    posts["ensemble"] = train_ensemble(
        lambda gg: HomogeneousMLP(64, [128, 128], 10, generator=torch.Generator().manual_seed(
            int(torch.randint(0, 2 ** 31, (1,), generator=gg)))).to(dev), 5, X, y, generator=g, epochs=ep, lr=2e-3)
    small = HomogeneousMLP(64, [32], 10, generator=torch.Generator().manual_seed(4)).to(dev)
    fit(small, X, y, epochs=ep + 10, lr=3e-3, generator=g)
    posts["hmc"], res = bnn_hmc(small, X, y, generator=g, **params["hmc"])
    info["hmc"] = res.to_dict()
    S, steps = int(params["samples"]), int(params["steps"])
    out = {"eps": [float(e) for e in params["eps"]], "robust": {}, "auroc_before": {}, "auroc_after": {},
           "robust_after_adaptive": {}, "info": info}
    for name in METHODS:
        post = posts[name]
        pp = PosteriorPredictive(post, S, seed=int(params["seed"]))
        accs = []
        for eps in out["eps"]:
            xa = Xt if eps == 0 else attack_predictive(post, Xt, yt, eps, samples=S, steps=steps,
                                                       resample=bool(params["resample"]), generator=g)
            with torch.no_grad():
                accs.append(float((pp(xa).argmax(1) == yt).float().mean()))
        out["robust"][name] = accs
        eps = float(params["detect_eps"])
        measure = "mi" if name != "deterministic" else "entropy"
        naive = uncertainty_attack(post, Xt, yt, eps, lam=0.0, measure=measure, targeted=False, samples=S, steps=steps // 2,
                                   stop_on_success=True, generator=g)
        adaptive = uncertainty_attack(post, Xt, yt, eps, lam=float(params["lam"]), measure=measure, samples=S,
                                      steps=steps + 20, generator=g)
        out["auroc_before"][name] = detection_auroc(post, Xt, naive, measure, samples=S)
        out["auroc_after"][name] = detection_auroc(post, Xt, adaptive, measure, samples=S)
        with torch.no_grad():
            out["robust_after_adaptive"][name] = float((pp(adaptive).argmax(1) == yt).float().mean())
    return out


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 2, width=3.6, height=2.8)
    names = {"deterministic": "deterministic", "mc_dropout": "MC dropout", "mean_field_vi": "mean-field VI",
             "ensemble": "deep ensemble (5)", "hmc": "HMC"}
    colours = dict(zip(METHODS, ["k", "tab:blue", "tab:orange", "tab:green", "tab:red"]))
    ax = axes[0, 0]
    for name in METHODS:
        ax.plot(data["eps"], data["robust"][name], marker="o", ms=3, color=colours[name], label=names[name])
    ax.set_xlabel(r"$\ell_\infty$ radius $\varepsilon$")
    ax.set_ylabel(r"robust accuracy of $\bar p$")
    ax.set_title("PGD on the posterior predictive mean")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    xs = np.arange(len(METHODS))
    ax.bar(xs - 0.2, [data["auroc_before"][n] for n in METHODS], 0.4, label="naive attack", color="tab:gray")
    ax.bar(xs + 0.2, [data["auroc_after"][n] for n in METHODS], 0.4, label="uncertainty-aware attack",
           color="tab:red")
    ax.axhline(0.5, color="k", lw=0.8, ls="--")
    ax.set_xticks(xs)
    ax.set_xticklabels([names[n].replace(" (5)", "").replace(" ", "\n", 1) for n in METHODS], fontsize=7)
    ax.set_ylabel("detection AUROC")
    ax.set_title(rf"adversarial detection by MI, $\varepsilon$ = {params['detect_eps']}")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig
