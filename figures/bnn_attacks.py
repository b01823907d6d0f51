"""Attacking Bayesian neural networks (Feng, Rudner, Tsilivis, Kempe 2024; spec deep_robustness_ntk.md §4): robust
accuracy of the posterior predictive mean vs linf eps for MC dropout, mean-field VI, a deep ensemble, full-batch HMC
and a deterministic net; MI-based detection AUROC before (naive attack, stopped at the first misclassification) and
after the uncertainty-aware attack (high-confidence targeted, ``- lam MI``); HMC convergence in function space.

Protocol. The attack runs EOT-PGD on ``-log p_bar`` with ``samples`` posterior draws, resampled at every step
(``resample``) from the attack's generator (seed ``seed``); every adversarial example is then scored with
``score_samples`` draws from an independent generator (seed ``seed + 1``), so the draws that judge an example are
not the ones that made it. Ensembles and HMC draw members / samples from the generator (HMC: from the pool of all
chains). HMC: ``chains`` chains started at dispersed points (one network per chain, trained from its own random
initialisation), step size adapted during burn-in; convergence is the split-R-hat of the predictive probability of
the true class on every test input (weight-space R-hat is meaningless for networks: symmetric modes). MI detection
is not reported for the deterministic net (one model: MI = 0).

Quick preset: scikit-learn digits, MLP 64-128-128-10 (HMC: 64-32-10; 4 chains x 100 samples, 40 leapfrog steps),
Adam, EOT-PGD-40 with S = 32 resampled draws (S = 8 left HMC at 6-12 % robust accuracy at eps 0.2: the noisy
gradient of 8 draws out of 400 multi-chain samples, not robustness), scoring with 16 independent draws,
200 test images.
Paper preset (GPU): S = 32, PGD-100, full test set, longer HMC.
"""
from __future__ import annotations

import math

import numpy as np

from . import style
from .claims import Claim

NAME = "bnn_attacks"
TITLE = ("Attacking BNNs (digits): every posterior's predictive mean breaks under EOT-PGD; the uncertainty-aware "
         "attack defeats MI detection for dropout / VI / ensembles; not reproduced for HMC at this scale "
         "(AUROC 0.67-0.79 after the adaptive attack); HMC converged in function space")
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(eps=[0.0, 0.05, 0.1, 0.15, 0.2], detect_eps=0.2, samples=32, score_samples=16, steps=40, epochs=30,
                  n_test=200, hmc=dict(chains=4, num_samples=100, burn_in=50, leapfrog_steps=40, thin=1),
                  hmc_pretrain=30, resample=True, seed=0, lam=1.0, device=None),
    "paper": dict(eps=[0.0, 0.05, 0.1, 0.15, 0.2, 0.3], detect_eps=0.2, samples=32, score_samples=64, steps=100,
                  epochs=100, n_test=540, hmc=dict(chains=8, num_samples=200, burn_in=200, leapfrog_steps=30, thin=2),
                  hmc_pretrain=60, resample=True, seed=0, lam=1.0, device=None),
}
METHODS = ("deterministic", "mc_dropout", "mean_field_vi", "ensemble", "hmc")
BAYESIAN = METHODS[1:]


