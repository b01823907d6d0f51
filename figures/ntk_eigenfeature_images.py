"""Input gradients of the top and bottom NTK eigen-features as images (Tsilivis & Kempe 2022, claim (b): "robust
features look like digits, non-robust ones like noise"; spec deep_robustness_ntk.md §1.2, §1.3 (ii), §1.4 item 2),
for two kernel depths.

Binary digits (3 vs 8, labels -1 / +1), ridgeless NTK predictor (jitter 1e-8 mean diag) for each depth; eigen-
features ``f_i(x) = (lambda_i + ridge)^-1 K(x, X) v_i (v_i^T Y)`` (index 0 = largest eigenvalue). For each feature
the input gradient ``grad_x f_i(x)`` at every test image (autodiff through the analytic kernel,
``deep.ntk.feature_input_gradients``) is an 8 x 8 image. How it looks is quantified per test image and averaged:

* digit-likeness = ``span_fraction``: the share of the gradient's energy in the span of the two class-mean images
  of the training set (chance for a random image: 2/64 = 0.031);
* roughness = total variation / the mean total variation of the same pixels randomly permuted (a noise image
  with the same values): about 1 for noise, below 1 for a spatially coherent image.

Usefulness rho_i (clean accuracy of sign f_i) and robustness gamma_i (accuracy under PGD-``steps`` at ``eps``
against f_i itself, no random start, as in the authors' notebook) say which features are robust.
Quick preset: 250 training / 100 test images, NTK depths 1 and 3, top features 0-3 and the bottom 4, a profile
of 15 eigen-indices. Paper preset: all 357 3-vs-8 images (280 / 77), depths 1 and 5, PGD-20.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import style
from .claims import Claim

NAME = "ntk_eigenfeature_images"
TITLE = ("NTK eigen-feature input gradients as images (digits 3 vs 8, depths 1 and 3): the robust top features' "
         "gradients are digit images, the non-robust bottom features' are noise")
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(pair=[3, 8], n_train=250, n_test=100, depths=[1, 3], top=4, bottom=4,
                  profile=[0, 1, 2, 3, 4, 5, 7, 10, 20, 50, 100, 150, 200, 240, 249], eps=0.1, steps=10,
                  permutations=64, shown=1, seed=0, device=None),
    "paper": dict(pair=[3, 8], n_train=280, n_test=77, depths=[1, 5], top=6, bottom=6,
                  profile=[0, 1, 2, 3, 4, 5, 7, 10, 20, 50, 100, 150, 200, 250, 270, 279], eps=0.1, steps=20,
                  permutations=256, shown=1, seed=0, device=None),
}
SHAPE = (8, 8)
CHANCE_SPAN = 2 / 64


def _indices(n, params):
    top = list(range(int(params["top"])))
    bottom = list(range(n - int(params["bottom"]), n))
    return top, bottom


def compute(params: dict, progress: bool = False) -> dict:
    import torch

    from deep.data import digits_binary
    from deep.device import default_device
    from deep.ntk import (KernelMachine, feature_input_gradients, feature_metrics, majority_rate, roughness,
                          span_fraction)

    dev = default_device(params.get("device"))
    d = digits_binary(tuple(params["pair"]), n_train=params["n_train"], n_test=params["n_test"], seed=params["seed"],
                      device=dev, dtype=torch.float64)
    neg, pos = d.X_train[d.y_train < 0].mean(0), d.X_train[d.y_train > 0].mean(0)
    basis = torch.stack([neg, pos], 1)
    shown = []                                             # the first `shown` test images of each class
    for label in (-1.0, 1.0):
        shown += torch.nonzero(d.y_test == label).flatten()[:int(params["shown"])].tolist()
    shown = torch.tensor(shown, dtype=torch.long, device=dev)      # index tensors made on the device
    out = {"majority": majority_rate(d.y_test), "class_means": [neg.cpu().numpy(), pos.cpu().numpy()],
           "shown_images": d.X_test[shown].cpu().numpy(), "shown_labels": d.y_test[shown].cpu().numpy(),
           "chance_span": CHANCE_SPAN, "kernels": []}
    for depth in params["depths"]:
        km = KernelMachine(d.X_train, d.y_train, kernel="ntk", ridge=1e-8, relative_ridge=True,
                           kernel_options=dict(depth=int(depth)))
        n = km.n_features
        top, bottom = _indices(n, params)
        profile = sorted({i for i in params["profile"] if 0 <= i < n} | set(top) | set(bottom))
        gen = torch.Generator().manual_seed(int(params["seed"]))   # CPU permutations, moved (device discipline)
        G = feature_input_gradients(km, d.X_test, profile)         # (k, m, 64)
        span = span_fraction(G, basis).mean(1)
        rough = torch.nanmean(roughness(G, SHAPE, int(params["permutations"]), gen), 1)
        diff = (pos - neg) - (pos - neg).mean()
        Gc = G - G.mean(-1, keepdim=True)
        corr = ((Gc @ diff) / (Gc.norm(dim=-1) * diff.norm()).clamp_min(1e-300)).mean(1)
        m = feature_metrics(km, d.X_test, d.y_test, profile, float(params["eps"]), steps=int(params["steps"]))
        pick = torch.tensor([profile.index(i) for i in top + bottom], dtype=torch.long, device=dev)
        out["kernels"].append({
            "name": f"NTK L={depth}", "depth": int(depth), "n": n, "top": top, "bottom": bottom,
            "profile": {"index": profile, "eigenvalue": m["eigenvalue"], "usefulness": m["usefulness"],
                        "robustness": m["robustness"], "span": span.cpu().numpy(), "roughness": rough.cpu().numpy(),
                        "corr_class_difference": corr.cpu().numpy()},
            "images": G[pick][:, shown].cpu().numpy(),          # (top + bottom, shown, 64)
            "mean_images": G[pick].mean(1).cpu().numpy(),
        })
    # consistency across depths: |corr| of each shown feature's gradient at the same test image, depth 0 vs 1
    a, b = (np.asarray(k["images"]) for k in out["kernels"][:2])
    out["depth_consistency"] = [float(np.mean([abs(np.corrcoef(a[f, j], b[f, j])[0, 1]) for j in range(a.shape[1])]))
                                for f in range(a.shape[0])]
    return out


# ---- claims (measured on the JSON data) -------------------------------------------------------------------------

def _rows(kernel, which):
    p = kernel["profile"]
    idx = kernel[which] if which in ("top", "bottom") else p["index"]
    return [{k: p[k][p["index"].index(i)] for k in ("index", "usefulness", "robustness", "span", "roughness")}
            for i in idx]


def _robust(row, majority):
    return row["usefulness"] > majority and row["robustness"] >= 0.5


def _robust_look_like_digits(data, params):
    vals = []
    for k in data["kernels"]:
        robust = [r for r in _rows(k, "profile") if _robust(r, data["majority"])]
        if not robust:
            return "no robust feature", False
        vals += [r["span"] for r in robust]
    return min(vals), min(vals) >= 0.8


def _bottom_look_like_noise(data, params):
    rows = [r for k in data["kernels"] for r in _rows(k, "bottom")]
    rough = min(r["roughness"] for r in rows)
    span = max(r["span"] for r in rows)
    nonrobust = max(r["robustness"] for r in rows)
    return rough, rough >= 0.9 and span <= 3 * data["chance_span"] and nonrobust <= 0.05


def _smoothness_falls(data, params):
    from scipy.stats import spearmanr

    rho = min(float(spearmanr(k["profile"]["index"], k["profile"]["roughness"])[0]) for k in data["kernels"])
    return rho, rho >= 0.7


def _consistent_across_depths(data, params):
    majority = data["majority"]
    k0 = data["kernels"][0]
    shown = k0["top"] + k0["bottom"]
    robust = [i for i in k0["top"] if _robust(_rows(k0, "profile")[k0["profile"]["index"].index(i)], majority)]
    if not robust:
        return "no robust feature", False
    v = min(data["depth_consistency"][shown.index(i)] for i in robust)
    return v, v >= 0.9


CLAIMS = (
    Claim("robust_feature_gradients_look_like_digits",
          "The input gradients of the robust eigen-features look like digits (Tsilivis & Kempe 2022, abstract and "
          "feature visualisations; spec §1.3 (ii)): for every feature of the profile that is useful (accuracy above "
          "the majority rate) and robust (PGD accuracy >= 0.5), at both depths, the share of its gradient's energy "
          "in the span of the two class-mean images (chance 0.03); smallest (>= 0.8 expected)",
          _robust_look_like_digits),
    Claim("nonrobust_feature_gradients_look_like_noise",
          "The non-robust bottom eigen-features' gradients look like noise: their roughness (total variation / "
          "that of randomly permuted pixels) is >= 0.9, their class-mean share <= 3x chance, and their PGD accuracy "
          "<= 0.05, at both depths (value: smallest roughness)", _bottom_look_like_noise),
    Claim("gradients_rougher_down_the_spectrum",
          "Robust features sit at the top of the spectrum and non-robust ones at the bottom, so the gradient images "
          "get rougher with the eigen-index: Spearman correlation of roughness with eigen-index over the profile, "
          "smaller of the two depths (>= 0.7 expected)", _smoothness_falls),
    Claim("robust_feature_images_consistent_across_depths",
          "Eigen-features are consistent across architectures (abstract): |corr| of the robust top features' "
          "gradient images at the same test image between the two depths, smallest (>= 0.9 expected)",
          _consistent_across_depths),
)


# ---- plot ---------------------------------------------------------------------------------------------------------

def _show(ax, img, title, signed=True):
    a = np.asarray(img, dtype=float).reshape(SHAPE)
    if signed:
        v = float(np.nanmax(np.abs(a))) or 1.0
        ax.imshow(a, cmap="RdBu_r", vmin=-v, vmax=v)
    else:
        ax.imshow(a, cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title(title, fontsize=6)


def plot(data: dict, params: dict):
    kernels = data["kernels"]
    n_show = len(data["shown_labels"])
    n_feat = len(kernels[0]["top"]) + len(kernels[0]["bottom"])
    rows = len(kernels) * n_show
    cols = 1 + n_feat
    with plt.rc_context(style.RC):
        fig = plt.figure(figsize=(1.05 * cols + 4.6, 1.25 * rows + 1.2))
    grid = fig.add_gridspec(rows, cols + 3, width_ratios=[1] * cols + [0.25, 1.6, 1.6])
    for kk, k in enumerate(kernels):
        p = k["profile"]
        feats = k["top"] + k["bottom"]
        for j in range(n_show):
            r = kk * n_show + j
            lab = int(data["shown_labels"][j])
            _show(fig.add_subplot(grid[r, 0]), data["shown_images"][j],
                  f"{k['name']}\ntest image (y={lab:+d})", signed=False)
            for f, i in enumerate(feats):
                at = p["index"].index(i)
                title = (f"i={i}: span {p['span'][at]:.2f}\nrough {p['roughness'][at]:.2f} "
                         f"PGD {p['robustness'][at]:.2f}") if j == 0 else ""
                _show(fig.add_subplot(grid[r, 1 + f]), k["images"][f][j], title)
    ax_span = fig.add_subplot(grid[:max(1, rows // 2), cols + 1])
    ax_rough = fig.add_subplot(grid[:max(1, rows // 2), cols + 2])
    ax_acc = fig.add_subplot(grid[max(1, rows // 2):, cols + 1:])
    cols_k = style.palette(len(kernels))
    for c, k in zip(cols_k, kernels):
        p = k["profile"]
        idx = np.asarray(p["index"]) + 1
        ax_span.semilogx(idx, p["span"], "-o", ms=3, color=c, label=k["name"])
        ax_rough.semilogx(idx, p["roughness"], "-o", ms=3, color=c, label=k["name"])
        ax_acc.semilogx(idx, p["usefulness"], "-o", ms=3, color=c, label=f"{k['name']}: clean")
        ax_acc.semilogx(idx, p["robustness"], "--x", ms=3, color=c, label=f"{k['name']}: PGD")
    ax_span.axhline(data["chance_span"], color="grey", lw=0.8, ls=":")
    ax_span.set_title("span: class-mean share", fontsize=7)
    ax_rough.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax_rough.set_title("roughness (1 = noise)", fontsize=7)
    ax_acc.axhline(data["majority"], color="grey", lw=0.8, ls=":")
    ax_acc.set_title(f"feature accuracy, clean and PGD eps {params['eps']}", fontsize=7)
    ax_acc.set_xlabel("eigen-index i + 1")
    for ax in (ax_span, ax_rough):
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6)
    ax_acc.legend(fontsize=6, ncol=2)
    ax_acc.set_ylim(-0.02, 1.3)
    fig.suptitle("Input gradients of NTK eigen-features at a test image (red +, blue -): top features (left), bottom "
                 "features (right);\nspan = energy share in the class-mean images (chance 0.03), rough = TV / TV of "
                 "permuted pixels (1 = noise), PGD = feature accuracy under PGD (averages over test images)",
                 fontsize=8)
    return fig
