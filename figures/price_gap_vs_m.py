"""The price of implicit bias: robust generalization gap vs training size for GD, coordinate descent and diagonal
networks, without and with linf perturbations (Tsilivis et al. 2024, Fig. 1 bottom / Fig. 2 left), and the
empirical robust Rademacher bounds of the trained predictors next to the measured gaps."""
from __future__ import annotations

import numpy as np

from simulate.implicit_bias import price_of_implicit_bias

from .claims import Claim
from .measures import arr
from .style import legend_below, subplots

NAME = "price_gap_vs_m"
TITLE = "Robust generalization gap vs m: GD vs CD vs diagonal nets, eps = 0 and eps > 0 (price of implicit bias)"
PRESETS = {
    "quick": dict(setting="sparse_teacher_dense_data", d=256, m_values=[32, 64, 128, 256], k_w=16, k_x=4,
                  eps_fractions=[0.0, 0.25, 0.5], seeds=3, steps=15_000, n_test=10_000, jobs=2),
    "paper": dict(setting="sparse_teacher_dense_data", d=512, m_values=[64, 128, 256, 512, 1024], k_w=23, k_x=4,
                  eps_fractions=[0.0, 0.25, 0.5], seeds=3, steps=200_000, n_test=262_144, jobs=2),
}
REQUIRES = ()
LABELS = {"gd": "GD", "cd": "coordinate descent", "diag": "GD, diagonal net"}
STYLES = {"gd": ("C3", "o"), "cd": ("C0", "s"), "diag": ("C2", "^")}


def _gd_worst_robust(data, params):
    # smallest margin, over m and over {CD, diag}, by which GD's robust gap exceeds theirs at the largest eps fraction
    frac = f"{max(params['eps_fractions']):g}"
    gd = arr(data["gap"][f"gd@{frac}"])
    excess = min(float(np.min(gd - arr(data["gap"][f"{alg}@{frac}"]))) for alg in ("cd", "diag")
                 if f"{alg}@{frac}" in data["gap"])
    return excess, excess > 0


def _benefit_grows(data, params):
    fracs = sorted(params["eps_fractions"])
    b = {float(k): v for k, v in data["benefit_cd_over_gd"].items()}
    ratio = b[float(fracs[-1])] / max(b[float(fracs[0])], 1e-12)
    return ratio, ratio >= 1.5


CLAIMS = (
    Claim("gd_larger_robust_gap",
          "With l_inf perturbations the implicit bias of GD hurts robust generalization while CD and GD on diagonal "
          "nets aid it (Tsilivis et al. 2024, Fig. 1 bottom / Fig. 2 left): smallest excess of GD's robust gap over "
          "CD's and the diagonal net's over m at the largest eps fraction (> 0 expected).", _gd_worst_robust),
    Claim("benefit_grows_from_erm_to_robust_erm",
          "The gap between the methods grows when passing from ERM to robust ERM (Fig. 2 left caption): average "
          "benefit of CD over GD at the largest eps fraction / at eps = 0 (>= 1.5 expected).", _benefit_grows),
)


def compute(params, progress=False) -> dict:
    res = price_of_implicit_bias(params["setting"], d=params["d"], m_values=params["m_values"],
                                 eps_fractions=params["eps_fractions"], seeds=params["seeds"], k_w=params["k_w"],
                                 k_x=params["k_x"], steps=params["steps"], n_test=params["n_test"],
                                 jobs=params["jobs"], progress=progress)
    gaps = res.table("gap")
    out = {"m": res.table("gap")[("gd", params["eps_fractions"][0])][0], "gap": {}, "gap_std": {}, "bound": {},
           "benefit_cd_over_gd": {str(k): v for k, v in res.benefit().items()},
           "eps_star": [c["eps_star"] for c in res.cells], "cells": res.cells,
           "regularizer_preference": res.regularizer_preference()}
    for (alg, frac), (_, mean, std) in gaps.items():
        out["gap"][f"{alg}@{frac:g}"] = mean
        out["gap_std"][f"{alg}@{frac:g}"] = std
    for alg, key in (("gd", "bound_l2"), ("cd", "bound_l1")):
        for frac in params["eps_fractions"]:
            out["bound"][f"{alg}@{frac:g}"] = res.table(key)[(alg, frac)][1]
    return out


def plot(data, params):
    fracs = params["eps_fractions"]
    shown = [fracs[0], fracs[-1]]
    fig, axes = subplots(1, 3, width=3.3, height=2.7)
    m = np.asarray(data["m"], float)
    for ax, frac in zip(axes[0, :2], shown):
        for alg in ("gd", "cd", "diag"):
            key = f"{alg}@{frac:g}"
            if key not in data["gap"]:
                continue
            color, marker = STYLES[alg]
            ax.errorbar(m, data["gap"][key], yerr=data["gap_std"][key], color=color, marker=marker, ms=3.5,
                        capsize=2, label=LABELS[alg])
        ax.set_xscale("log", base=2)
        ax.set_xlabel("training size m")
        ax.set_ylabel("robust train acc - robust test acc")
        ax.set_title("standard ERM, $\\varepsilon=0$" if frac == 0 else rf"robust ERM, $\varepsilon={frac:g}\,\varepsilon^*$")
    legend_below(axes[0, 0], *axes[0, 0].get_legend_handles_labels(), ncol=2, fontsize=6.5,
                 title="mean over seeds, error bars: std", title_fontsize=6.5)
    ax = axes[0, 2]
    for alg, name in (("gd", r"GD: $\ell_2$ class"), ("cd", r"CD: $\ell_1$ class")):
        color, marker = STYLES[alg]
        for frac, ls in zip(shown, ("--", "-")):
            ax.plot(m, data["bound"][f"{alg}@{frac:g}"], ls, color=color, marker=marker, ms=3,
                    label=rf"{name}, $\varepsilon={frac:g}\varepsilon^*$")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("training size m")
    ax.set_ylabel(r"robust Rademacher bound, $W=1/\gamma_{r,\varepsilon}(\hat w)$")
    ax.set_title("bounds of the trained predictors")
    legend_below(ax, fontsize=6.5, ncol=2)
    fig.suptitle(f"{params['setting'].replace('_', ' ')}, d = {params['d']}, k_w = {params['k_w']}, "
                 f"{params['seeds']} seeds, exact $\\ell_\\infty$-robust exponential loss", fontsize=8.5)
    return fig
