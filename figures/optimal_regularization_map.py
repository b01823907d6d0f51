"""The optimal regularization as a continuous map: r*(alpha, eps) and lam*(alpha, eps) for l_inf and l_2 attacks.

For every cell of an (alpha, eps) grid, the order r of the regularizer ``lam sum_j |w_j|^r`` (no 1/r factor) and its
strength lam that minimise the robust error at the fixed point (logistic loss, noiseless sign teacher, isotropic
data, training and test attack of size eps: training attack term ``eps ||w||_1 / d`` for l_inf,
``eps ||w||_2 / sqrt(d)`` for l_2), r in [r_min, r_max]. Computed with
:func:`asymptotics.optimal_map.optimal_regularization_map`: the first cell by a global search over an r grid
(``optimal_reg_order(method="newton")``), every other cell by continuation from its neighbour's optimum: quasi-Newton
steps in (ln lam, r) on the gradient of the robust error from implicit differentiation (``asymptotics.sensitivities``'
machinery), with the neighbour's Hessian as the start. A cell where that fails is solved by the bounded search and
marked. benchmarks/bench_optimal_newton.py times it against the same map by bounded search (``method="bounded"``);
tests/figures/test_optimal_regularization_map.py checks 10 cells against it.

Panels: one row per attack, (a) r* with contours, (b) log10 lam*. The regularization-geometry paper's message
(2410.16073, abstract and blog; spec asymptotics.md section 6.2): regularizing with the attack's dual norm is often
good (r -> 1 for l_inf as eps grows; l_2 is its own dual) but suboptimal when eps is small.
"""
from __future__ import annotations

import math

import numpy as np

from . import style
from .claims import Claim
from .errors_vs_alpha import as_array, attack_label

NAME = "optimal_regularization_map"
TITLE = "Optimal regularization order r* and strength lam* over (alpha, eps), by Newton continuation (l_inf, l_2)"
REQUIRES = ()
PRESETS = {
    "quick": dict(alpha_min=0.1, alpha_max=3.0, n_alpha=6, eps_min=0.05, eps_max=0.6, n_eps=6,
                  attacks=["linf", "l2"], r_min=1.0, r_max=3.0, n_r=9, lam_bounds=[1e-5, 10.0], loss="logistic",
                  metric="adv_error", method="newton"),
    "paper": dict(alpha_min=0.05, alpha_max=5.0, n_alpha=25, eps_min=0.02, eps_max=0.7, n_eps=25,
                  attacks=["linf", "l2"], r_min=1.0, r_max=3.0, n_r=9, lam_bounds=[1e-5, 10.0], loss="logistic",
                  metric="adv_error", method="newton"),
}
MONOTONE_SLACK = 0.02     # r* may rise by this much along eps (the searches stop at steps of 1e-5; flat E(r) near r*)
DUAL_NORM_REACHED = 1.1   # r* at or below this counts as the l_inf dual norm r = 1
SELF_DUAL_TOLERANCE = 0.02


def grids(params: dict) -> tuple[np.ndarray, np.ndarray]:
    """(alpha grid, log-spaced; eps grid, linear), both ascending."""
    alphas = np.logspace(math.log10(float(params["alpha_min"])), math.log10(float(params["alpha_max"])),
                         int(params["n_alpha"]))
    eps_values = np.linspace(float(params["eps_min"]), float(params["eps_max"]), int(params["n_eps"]))
    return alphas, eps_values


def _map(data, attack):
    return data["maps"][attack]


def _linf_moves_to_dual_norm(data, params):
    # per alpha: r*(eps) non-increasing (slack MONOTONE_SLACK) and <= 1.1 at the largest eps
    r = as_array(_map(data, "linf")["r_star"])
    monotone = bool(np.all(np.diff(r, axis=1) <= MONOTONE_SLACK))
    reached = bool(np.all(r[:, -1] <= DUAL_NORM_REACHED))
    return f"max r*(eps_max) = {np.max(r[:, -1]):.3f}", monotone and reached


