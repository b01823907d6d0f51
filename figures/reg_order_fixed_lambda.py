"""Robust error vs regularization order r at a fixed lambda, for l_inf, l3, l2 and l1.5 attacks, and r*(eps) (insets).

Reproduces the fixed-lambda sweep of the adversarial-regularization paper (spec ``asymptotics.md`` §6.3, script
``plot_reg_order_sweep.py``; the optimal-lambda counterpart is ``reg_order_optimal_lambda``): logistic loss, noiseless
sign teacher, isotropic data, alpha = 0.1, lam = 1e-4, regularization ``lam sum_j |w_j|^r`` (no 1/r factor), an
l_p attack of size eps in training and at test time with the consistent attack term ``eps P^{1/p*}``,
``P = ||w||_{p*}^{p*}/d`` (the paper's code uses ``eps P`` for every p*, spec pitfall 1; its fixed-lambda figure is
for p* = 3, i.e. the l1.5 attack, whose dual norm is l3). The attacks here have dual exponents p* = 1 (l_inf),
1.5 (l3), 2 (l2) and 3 (l1.5), so the dual-norm regularizer r = p* lies below, at and above the ridge r = 2.

Each (attack, eps) is one :func:`asymptotics.sweep` over r (walked downward with warm starts); the grid minimiser is
refined by a bounded scalar search over r between its grid neighbours (:func:`asymptotics.solve` warm-started from the
grid point). Main panels: E_adv vs r for a few eps, a dot at each minimiser, the dual norm r = p* dotted. Insets:
r*(eps); a minimiser on the grid edge is drawn hollow.
"""
from __future__ import annotations

import math

import numpy as np

from . import style
from .claims import Claim
from .errors_vs_alpha import attack_label, reg_name
from .measures import arr

NAME = "reg_order_fixed_lambda"
TITLE = ("Robust error vs regularization order r at fixed lambda for l_inf / l3 / l2 / l1.5 attacks, and r*(eps) "
         "(state evolution, alpha = 0.1, lam = 1e-4)")
REQUIRES = ()
ATTACKS = ["linf", "l3", "l2", "l1.5"]
PRESETS = {
    "quick": dict(alpha=0.1, lam=1e-4, attacks=ATTACKS, r_min=1.0, r_max=6.0, n_r=26,
                  eps_curves=[0.01, 0.14, 0.27, 0.4], eps_inset=[0.01, 0.08, 0.14, 0.2, 0.27, 0.33, 0.4],
                  refine=True, loss="logistic"),
    "paper": dict(alpha=0.1, lam=1e-4, attacks=ATTACKS, r_min=1.0, r_max=6.0, n_r=101,
                  eps_curves=[0.01, 0.053, 0.097, 0.14, 0.183, 0.27, 0.313, 0.357],
                  eps_inset=[round(float(e), 4) for e in np.linspace(0.01, 0.4, 10)], refine=True, loss="logistic"),
}


def dual_exponent(attack: str) -> float:
    """p* of an attack shortcut (1 for linf)."""
    from asymptotics import parse_attack

    return float(parse_attack(attack).dual_exponent)


def r_grid(params: dict) -> np.ndarray:
    return np.linspace(float(params["r_min"]), float(params["r_max"]), int(params["n_r"]))


