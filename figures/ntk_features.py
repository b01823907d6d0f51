"""Robust vs non-robust NTK eigen-features (Tsilivis & Kempe 2022, claim (b); spec §1.2, §1.4 item 2): usefulness
(clean accuracy of sign f_i) and robustness (accuracy under PGD made against f_i) per eigen-index, for two
architectures (NTK depth 1 and 2, and the NNGP), and partial sums f_{<=k}. Binary digits."""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim

NAME = "ntk_features"
TITLE = "NTK eigen-features: usefulness and robustness vs eigen-index; partial sums (Tsilivis & Kempe)"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(pair=[3, 8], n_train=250, n_test=100, eps=0.1, steps=10,
                  indices=[0, 1, 2, 3, 4, 5, 7, 10, 20, 50, 100, 200, 249], partial=[1, 2, 5, 10, 20, 50, 100, 250],
                  kernels=[["ntk", 1], ["ntk", 2], ["nngp", 1]], seed=0, device=None),
    "paper": dict(pair=[3, 8], n_train=280, n_test=77, eps=0.1, steps=20,
                  indices=[0, 1, 2, 3, 4, 5, 7, 10, 20, 50, 100, 200, 279],
                  partial=[1, 2, 5, 10, 20, 50, 100, 280], kernels=[["ntk", 1], ["ntk", 3], ["nngp", 2]], seed=0,
                  device=None),
}


def _robust_features_on_top(data, params):
    # Spearman rank correlation of robustness with eigen-index, worst (largest) over kernels
    from scipy.stats import spearmanr

    rho = max(float(spearmanr(k["metrics"]["index"], k["metrics"]["robustness"])[0]) for k in data["kernels"])
    return rho, rho <= -0.8


def _consistent(data, params):
    worst = min(data["consistency"])
    return worst, worst >= 0.9


def _tradeoff_partial_sums(data, params):
    # adding lower eigen-features: clean accuracy of f_{<=k} rises, robust accuracy falls from its peak; value: the
    # smallest robust drop (peak -> full predictor) over kernels
    drops, gains = [], []
    for k in data["kernels"]:
        clean, robust = k["partial"]["clean"], k["partial"]["robust"]
        peak = int(np.argmax(robust))
        drops.append(max(robust) - robust[-1])
        gains.append(clean[-1] - clean[peak])
    return min(drops), min(drops) >= 0.05 and min(gains) >= 0.03


CLAIMS = (
    Claim("robust_features_top_eigenvalues",
          "Robust features tend to correspond to the largest eigenvalues of the kernel (Tsilivis & Kempe 2022, "
          "abstract; spec deep_robustness_ntk.md section 1.4 item 2): Spearman correlation of a feature's robust "
          "accuracy with its eigen-index, worst kernel (<= -0.8 expected).", _robust_features_on_top),
    Claim("features_consistent_across_architectures",
          "Eigen-features are surprisingly consistent across architectures (abstract): |corr| on test points of "
          "the first 10 features of the depth-1 and depth-2 NTKs, smallest (>= 0.9 expected).", _consistent),
    Claim("lower_features_trade_robustness_for_accuracy",
          "Standard classification relies on both robust and non-robust features (the robustness-accuracy "
          "trade-off; abstract): along partial sums f_{<=k}, robust accuracy falls from its peak to the full "
          "predictor while clean accuracy rises; smallest robust drop over kernels (>= 0.05, clean gain >= 0.03, "
          "expected).", _tradeoff_partial_sums),
)


def compute(params: dict, progress: bool = False) -> dict:
    import torch

    from deep.attacks import pgd
    from deep.data import digits_binary
    from deep.ntk import KernelMachine, feature_metrics, majority_rate, predictions_accuracy

    d = digits_binary(tuple(params["pair"]), n_train=params["n_train"], n_test=params["n_test"], seed=params["seed"],
                      device=params.get("device"), dtype=torch.float64)
    out = {"kernels": [], "majority": majority_rate(d.y_test)}
    feats = []
    for kind, depth in params["kernels"]:
        km = KernelMachine(d.X_train, d.y_train, kernel=kind, ridge=1e-8, relative_ridge=True,
                           kernel_options=dict(depth=depth))
        m = feature_metrics(km, d.X_test, d.y_test, params["indices"], params["eps"], steps=params["steps"])
        part = {"k": [], "clean": [], "robust": []}
        for k in params["partial"]:
            f = km.feature(range(min(k, km.n_features)))
            adv = pgd(f, d.X_test, d.y_test, params["eps"], steps=params["steps"], step_size=params["eps"] / 4,
                      random_start=False)
            part["k"].append(k)
            part["clean"].append(predictions_accuracy(f(d.X_test), d.y_test))
            part["robust"].append(predictions_accuracy(f(adv), d.y_test))
        feats.append(km.features(d.X_test, list(range(10))).cpu().numpy())
        out["kernels"].append({"name": f"{kind} L={depth}", "metrics": m, "partial": part})
    # consistency across architectures: |corr| of feature i of kernel 0 and kernel 1 on test points
    a, b = feats[0], feats[1]
    out["consistency"] = [float(abs(np.corrcoef(a[i], b[i])[0, 1])) for i in range(10)]
    return out


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 3, width=3.3)
    cols = style.palette(len(data["kernels"]))
    for c, k in zip(cols, data["kernels"]):
        idx = np.asarray(k["metrics"]["index"]) + 1
        axes[0, 0].semilogx(idx, k["metrics"]["usefulness"], "-o", ms=3, color=c, label=f"{k['name']}: useful")
        axes[0, 0].semilogx(idx, k["metrics"]["robustness"], "--x", ms=3, color=c, label=f"{k['name']}: robust")
        axes[0, 1].semilogx(k["partial"]["k"], k["partial"]["clean"], "-o", ms=3, color=c, label=f"{k['name']} clean")
        axes[0, 1].semilogx(k["partial"]["k"], k["partial"]["robust"], "--x", ms=3, color=c, label=f"{k['name']} PGD")
    for ax in axes[0, :2]:
        ax.axhline(data["majority"], color="grey", lw=0.8, ls=":")
    axes[0, 0].set(xlabel="eigen-index i (1 = largest eigenvalue)", ylabel="test accuracy of sign $f_i$",
                   title=f"single features, PGD $\\epsilon$={params['eps']}", ylim=(-0.02, 1.45),
                   yticks=[0, 0.25, 0.5, 0.75, 1.0])
    axes[0, 0].legend(fontsize=5.5, ncol=2, loc="upper center", frameon=False)
    axes[0, 1].set(xlabel="k", ylabel=r"accuracy of $f_{\leq k}$", title="partial sums of top-k features")
    lo = min(min(k["partial"]["robust"] + k["partial"]["clean"]) for k in data["kernels"])
    axes[0, 1].set_ylim(max(0.0, lo - 0.05), 1.0 + 0.45 * (1.0 - max(0.0, lo - 0.05)))
    axes[0, 1].legend(fontsize=5.5, ncol=2, loc="upper center", frameon=False)
    axes[0, 2].bar(np.arange(1, 11), data["consistency"], color="tab:blue")
    axes[0, 2].set(xlabel="eigen-index i", ylabel="|corr| on test points", ylim=(0, 1.05),
                   title=f"feature i: {data['kernels'][0]['name']} vs {data['kernels'][1]['name']}")
    return fig
