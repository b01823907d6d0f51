"""Lecture-note objects (Les Houches "Kernels, Data & Physics", spec §5): spectral bias on the circle -- residual of
each Fourier mode under exact NTK gradient flow (exp(-eta lambda_k t / n)) and under GD of a wide NTK-parameterised
MLP -- and kernel-regression learning curves (NTK vs NNGP) on 10-class digits."""
from __future__ import annotations

import numpy as np

from . import style

NAME = "ntk_spectral_bias"
TITLE = "Spectral bias (mode residuals: NTK theory vs wide net) and kernel-regression learning curves"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(n=64, frequencies=[1, 2, 4, 8], width=2048, lr=0.5, steps=2000, record=50,
                  sizes=[10, 20, 50, 100, 200, 500, 1000], seeds=[0, 1, 2], n_test=397, device=None),
    "paper": dict(n=128, frequencies=[1, 2, 4, 8, 16], width=16384, lr=0.5, steps=20000, record=100,
                  sizes=[10, 20, 50, 100, 200, 500, 1000, 1400], seeds=list(range(10)), n_test=397, device=None),
}


def compute(params: dict, progress: bool = False) -> dict:
    from deep.data import digits_multiclass
    from deep.ntk import learning_curve, spectral_bias_circle
    from deep.ntk.kernel_utils import one_hot

    sb = spectral_bias_circle(params["n"], params["frequencies"], lr=params["lr"], steps=params["steps"],
                              width=params["width"], record=params["record"], device=params.get("device"))
    d = digits_multiclass(n_train=1797 - params["n_test"], n_test=params["n_test"], seed=0, device=params.get("device"))
    curves = {}
    for kind in ("ntk", "nngp"):
        curves[kind] = learning_curve(kind, d.X_train, one_hot(d.y_train, 10), d.X_test, d.y_test, params["sizes"],
                                      params["seeds"])
    return {"spectral": sb, "curves": curves}


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 2, width=3.6)
    sb = data["spectral"]
    steps = np.asarray(sb["steps"])
    cols = style.palette(len(sb["frequencies"]))
    ax = axes[0, 0]
    for i, k in enumerate(sb["frequencies"]):
        lam = sb["eigenvalues"][i]
        ax.semilogy(steps, np.maximum(np.asarray(sb["theory"])[i], 1e-6), "--", color=cols[i])
        if sb["network"] is not None:
            ax.semilogy(steps, np.maximum(np.asarray(sb["network"])[i], 1e-6), "-", color=cols[i],
                        label=f"k={k}, $\\lambda_k$={lam:.3g}")
    ax.set(ylim=(1e-4, 60), xlabel="GD step", ylabel="mode residual (normalised)",
           title=f"dashed: NTK flow, solid: net (width {params['width']})")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=6.5, ncol=2, loc="upper right", frameon=False)
    ax = axes[0, 1]
    for kind, c in (("ntk", "tab:blue"), ("nngp", "tab:orange")):
        cv = data["curves"][kind]
        m, s = np.asarray(cv["error_mean"]), np.asarray(cv["error_std"])
        ax.loglog(cv["sizes"], m, "-o", ms=3, color=c, label=kind.upper())
        ax.fill_between(cv["sizes"], np.maximum(m - s, 1e-4), m + s, color=c, alpha=0.2)
    ax.set(xlabel="training set size n", ylabel="test error", title="kernel regression learning curves (digits)")
    ax.title.set_fontsize(9)
    ax.legend()
    fig.tight_layout()
    return fig
