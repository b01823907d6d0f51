"""Training-free adversarial examples: PGD on the analytic NTK predictor and their transfer to NTK-parameterised
networks of growing width trained in the lazy regime, vs white-box PGD on the networks (Tsilivis & Kempe 2022,
claim (a); spec deep_robustness_ntk.md §1.4 item 1). Kernel = gradient-flow NTK predictor at the networks' training
time (its exact infinite-width limit); networks centred at their initial function (docs/deep_ntk.md).
Paper preset (GPU): binary MNIST/CIFAR from a local folder is not wired; it uses more digits data and wider nets."""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim
from .measures import loglog_slope

NAME = "ntk_kernel_attacks"
TITLE = "Kernel (NTK) adversarial examples transfer to lazy networks; transfer success vs width (Tsilivis & Kempe)"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(pair=[3, 8], n_train=200, n_test=150, widths=[8, 32, 128, 512, 2048], eps=[0.05, 0.1, 0.15, 0.2],
                  depth=1, lr=0.5, steps=300, attack_steps=10, seed=0, device=None),
    "paper": dict(pair=[3, 8], n_train=250, n_test=100, widths=[16, 64, 256, 1024, 4096, 16384],
                  eps=[0.02, 0.05, 0.1, 0.15, 0.2], depth=2, lr=0.5, steps=2000, attack_steps=20, seed=0, device=None),
}


def _transfer_gap(data, params):
    # mean over eps of |net accuracy on the kernel's adversarial examples - the kernel's own robust accuracy|:
    # small at the widest width, and at most half of the narrowest width's
    gaps = np.array([[abs(t - r["kernel_robust"]) for t in r["net_transfer"]] for r in data["rows"]]).mean(axis=0)
    return float(gaps[-1]), gaps[-1] <= 0.03 and gaps[-1] <= 0.5 * gaps[0]


def _transfer_success(data, params):
    # share of points fooling both the kernel and (clean-correct) widest net, worst eps
    worst = min(r["transfer_success"][-1] for r in data["rows"] if r["transfer_success"][-1] is not None)
    return worst, worst >= 0.9


def _lazy_convergence(data, params):
    dist = data["rows"][0]["function_distance"]
    slope = loglog_slope(data["widths"], dist)
    return slope, slope <= -0.25 and all(b < a for a, b in zip(dist, dist[1:]))


CLAIMS = (
    Claim("kernel_attacks_transfer_to_wide_nets",
          "Adversarial examples made training-free on the NTK predictor transfer to fool its finite-width networks "
          "in the lazy regime, the better the wider (Tsilivis & Kempe 2022, abstract; spec deep_robustness_ntk.md "
          "section 1.4 item 1): mean over eps of |net accuracy on the kernel's examples - kernel robust accuracy| "
          "at the widest net (<= 0.03 and <= half the narrowest net's expected).", _transfer_gap),
    Claim("kernel_fooled_points_fool_the_net",
          "Points the kernel attack fools also fool the wide network (section 1.4 item 1): transfer success at the "
          "widest width, worst eps (>= 0.9 expected).", _transfer_success),
    Claim("lazy_nets_approach_the_kernel",
          "NTK-parameterised networks trained by GD approach the kernel predictor as width grows (the lazy regime "
          "the transfer relies on): log-log slope of ||f_net - f_NTK|| / ||f_NTK|| vs width (decreasing at every "
          "width, slope <= -0.25 expected; the NTK fluctuation rate is -1/2).", _lazy_convergence),
)


def compute(params: dict, progress: bool = False) -> dict:
    import torch

    from deep.data import digits_binary
    from deep.ntk.transfer import transfer_sweep

    data = digits_binary(tuple(params["pair"]), n_train=params["n_train"], n_test=params["n_test"],
                         seed=params["seed"], device=params.get("device"), dtype=torch.float64)
    rows = [transfer_sweep(data, params["widths"], float(e), depth=params["depth"], lr=params["lr"],
                           steps=params["steps"], attack_steps=params["attack_steps"], seed=params["seed"])
            for e in params["eps"]]
    return {"eps": [float(e) for e in params["eps"]], "widths": params["widths"], "rows": rows}


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 3, width=3.3)
    eps, widths = np.asarray(data["eps"]), np.asarray(data["widths"])
    cols = style.palette(len(widths))
    ax = axes[0, 0]
    ax.plot(eps, [r["kernel_robust"] for r in data["rows"]], "k-o", ms=4, label="NTK predictor (white-box)")
    for j, w in enumerate(widths):
        ax.plot(eps, [r["net_transfer"][j] for r in data["rows"]], "-s", ms=3, color=cols[j], label=f"net n={w}: transfer")
        ax.plot(eps, [r["net_whitebox"][j] for r in data["rows"]], ":", color=cols[j])
    ax.set(xlabel=r"$\ell_\infty$ radius $\epsilon$", ylabel="test accuracy",
           ylim=(0, 1.6), yticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0],
           title="solid: kernel's attack, dotted: own PGD")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=5.5, ncol=2, loc="upper center", frameon=False)
    ax = axes[0, 1]
    for i, e in enumerate(eps):
        ax.semilogx(widths, data["rows"][i]["transfer_success"], "-o", ms=4, label=f"$\\epsilon$={e:g}")
    ax.set(xlabel="width", ylabel="transfer success", title="kernel-fooled points fooling the net")
    ax.title.set_fontsize(9)
    ax.legend()
    ax = axes[0, 2]
    fd = np.asarray(data["rows"][0]["function_distance"])
    ax.loglog(widths, fd, "k-o", ms=4, label="measured")
    ax.loglog(widths, fd[0] * np.sqrt(widths[0] / widths), "k--", lw=0.8, label=r"$\propto$ width$^{-1/2}$")
    ax.set(xlabel="width", ylabel=r"$\|f_{net}-f_{NTK}\|/\|f_{NTK}\|$", title="trained net vs kernel predictor")
    ax.title.set_fontsize(9)
    ax.legend()
    return fig
