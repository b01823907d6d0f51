"""Rademacher complexity of linf-robust linear classes vs dimension: Monte Carlo (exact inner sup) against the
upper and lower bounds, for l1- and l2-constrained classes (the dimension-free vs sqrt(d) attack term)."""
from __future__ import annotations

import numpy as np

from asymptotics import empirical_rademacher, rademacher_bound

from .claims import Claim
from .measures import loglog_slope
from .style import legend_below, legend_outside, palette, subplots

NAME = "rademacher_vs_dimension"
TITLE = "Robust Rademacher complexity vs dimension: Monte Carlo vs bounds, l1 vs l2 classes, linf attacks"
PRESETS = {
    "quick": dict(dims=[8, 16, 32, 64, 128, 256], n=64, eps=[0.0, 0.5], rs=[1.0, 2.0], W=1.0, draws=200, seed=0),
    "paper": dict(dims=[8, 16, 32, 64, 128, 256, 512, 1024, 2048], n=128, eps=[0.0, 0.25, 0.5, 1.0],
                  rs=[1.0, 2.0], W=1.0, draws=1000, seed=0),
}
REQUIRES = ()


def _gap(data, r, eps):
    rows = [row for row in data["rows"] if row["r"] == r and row["eps"] == eps]
    return [row["d"] for row in rows], [row["attack_gap"] for row in rows]


def _l2_gap_slope(data, params):
    d, gap = _gap(data, 2.0, max(params["eps"]))
    slope = loglog_slope(d, gap)
    return slope, 0.35 <= slope <= 0.65


def _l1_gap_free(data, params):
    # the l1 class's attack term against the l2 class's at the largest d (and its largest value over d)
    _, g1 = _gap(data, 1.0, max(params["eps"]))
    _, g2 = _gap(data, 2.0, max(params["eps"]))
    ratio = max(abs(g) for g in g1) / g2[-1]
    return ratio, ratio <= 0.1


def _bounds_sandwich(data, params):
    # MC estimate (95% CI) must sit between the lower and upper bounds: count the rows outside
    bad = sum(row["ci_high"] < row["lower"] - 1e-12 or row["ci_low"] > row["upper"] + 1e-12 for row in data["rows"])
    return bad, bad == 0


CLAIMS = (
    Claim("l2_attack_term_grows_sqrt_d",
          "For an l_inf attack on an l2-bounded class the attack term of the robust Rademacher complexity grows like "
          "eps W sqrt(d/n) (C = d^{1-1/r} at r = 2; Yin et al. 2019, spec asymptotics.md section 5): measured "
          "log-log slope of the Monte-Carlo gap vs d at the largest eps, expected in [0.35, 0.65].", _l2_gap_slope),
    Claim("l1_attack_term_dimension_free",
          "Regularizing with the attack's dual norm (l1 for l_inf) makes the attack term dimension-free (C = 1; "
          "2410.16073 section on Rademacher bounds): the largest l1-class gap over d is <= 0.1 x the l2-class gap at "
          "the largest d (measured ratio).", _l1_gap_free),
    Claim("bounds_sandwich_monte_carlo",
          "The upper and lower bounds of spec section 5 (5.1 and the clean class) enclose the exact robust "
          "Rademacher complexity: number of (d, r, eps) rows whose Monte-Carlo 95% CI lies outside them (0 expected).",
          _bounds_sandwich),
)


def compute(params, progress=False) -> dict:
    rng = np.random.default_rng(params["seed"])
    rows = []
    for d in params["dims"]:
        X = rng.normal(size=(params["n"], d))
        y = rng.choice([-1.0, 1.0], size=params["n"])
        for r in params["rs"]:
            for eps in params["eps"]:
                mc = empirical_rademacher(X, y, r=r, p="linf", eps=eps, W=params["W"], draws=params["draws"],
                                          seed=params["seed"])
                b = rademacher_bound(X, y, r=r, p="linf", eps=eps, W=params["W"])
                rows.append(dict(d=d, r=r, eps=eps, estimate=mc.estimate, ci_low=mc.ci_low, ci_high=mc.ci_high,
                                 clean=mc.clean_estimate, upper=b.robust_upper, lower=max(b.robust_lower,
                                                                                        mc.clean_estimate),
                                 attack_gap=mc.estimate - mc.clean_estimate))
    return {"rows": rows}


def plot(data, params):
    rows = data["rows"]
    rs, eps_values = params["rs"], params["eps"]
    fig, axes = subplots(1, len(rs) + 1, width=3.5, height=2.8)
    colors = palette(len(eps_values))
    for k, r in enumerate(rs):
        ax = axes[0, k]
        for c, eps in zip(colors, eps_values):
            sel = [row for row in rows if row["r"] == r and row["eps"] == eps]
            d = np.array([row["d"] for row in sel])
            est = np.array([row["estimate"] for row in sel])
            err = np.array([[row["estimate"] - row["ci_low"] for row in sel], [row["ci_high"] - row["estimate"] for row in sel]])
            ax.errorbar(d, est, yerr=err, fmt="o-", ms=3, color=c, label=rf"MC, $\varepsilon={eps:g}$")
            ax.plot(d, [row["upper"] for row in sel], "--", color=c, lw=1)
            ax.plot(d, [row["lower"] for row in sel], ":", color=c, lw=1)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("dimension d")
        ax.set_ylabel(r"$\mathfrak{R}_S$")
        ax.set_title(rf"class $\|w\|_{{{r:g}}}\leq W$")
    legend_below(axes[0, 0], *axes[0, 0].get_legend_handles_labels(), ncol=len(eps_values))
    ax = axes[0, -1]
    eps_max = max(eps_values)
    for r, ls in zip(rs, ("-", "--")):
        sel = [row for row in rows if row["r"] == r and row["eps"] == eps_max]
        ax.plot([row["d"] for row in sel], [row["attack_gap"] for row in sel], "o" + ls, ms=3,
                label=rf"$r={r:g}$")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("dimension d")
    ax.set_ylabel(r"$\mathfrak{R}_S(\tilde F)-\mathfrak{R}_S(F)$ (Monte Carlo)")
    ax.set_title(rf"attack term, $\varepsilon={eps_max:g}$")
    legend_outside(ax)
    fig.suptitle(rf"$\ell_\infty$ attacks, n = {params['n']}, W = {params['W']:g}, Gaussian data; markers: Monte Carlo "
                 r"with 95% CI, dashed: upper bound, dotted: lower bound", fontsize=8.5)
    return fig