def refine_r_star(r_values: np.ndarray, k: int, point: dict, init) -> dict:
    """Bounded scalar minimisation of E_adv over r in [r_{k-1}, r_{k+1}] (fixed lam), warm-started from ``init``."""
    import asymptotics
    from scipy.optimize import minimize_scalar

    lo, hi = r_values[max(k - 1, 0)], r_values[min(k + 1, r_values.size - 1)]

    def adv(r):
        try:
            return asymptotics.solve(reg=reg_name(r), init=init, **point).adv_error
        except asymptotics.ConvergenceError:
            return math.inf

    res = minimize_scalar(adv, bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
    return {"r_star": float(res.x), "value": float(res.fun)}


def profile(r_values: np.ndarray, attack: str, eps: float, params: dict) -> dict:
    """E_adv and E_gen over r at one (attack, eps), the grid minimiser and its refinement."""
    import asymptotics

    point = dict(alpha=float(params["alpha"]), eps=float(eps), lam=float(params["lam"]), attack=attack,
                 loss=params["loss"])
    result = asymptotics.sweep("r", r_values, **point)
    adv = arr(result.column("adv_error"))
    out = {"eps": float(eps), "adv_error": adv, "gen_error": arr(result.column("gen_error")),
           "failures": [{"value": v, "error": e} for v, e in result.failures]}
    if not np.isfinite(adv).any():
        return {**out, "r_star_grid": math.nan, "value_grid": math.nan, "r_star": math.nan, "value": math.nan,
                "at_edge": False}
    k = int(np.nanargmin(adv))
    out.update(r_star_grid=float(r_values[k]), value_grid=float(adv[k]), r_star=float(r_values[k]),
               value=float(adv[k]), at_edge=k in (0, r_values.size - 1))
    if params["refine"] and not out["at_edge"]:
        fp = result.results[k]
        refined = refine_r_star(r_values, k, point, None if fp is None else fp.state)
        if refined["value"] <= out["value"]:
            out.update(refined)
    return out


def compute(params: dict, progress: bool = False) -> dict:
    """Profiles E_adv(r) for every attack and every eps of the curves and insets.

    Returns
    -------
    dict with ``r`` (grid), ``eps_curves``, ``eps_inset`` and ``attacks``: per attack ``dual_exponent`` and
    ``profiles`` keyed ``"eps=<eps>"`` (lists aligned with ``r``: ``adv_error``, ``gen_error``; ``r_star_grid``,
    ``value_grid``, refined ``r_star`` and ``value``, ``at_edge``, ``failures``).
    """
    r_values = r_grid(params)
    eps_all = sorted({float(e) for e in params["eps_curves"]} | {float(e) for e in params["eps_inset"]})
    jobs = [(a, e) for a in params["attacks"] for e in eps_all]
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc="(attack, eps)", disable=None)
    attacks = {a: {"dual_exponent": dual_exponent(a), "profiles": {}} for a in params["attacks"]}
    for attack, eps in jobs:
        attacks[attack]["profiles"][f"eps={eps:g}"] = profile(r_values, attack, eps, params)
    return {"r": r_values, "eps_curves": [float(e) for e in params["eps_curves"]],
            "eps_inset": [float(e) for e in params["eps_inset"]], "attacks": attacks}


# ---- claims --------------------------------------------------------------------------------------------------------

def r_star_path(block: dict, eps_values) -> np.ndarray:
    """Refined r* at the given eps, in that order."""
    return arr([block["profiles"][f"eps={float(e):g}"]["r_star"] for e in eps_values])


def ridge_price(block: dict, r_values, eps_values) -> np.ndarray:
    """E_adv at r = 2 (interpolated on the grid) minus the minimum over r, at each eps."""
    out = []
    for e in eps_values:
        prof = block["profiles"][f"eps={float(e):g}"]
        out.append(float(np.interp(2.0, arr(r_values), arr(prof["adv_error"]))) - prof["value"])
    return arr(out)


def _moves_toward_dual(data, params):
    # per attack: r*(smallest eps) within 0.15 of 2; for p* != 2, r* monotone toward p* (0.02 slack, the refinement
    # tolerance) and at the largest eps at least halfway from 2 to p*; for p* = 2, r* within 0.1 of 2 at every eps
    eps = sorted(data["eps_inset"])
    ok, parts = True, []
    for attack, block in data["attacks"].items():
        ps, path = block["dual_exponent"], r_star_path(block, eps)
        parts.append(f"{attack} {path[0]:.2f}->{path[-1]:.2f}")
        if not np.isfinite(path).all() or abs(path[0] - 2.0) > 0.15:
            ok = False
        elif ps == 2.0:
            ok = ok and bool(np.all(np.abs(path - 2.0) <= 0.1))
        else:
            direction = np.sign(ps - 2.0)
            steps = direction * np.diff(path)
            ok = ok and bool(np.all(steps >= -0.02)) and direction * (path[-1] - 2.0) >= 0.5 * abs(ps - 2.0)
    return "; ".join(parts), ok


def _ridge_price_grows(data, params):
    # for every attack with p* != 2: E_adv(r = 2) - min_r E_adv increasing in eps and >= 0.01 (one point of robust
    # error) at the largest eps; value: the smallest such price at the largest eps
    eps = sorted(data["eps_inset"])
    prices, ok = [], True
    for block in data["attacks"].values():
        if block["dual_exponent"] == 2.0:
            continue
        price = ridge_price(block, data["r"], eps)
        prices.append(price[-1])
        ok = ok and bool(np.all(np.diff(price) > 0)) and price[-1] >= 0.01
    worst = min(prices) if prices else math.nan
    return worst, ok and bool(prices)