def _dual_norm_suboptimal_at_small_eps(data, params):
    # at the smallest eps, r* >= 1.5 for every alpha: the dual norm r = 1 is not the best there
    r = as_array(_map(data, "linf")["r_star"])
    return float(np.min(r[:, 0])), bool(np.all(r[:, 0] >= 1.5))


def _l2_is_self_dual(data, params):
    # cells with lam* inside the bracket (at its lower end, lam -> 0, the metric hardly depends on r)
    m = _map(data, "l2")
    r = as_array(m["r_star"])
    inside = ~np.asarray(m["at_lam_bound"], dtype=bool)
    dev = float(np.max(np.abs(r[inside] - 2.0))) if inside.any() else math.nan
    return dev, bool(inside.sum() >= 0.5 * inside.size and dev <= SELF_DUAL_TOLERANCE)


CLAIMS = (
    Claim("linf_r_star_moves_to_dual_norm",
          "Regularizing with the attack's dual norm is often a good strategy (2410.16073, blog; spec asymptotics.md "
          "section 6.2): for the l_inf attack r*(eps) is non-increasing in eps at every alpha (slack 0.02) and "
          "reaches the dual norm r = 1 (r* <= 1.1) at the largest eps for every alpha.", _linf_moves_to_dual_norm),
    Claim("dual_norm_suboptimal_at_small_eps",
          "... but it can be suboptimal (2410.16073, blog): at the smallest eps, r* >= 1.5 at every alpha for the "
          "l_inf attack (value: min over alpha of r*(eps_min)).", _dual_norm_suboptimal_at_small_eps),
    Claim("l2_attack_r_star_is_two",
          "The l_2 attack is its own dual: r* = 2 (ridge) over the (alpha, eps) map, |r* - 2| <= 0.02 at every cell "
          "whose lam* is inside the lam bracket (at least half of them; where lam* hits its lower end 1e-5 the "
          "robust error hardly depends on r: 1e-6 between r = 1 and 2 at alpha = 3, eps = 0.6) (value: the largest "
          "deviation).", _l2_is_self_dual),
)


def compute(params: dict, progress: bool = False) -> dict:
    """r*, lam* and the robust error at the optimum for every attack and (alpha, eps) cell.

    Parameters
    ----------
    params : dict
        ``alpha_min``, ``alpha_max``, ``n_alpha`` (log grid), ``eps_min``, ``eps_max``, ``n_eps`` (linear grid),
        ``attacks``, ``r_min``, ``r_max`` (the interval of r), ``n_r`` (r grid of the first cell's global search),
        ``lam_bounds``, ``loss``, ``metric``, ``method`` ("newton" or "bounded", the reference).
    progress : bool
        Progress bars over the cells.

    Returns
    -------
    dict
        ``alpha``, ``eps``; ``maps`` keyed by attack with arrays (n_alpha, n_eps) ``r_star``, ``lam``, ``value``
        (the metric at the optimum), ``at_r_bound``, ``at_lam_bound``, ``visits`` (points visited by the Newton
        search), ``method`` per cell, ``failures`` and ``seconds``.
    """
    from asymptotics.optimal_map import optimal_regularization_map

    alphas, eps_values = grids(params)
    maps = {}
    for attack in params["attacks"]:
        out = optimal_regularization_map(alphas, eps_values, attack=attack, loss=params["loss"],
                                         metric=params["metric"], r_bounds=(float(params["r_min"]),
                                                                            float(params["r_max"])),
                                         n_r=int(params["n_r"]), lam_bounds=tuple(params["lam_bounds"]),
                                         method=params["method"], progress=progress)
        maps[attack] = {k: out[k] for k in ("r_star", "lam", "value", "at_r_bound", "at_lam_bound", "visits",
                                            "method", "failures", "seconds")}
    return {"alpha": alphas, "eps": eps_values, "maps": maps}