def _flat(net):
    import torch
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def compute(params: dict, progress: bool = False) -> dict:
    import torch

    from deep.bayes import (BayesMLP, DeterministicPosterior, DropoutMLP, ParameterSamplesPosterior,
                            PosteriorPredictive, StochasticPosterior,
                            attack_predictive, bnn_hmc, detection_auroc, fit, predictive_rhat, train_ensemble,
                            uncertainty_attack)
    from deep.data import digits_multiclass
    from deep.device import default_device
    from deep.models import HomogeneousMLP

    dev = default_device(params.get("device"))
    seed = int(params["seed"])
    data = digits_multiclass(seed=seed, device=dev)
    X, y = data.X_train, data.y_train
    Xt, yt = data.X_test[:params["n_test"]], data.y_test[:params["n_test"]]
    g = torch.Generator().manual_seed(seed)               # CPU draws, moved to the device (device discipline)
    cpu_gen = lambda s: torch.Generator().manual_seed(int(s))  # noqa: E731
    ep = int(params["epochs"])
    posts = {}
    net = HomogeneousMLP(64, [128, 128], 10, generator=cpu_gen(1)).to(dev)
    fit(net, X, y, epochs=ep, lr=2e-3, generator=g)
    posts["deterministic"] = DeterministicPosterior(net)
    m = DropoutMLP(64, [128, 128], 10, p=0.2, generator=cpu_gen(2)).to(dev)
    fit(m, X, y, epochs=ep, lr=2e-3, generator=g)
    posts["mc_dropout"] = StochasticPosterior(m)
    m = BayesMLP(64, [128, 128], 10, generator=cpu_gen(3)).to(dev)
    fit(m, X, y, epochs=ep, lr=2e-3, generator=g)
    posts["mean_field_vi"] = StochasticPosterior(m)
    posts["ensemble"] = train_ensemble(
        lambda gg: HomogeneousMLP(64, [128, 128], 10, generator=cpu_gen(
            torch.randint(0, 2 ** 31, (1,), generator=gg))).to(dev), 5, X, y, generator=g, epochs=ep, lr=2e-3)
    hp = dict(params["hmc"])
    starts = []
    for k in range(int(hp["chains"])):                    # dispersed starts: one net per chain, own init
        small = HomogeneousMLP(64, [32], 10, generator=cpu_gen(100 + k)).to(dev)
        fit(small, X, y, epochs=int(params["hmc_pretrain"]), lr=3e-3, generator=g)
        starts.append(_flat(small))
    starts = torch.stack(starts)
    posts["hmc"], res = bnn_hmc(small, X, y, init=starts, generator=g, **hp)
    rhat = predictive_rhat(small, res.samples, Xt, yt).cpu()
    with torch.no_grad():                                 # how dispersed the starts are in function space
        start_probs = ParameterSamplesPosterior(small, list(starts)).log_probs(Xt).exp()
    spread = float(start_probs.std(0).mean())
    info = {"hmc": {**res.to_dict(), "rhat_weights_max": res.rhat_max, "rhat_pred": rhat.tolist(),
                    "rhat_pred_max": float(rhat.max()), "rhat_pred_median": float(rhat.median()),
                    "start_prob_spread": spread}}
    S, S_score, steps = int(params["samples"]), int(params["score_samples"]), int(params["steps"])
    resample = bool(params["resample"])
    out = {"eps": [float(e) for e in params["eps"]], "robust": {}, "auroc_before": {}, "auroc_after": {},
           "robust_after_adaptive": {}, "info": info}
    for name in METHODS:
        post = posts[name]
        score = PosteriorPredictive(post, S_score, resample=False, seed=seed + 1)   # independent of the attack
        accs = []
        for eps in out["eps"]:
            xa = Xt if eps == 0 else attack_predictive(post, Xt, yt, eps, samples=S, steps=steps, resample=resample,
                                                       seed=seed, generator=g)
            with torch.no_grad():
                accs.append(float((score(xa).argmax(1) == yt).float().mean()))
        out["robust"][name] = accs
        if name not in BAYESIAN:                          # one model: MI = 0, no detection by MI
            out["auroc_before"][name] = out["auroc_after"][name] = out["robust_after_adaptive"][name] = None
            continue
        eps = float(params["detect_eps"])
        naive = uncertainty_attack(post, Xt, yt, eps, lam=0.0, measure="mi", targeted=False, samples=S,
                                   steps=steps // 2, resample=resample, seed=seed, stop_on_success=True, generator=g)
        adaptive = uncertainty_attack(post, Xt, yt, eps, lam=float(params["lam"]), measure="mi", samples=S,
                                      steps=steps + 20, resample=resample, seed=seed, generator=g)
        out["auroc_before"][name] = detection_auroc(post, Xt, naive, "mi", samples=S_score, seed=seed + 1)
        out["auroc_after"][name] = detection_auroc(post, Xt, adaptive, "mi", samples=S_score, seed=seed + 1)
        with torch.no_grad():
            out["robust_after_adaptive"][name] = float((score(adaptive).argmax(1) == yt).float().mean())
    return out


# ---- claims (measured on the JSON data) -------------------------------------------------------------------------

def _all_break(data, params):
    worst = max(data["robust"][n][-1] for n in METHODS)
    return worst, worst <= 0.1


def _naive_detected(data, params):
    v = min(data["auroc_before"][n] for n in BAYESIAN)
    return v, v >= 0.8


def _adaptive_defeats(methods):
    def measure(data, params):
        v = max(data["auroc_after"][n] for n in methods)
        return v, v <= 0.6
    return measure


def _hmc_converged(data, params):
    v = float(data["info"]["hmc"]["rhat_pred_max"])
    return v, v < 1.1


def _no_mi_for_point_estimate(data, params):
    v = data["auroc_before"]["deterministic"], data["auroc_after"]["deterministic"]
    return str(v), v == (None, None)


CLAIMS = (
    Claim("every_posterior_breaks", "Under PGD on the posterior predictive mean every inference method (MC dropout, "
          "mean-field VI, ensemble, HMC) is as fragile as a point estimate: robust accuracy <= 10 % at the largest "
          "eps (value: the best method's robust accuracy; §4, Table 1)", _all_break),
    Claim("naive_attack_detected", "MI detects naive adversarial examples (min AUROC over Bayesian methods "
          ">= 0.8; §4.3)", _naive_detected),
    Claim("adaptive_attack_defeats_detection", "An uncertainty-aware attack defeats MI-based detection for MC "
          "dropout, mean-field VI and deep ensembles (max AUROC <= 0.6; §4.3)",
          _adaptive_defeats(("mc_dropout", "mean_field_vi", "ensemble"))),
    Claim("adaptive_attack_defeats_hmc_detection", "The uncertainty-aware attack also defeats MI-based detection "
          "for HMC (AUROC <= 0.6; §4.3)", _adaptive_defeats(("hmc",)), expected=(),
          evidence="not reproduced at CPU scale: 4 dispersed chains x 100 samples (R-hat 1.08) on 64-32-10, eps 0.2, "
                   "targeted attack on log p_bar(t) - lam MI: lam 1 with S = 8 / 32 draws and 60-150 steps leaves "
                   "AUROC 0.67-0.79 while misclassifying 88-98 %; lam 5 / 20 lowers it to 0.70 / 0.59 only by "
                   "misclassifying 30 % / 5 % of the points; trying all 9 target classes (lam 1 and 3, 60 steps each, "
                   "keeping per point the misclassified iterate of lowest MI under the attack's draws) reaches 0.63 "
                   "with 98 % misclassified (multi-chain HMC disagrees more off the data)"),
    Claim("hmc_converged", "The HMC posterior is a converged sample: split-R-hat of the predictive probabilities "
          "< 1.1 on every test input (dispersed starts; §4 uses HMC as the gold standard)", _hmc_converged),
    Claim("no_mi_for_point_estimate", "No MI detection AUROC is reported for a single deterministic model "
          "(its MI is identically 0)", _no_mi_for_point_estimate),
)


# ---- plot ---------------------------------------------------------------------------------------------------------

def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 3, width=3.6, height=2.9)
    names = {"deterministic": "deterministic", "mc_dropout": "MC dropout", "mean_field_vi": "mean-field VI",
             "ensemble": "deep ensemble (5)", "hmc": "HMC"}
    colours = dict(zip(METHODS, ["k", "tab:blue", "tab:orange", "tab:green", "tab:red"]))
    ax = axes[0, 0]
    for name in METHODS:
        ax.plot(data["eps"], data["robust"][name], marker="o", ms=3, color=colours[name], label=names[name])
    ax.set_xlabel(r"$\ell_\infty$ radius $\varepsilon$")
    ax.set_ylabel(r"robust accuracy of $\bar p$ (independent draws)")
    eot = "EOT, resampled" if params.get("resample") else "fixed draws"
    ax.set_title(f"PGD-{params['steps']} on the predictive mean ({eot})", fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    style.legend_outside(ax, fontsize=7)
    ax = axes[0, 1]
    xs = np.arange(len(BAYESIAN))
    ax.bar(xs - 0.2, [data["auroc_before"][n] for n in BAYESIAN], 0.4, label="naive attack", color="tab:gray")
    ax.bar(xs + 0.2, [data["auroc_after"][n] for n in BAYESIAN], 0.4, label="uncertainty-aware", color="tab:red")
    ax.axhline(0.5, color="k", lw=0.8, ls="--")
    ax.set_xticks(xs)
    ax.set_xticklabels([names[n].replace(" (5)", "").replace(" ", "\n", 1) for n in BAYESIAN], fontsize=7)
    ax.set_ylabel("MI detection AUROC")
    ax.set_title(rf"MI detection, $\varepsilon$ = {params['detect_eps']} (deterministic: no MI)", fontsize=8)
    ax.set_ylim(0, 1.3)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    ax = axes[0, 2]
    h = data["info"]["hmc"]
    r = np.array([math.nan if v is None else v for v in h["rhat_pred"]])
    ax.hist(r[np.isfinite(r)], bins=30, color="tab:red", alpha=0.8)
    ax.axvline(1.1, color="k", ls="--", lw=0.8)
    ax.set_xlabel(r"split-$\hat R$ of $p(y\,|\,x, \theta)$ per test input")
    ax.set_ylabel("test inputs")
    acc = ", ".join(f"{a:.2f}" for a in h["acceptance"])
    ax.set_title(f"HMC, {len(h['acceptance'])} dispersed chains: max R-hat {h['rhat_pred_max']:.3f}\n"
                 f"(median {h['rhat_pred_median']:.3f}; acceptance {acc})", fontsize=7)
    hmc_after = data["auroc_after"]["hmc"]
    if hmc_after is not None and hmc_after > 0.6:        # the claim not reproduced here is stated on the figure
        fig.suptitle(f"Not reproduced at this scale: the uncertainty-aware attack leaves HMC's MI detection at AUROC "
                     f"{hmc_after:.2f} (> 0.6; misclassified {1 - data['robust_after_adaptive']['hmc']:.0%}); "
                     f"dropout / VI / ensemble fall to {max(data['auroc_after'][n] for n in BAYESIAN[:3]):.2f}",
                     fontsize=8)
    return fig