CLAIMS = (
    Claim("r_star_moves_toward_dual_norm",
          "At fixed lam the optimal regularization order depends on eps: r* = 2 (ridge) for small eps, moving "
          "monotonically toward the attack's dual norm r = p* as eps grows (2410.16073 abstract and blog; spec "
          "asymptotics.md section 6.3): r*(eps) from the smallest to the largest inset eps per attack (expected: "
          "starts within 0.15 of 2, monotone toward p*, ends at least halfway to p*; stays at 2 for l2).",
          _moves_toward_dual),
    Claim("ridge_price_grows_with_eps",
          "In the data-scarce regime the type of regularization becomes increasingly important as perturbations grow "
          "(2410.16073 abstract): for each attack whose dual norm is not l2, E_adv(r = 2) - min_r E_adv grows with "
          "eps; the smallest at the largest eps over those attacks (>= 0.01 and increasing in eps expected).",
          _ridge_price_grows),
)


# ---- plot ----------------------------------------------------------------------------------------------------------

def plot(data: dict, params: dict):
    """One panel per attack: E_adv vs r per eps (dots: minimisers), dual norm dotted; inset r*(eps)."""
    blocks = data["attacks"]
    fig, axes = style.subplots(1, len(blocks), width=3.4, height=3.3)
    r_values = arr(data["r"])
    colours = style.palette(len(data["eps_curves"]))
    eps_inset = sorted(data["eps_inset"])
    for ax, (attack, block) in zip(axes[0], blocks.items()):
        ps = block["dual_exponent"]
        tops, lows = [], []
        for colour, eps in zip(colours, data["eps_curves"]):
            prof = block["profiles"][f"eps={float(eps):g}"]
            curve = arr(prof["adv_error"])
            ax.plot(r_values, curve, color=colour, label=rf"$\varepsilon={eps:g}$")
            if math.isfinite(prof["r_star"]):
                ax.plot(prof["r_star"], prof["value"], "o", color=colour, ms=4.5, mec="k", mew=0.6, zorder=3)
            tops.append(np.nanmax(curve))
            lows.append(np.nanmin(curve))
        ax.axvline(ps, color="tab:red", ls=":", lw=1)
        ax.set_xlim(r_values[0], r_values[-1])
        low, high = min(lows), max(tops)
        ax.set_ylim(low - 0.05 * (high - low), high + 0.75 * (high - low))      # head room for the inset
        ax.set_xlabel(r"regularization order $r$")
        ax.set_title(rf"{attack_label(attack)} attack (dual norm $r=p^*={ps:g}$)", fontsize=8.5)
        inset = ax.inset_axes([0.12, 0.63, 0.42, 0.33])
        path = r_star_path(block, eps_inset)
        edge = [block["profiles"][f"eps={float(e):g}"]["at_edge"] for e in eps_inset]
        inset.plot(eps_inset, path, "-", color="k", lw=1)
        for e, rs, on_edge in zip(eps_inset, path, edge):
            inset.plot(e, rs, "o", ms=3, color="k", mfc="w" if on_edge else "k")
        inset.axhline(ps, color="tab:red", lw=0.8, ls=":")
        inset.axhline(2.0, color="0.5", lw=0.6, ls="--")
        finite = path[np.isfinite(path)]
        span = [min(ps, 2.0, *finite), max(ps, 2.0, *finite)]
        pad = max(0.15, 0.5 * (1.0 - (span[1] - span[0])))                  # at least one unit of r shown
        inset.set_ylim(span[0] - pad, span[1] + pad)
        inset.set_xlabel(r"$\varepsilon$", fontsize=7, labelpad=1)
        inset.set_ylabel(r"$r^*(\varepsilon)$", fontsize=7, labelpad=1)
        inset.tick_params(labelsize=6, pad=1)
    axes[0, 0].set_ylabel(r"$E_{\mathrm{adv}}$ at fixed $\lambda$  (dots: argmin over $r$)")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside right upper", fontsize=7)
    fig.suptitle(rf"{params['loss']} loss, $\alpha={params['alpha']:g}$, $\lambda={params['lam']:g}$, "
                 r"$R(w)=\Sigma_j|w_j|^r$, attack term $\varepsilon P^{1/p^*}$; red dotted: the dual norm $r = p^*$, "
                 "grey dashed: ridge r = 2; hollow: minimiser on the grid edge", fontsize=8.5)
    return fig
