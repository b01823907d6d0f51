"""Lecture-note objects (Les Houches "Kernels, Data & Physics", spec §5): spectral bias on the circle -- residual of
each Fourier mode under exact NTK gradient flow (exp(-eta lambda_k t / n)) and under GD of a wide NTK-parameterised
MLP -- and kernel-regression learning curves (NTK vs NNGP) on 10-class digits."""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim
from .measures import loglog_slope

NAME = "ntk_spectral_bias"
TITLE = "Spectral bias (mode residuals: NTK theory vs wide net) and kernel-regression learning curves"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(n=64, frequencies=[1, 2, 4, 8], width=2048, lr=0.5, steps=2000, record=50,
                  sizes=[10, 20, 50, 100, 200, 500, 1000], seeds=[0, 1, 2], n_test=397, device=None),
    "paper": dict(n=128, frequencies=[1, 2, 4, 8, 16], width=16384, lr=0.5, steps=20000, record=100,
                  sizes=[10, 20, 50, 100, 200, 500, 1000, 1400], seeds=list(range(10)), n_test=397, device=None),
}


def mode_deviation(data) -> np.ndarray:
    """Per frequency: largest |network residual - NTK-flow residual| over the recorded steps."""
    sb = data["spectral"]
    return np.abs(np.asarray(sb["network"], float) - np.asarray(sb["theory"], float)).max(axis=1)


def _strong_modes(data, params) -> np.ndarray:
    # modes whose eigenvalue is >= 5x the O(lambda_max / sqrt(width)) scale of finite-width kernel fluctuations
    lam = np.asarray(data["spectral"]["eigenvalues"], float)
    return lam >= 5 * lam.max() / np.sqrt(float(params["width"]))


def _order_violations(data, params):
    # network and theory residuals non-decreasing in frequency at every step after init, eigenvalues decreasing
    sb = data["spectral"]
    bad = sum(int(np.sum(np.diff(np.asarray(sb[key], float)[:, 1:], axis=0) < -1e-9)) for key in ("network", "theory"))
    decreasing = bool(np.all(np.diff(np.asarray(sb["eigenvalues"], float)) < 0))
    return bad, bad == 0 and decreasing


def _follows_flow_strong(data, params):
    dev = float(mode_deviation(data)[_strong_modes(data, params)].max())
    return dev, dev <= 0.01


def _follows_flow_all(data, params):
    dev = float(mode_deviation(data).max())
    return dev, dev <= 0.05


def _learning_curves(data, params):
    # test error decreasing in n for NTK and NNGP; worst log-log slope over n >= 50
    slopes, monotone = [], True
    for cv in data["curves"].values():
        n, err = np.asarray(cv["sizes"]), np.asarray(cv["error_mean"], float)
        monotone &= bool(np.all(np.diff(err) < 0))
        slopes.append(loglog_slope(n[n >= 50], err[n >= 50]))
    return max(slopes), monotone and max(slopes) <= -0.5


CLAIMS = (
    Claim("spectral_bias_low_frequencies_first",
          "Spectral bias: under kernel gradient flow each eigen-mode decays as exp(-eta lambda_k t / n) and the "
          "NTK's eigenvalues fall with frequency, so low frequencies are learned first, by the wide network too "
          "(Les Houches lecture notes; spec deep_robustness_ntk.md section 5): number of (step, frequency pair) "
          "where a higher frequency has the smaller residual, network and theory (0 expected).", _order_violations),
    Claim("wide_net_follows_ntk_flow_top_modes",
          "A wide NTK-parameterised network trained by GD follows the exact NTK flow (section 5): largest |net - "
          "theory| residual over the modes whose eigenvalue is >= 5 lambda_max / sqrt(width) (<= 0.01 expected).",
          _follows_flow_strong),
    Claim("wide_net_follows_ntk_flow_all_modes",
          "The same for every plotted mode, the high frequencies included: largest |net - theory| residual over all "
          "modes and steps (<= 0.05).", _follows_flow_all, expected=(),
          evidence="quick (width 2048, n = 64): deviation 2e-4 (k = 1), 6e-3 (k = 2), 0.07 (k = 4), 0.23 (k = 8; "
                   "net residual 0.156 vs NTK flow 0.004 at step 2000): the net learns the modes with "
                   "lambda_k = 2.0 and 0.35 (below lambda_1 / sqrt(width) = 1.4) much more slowly than the "
                   "infinite-width flow. A finite-width effect (verified): the same run at width 512 / 2048 / 8192 "
                   "gives k = 8 deviations 0.37 / 0.23 / 0.098 and k = 4 0.14 / 0.07 / 0.03 (about width^-1/2, so "
                   "<= 0.05 needs width ~ 3e4); centring the initial function does not change it (k = 8: 0.227), "
                   "and the net leaves its own initial empirical-NTK flow by as much (0.218): the kernel moves "
                   "during training by more than these small eigenvalues."),
    Claim("kernel_learning_curves_decay",
          "Kernel-regression test error falls as a power law of the training-set size (learning curves, section 5): "
          "worst log-log slope over n >= 50 of NTK and NNGP (decreasing in n, slope <= -0.5 expected).",
          _learning_curves),
)


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
        ax.loglog(cv["sizes"], m, "-o", ms=3, color=c,
                  label=f"{kind.upper()} (mean, band: +/- 1 std over {len(params['seeds'])} seeds)")
        ax.fill_between(cv["sizes"], np.maximum(m - s, 1e-4), m + s, color=c, alpha=0.2)
    ax.set(xlabel="training set size n", ylabel="test error", title="kernel regression learning curves (digits)")
    ax.title.set_fontsize(9)
    style.legend_below(ax, fontsize=7)
    if sb["network"] is not None:     # the claim check on the figure: high modes leave the infinite-width flow
        deviation = mode_deviation(data)
        dev = ", ".join(f"k={k}: {v:.2g}" for k, v in zip(sb["frequencies"], deviation))
        weak = [k for k, strong in zip(sb["frequencies"], _strong_modes(data, params)) if not strong]
        verdict = ""
        if float(deviation.max()) > 0.05:
            verdict = (f"\nnot reproduced at width {params['width']}: modes k = {', '.join(map(str, weak))} "
                       r"($\lambda_k < 5\lambda_{\max}/\sqrt{\mathrm{width}}$) leave the infinite-width flow "
                       "(finite-width effect: the deviation falls with width)")
        fig.text(0.25, -0.02, f"max |net - NTK flow| per mode: {dev}{verdict}", ha="center", va="top", fontsize=7)
    return fig