def _edges(centres: np.ndarray, log: bool) -> np.ndarray:
    x = np.log10(centres) if log else centres
    if x.size == 1:
        mid = np.array([x[0] - 0.5, x[0] + 0.5])
    else:
        inner = 0.5 * (x[1:] + x[:-1])
        mid = np.concatenate([[2 * x[0] - inner[0]], inner, [2 * x[-1] - inner[-1]]])
    return 10.0 ** mid if log else mid


def plt_cmap(name: str):
    """A colormap whose masked cells are light grey."""
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad="0.85")


def plot(data: dict, params: dict):
    """One row per attack: (a) r*(alpha, eps) with contours, (b) log10 lam*(alpha, eps); x marks cells solved by
    the bounded-search fallback, circles cells whose lam* sits at an end of the lam bracket."""
    alphas = np.asarray(data["alpha"], dtype=np.float64)
    eps_values = np.asarray(data["eps"], dtype=np.float64)
    attacks = list(data["maps"])
    fig, axes = style.subplots(len(attacks), 2, width=3.6, height=2.9)
    ae, ee = _edges(alphas, log=True), _edges(eps_values, log=False)
    r_lo, r_hi = float(params["r_min"]), float(params["r_max"])
    for row, attack in enumerate(attacks):
        m = data["maps"][attack]
        r = as_array(m["r_star"])
        lam = as_array(m["lam"])
        edge = np.asarray(m.get("at_lam_bound", np.zeros_like(r, dtype=bool)), dtype=bool)
        shown = np.where(edge, np.nan, r)             # r* is not meaningful where lam* sits at the bracket's end
        ax = axes[row, 0]
        cmap = plt_cmap("viridis")
        mesh = ax.pcolormesh(ae, ee, np.ma.masked_invalid(shown).T, cmap=cmap, vmin=r_lo, vmax=r_hi, shading="flat")
        fig.colorbar(mesh, ax=ax, label=r"$r^*$")
        finite = shown[np.isfinite(shown)]
        if alphas.size > 1 and eps_values.size > 1 and finite.size and np.ptp(finite) > 0.05:
            levels = [lv for lv in (1.1, 1.25, 1.5, 1.75, 2.0, 2.5) if finite.min() + 0.01 < lv < finite.max() - 0.01]
            if levels:
                cs = ax.contour(alphas, eps_values, np.ma.masked_invalid(shown).T, levels=levels, colors="w",
                                linewidths=0.6)
                ax.clabel(cs, fontsize=6, fmt="%g")
        fallback = np.array([[not str(c).startswith("newton") for c in row_m] for row_m in m["method"]])
        if fallback.any():
            fi, fj = np.nonzero(fallback)
            ax.plot(alphas[fi], eps_values[fj], "x", color="r", ms=3, mew=0.7, label="bounded-search fallback")
        if edge.any():
            ei, ej = np.nonzero(edge)
            ax.plot(alphas[ei], eps_values[ej], "o", mfc="none", mec="k", ms=4, mew=0.7,
                    label=r"$\lambda^*$ at the bracket's end (grey: $r^*$ moot)")
        if fallback.any() or edge.any():
            style.legend_below(ax, fontsize=6)
        ax.set_xscale("log")
        ax.set_xlabel(r"$\alpha = n/d$")
        ax.set_ylabel(r"$\varepsilon$")
        ax.set_title(rf"(a) $r^*$, {attack_label(attack)} attack")
        ax.grid(False)
        ax = axes[row, 1]
        mesh = ax.pcolormesh(ae, ee, np.ma.masked_invalid(np.log10(lam)).T, cmap=plt_cmap("magma"), shading="flat")
        fig.colorbar(mesh, ax=ax, label=r"$\log_{10}\lambda^*$")
        ax.set_xscale("log")
        ax.set_xlabel(r"$\alpha = n/d$")
        ax.set_title(rf"(b) $\lambda^*$ at $r^*$, {attack_label(attack)} attack")
        ax.grid(False)
    fig.suptitle(rf"{params['loss']} loss: the $\ell_r$ regularization minimising the robust error "
                 rf"($R(w)=\Sigma_j|w_j|^r$)", fontsize=9)
    return fig
