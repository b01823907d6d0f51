"""The clean-vs-robust error trade-off, parametrised by the attack size eps.

Reproduces the figure of spec ``asymptotics.md`` §6.4 (script ``plot_adv_risk_std_risk.py``): logistic loss,
noiseless sign teacher, isotropic data, l_inf attack of size eps used both in training (attack term
``eps ||w||_1 / d``) and at test time, fixed regularization ``lam sum_j |w_j|^r`` (no 1/r factor). Each curve is one
:func:`asymptotics.sweep` over eps (walked upward with warm starts) for one (alpha, r).

Panels: (a) the trade-off plane, clean error E_gen against robust error E_adv (markers at a few eps; the diagonal
E_gen = E_adv is where the boundary error vanishes); (b) both errors against eps (log x), E_adv dark, E_gen faint;
(c) the clean-error cost of the attack, ``E_gen(eps) - E_gen(eps_min)``, on its own scale. At the paper's lam = 1e-2
that cost stays within a few 1e-3 while E_adv grows by up to 0.1, so the curves of (a) run almost parallel to the
E_adv axis: training against the attack buys robustness at almost no clean error; (c) shows the size of the
little there is (the suptitle gives the largest value).
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim
from .errors_vs_alpha import as_array, attack_label, reg_name
from .measures import arr

NAME = "tradeoff"
TITLE = "Clean vs robust error trade-off parametrised by eps, alpha in {0.1, 1}, r in {1, 2} (state evolution)"
REQUIRES = ()
PRESETS = {
    "quick": dict(eps_min=1e-3, eps_max=0.3, n_eps=40, alphas=[0.1, 1.0], r_values=[1.0, 2.0], lam=1e-2,
                  eps_marks=[0.01, 0.1, 0.3], attack="linf", loss="logistic"),
    "paper": dict(eps_min=1e-3, eps_max=0.3, n_eps=300, alphas=[0.1, 1.0], r_values=[1.0, 2.0], lam=1e-2,
                  eps_marks=[0.01, 0.1, 0.3], attack="linf", loss="logistic"),
}
MARKERS = ("s", "^", "D", "v", "P")


def _curve(data, alpha, r):
    return next(c for c in data["curves"] if c["alpha"] == alpha and c["r"] == r)


def _dual_norm_overtakes(data, params):
    # at the smallest alpha: E_adv(r=1) - E_adv(r=2) is > 0 at the smallest eps and < 0 at the largest
    alpha, (r1, r2) = min(params["alphas"]), sorted(params["r_values"])[:2]
    diff = arr(_curve(data, alpha, r1)["adv_error"]) - arr(_curve(data, alpha, r2)["adv_error"])
    eps = arr(data["eps"])
    cross = eps[np.flatnonzero(diff < 0)[0]] if np.any(diff < 0) else float("nan")
    return float(cross), bool(diff[0] > 0 and diff[-1] < 0)


def _starts_on_diagonal(data, params):
    # every curve: E_bnd at the smallest eps below 1e-3 and E_adv non-decreasing in eps (1e-9 slack)
    worst = max(float(arr(c["boundary_error"])[0]) for c in data["curves"])
    monotone = all(np.all(np.diff(arr(c["adv_error"])) >= -1e-9) for c in data["curves"])
    return worst, worst < 1e-3 and monotone


CLAIMS = (
    Claim("dual_norm_wins_at_large_eps_when_scarce",
          "In the data-scarce regime the regularization type matters more as eps grows (2410.16073 abstract; spec "
          "asymptotics.md section 6.4): at alpha = 0.1, r = 2 has the lower robust error at the smallest eps and the "
          "dual norm r = 1 the lower one at eps = 0.3 (measured: the crossover eps).", _dual_norm_overtakes),
    Claim("tradeoff_starts_on_diagonal",
          "Each trade-off curve starts on the diagonal E_gen = E_adv as eps -> 0 and the robust error grows "
          "monotonically with eps (spec section 6.4): largest boundary error at eps = 1e-3 (< 1e-3 expected), with "
          "E_adv non-decreasing.", _starts_on_diagonal),
)


def eps_grid(params: dict) -> np.ndarray:
    """The eps grid: log-spaced from eps_min to eps_max, plus the marked eps values (sorted, unique)."""
    grid = np.logspace(np.log10(float(params["eps_min"])), np.log10(float(params["eps_max"])),
                       int(params["n_eps"]))
    marks = [float(e) for e in params["eps_marks"]
             if float(params["eps_min"]) <= float(e) <= float(params["eps_max"])]
    return np.unique(np.round(np.concatenate([grid, marks]), 12))   # rounding merges 10**log10(0.3) with 0.3


def compute(params: dict, progress: bool = False) -> dict:
    """Sweep eps for every (alpha, r) and collect clean, robust and boundary errors.

    Parameters
    ----------
    params : dict
        ``eps_min``, ``eps_max``, ``n_eps`` (log grid), ``alphas``, ``r_values``, ``lam``, ``eps_marks`` (eps values
        added to the grid and marked on the curves), ``attack``, ``loss``.
    progress : bool
        Show one progress bar per sweep.

    Returns
    -------
    dict
        ``eps`` (grid) and ``curves``, a list of {"alpha", "r", "gen_error", "adv_error", "boundary_error",
        "failures"} (None in the error lists where the point failed).
    """
    import asymptotics

    eps_values = eps_grid(params)
    curves = []
    for alpha in params["alphas"]:
        for r in params["r_values"]:
            result = asymptotics.sweep("eps", eps_values, alpha=float(alpha), lam=float(params["lam"]),
                                       attack=params["attack"], reg=reg_name(r), loss=params["loss"],
                                       progress=progress)
            curves.append({"alpha": float(alpha), "r": float(r), "gen_error": result.column("gen_error"),
                           "adv_error": result.column("adv_error"),
                           "boundary_error": result.column("boundary_error"),
                           "failures": [{"value": v, "error": e} for v, e in result.failures]})
    return {"eps": eps_values, "curves": curves}


def clean_error_cost(curve) -> np.ndarray:
    """``E_gen(eps) - E_gen(eps_min)`` along one curve (NaN where a point failed)."""
    gen = as_array(curve["gen_error"])
    return gen - gen[0]


def plot(data: dict, params: dict):
    """(a) E_gen vs E_adv per (alpha, r), eps marked; (b) E_adv (dark) and E_gen (faint) vs eps; (c) clean-error
    cost of the attack, E_gen(eps) - E_gen(eps_min)."""
    fig, axes = style.subplots(1, 3, width=3.4, height=3.1)
    plane, versus, cost = axes[0, 0], axes[0, 1], axes[0, 2]
    eps_values = np.asarray(data["eps"], dtype=np.float64)
    alphas = sorted({c["alpha"] for c in data["curves"]})
    r_values = sorted({c["r"] for c in data["curves"]})
    colours = dict(zip(alphas, ["tab:blue", "tab:orange", "tab:green", "tab:purple"]))
    styles = dict(zip(r_values, ["-", "--", ":", "-."]))
    marks = [float(e) for e in params["eps_marks"]]
    for curve in data["curves"]:
        gen, adv = as_array(curve["gen_error"]), as_array(curve["adv_error"])
        colour, ls = colours[curve["alpha"]], styles[curve["r"]]
        label = rf"$\alpha={curve['alpha']:g}$, $r={curve['r']:g}$"
        plane.plot(adv, gen, color=colour, ls=ls)
        for marker, eps in zip(MARKERS, marks):
            k = int(np.argmin(np.abs(eps_values - eps)))
            if np.isclose(eps_values[k], eps) and np.isfinite(adv[k]):
                plane.plot(adv[k], gen[k], marker, color=colour, ms=4, mec="k", mew=0.4, zorder=3)
        versus.plot(eps_values, adv, color=colour, ls=styles[curve["r"]], label=label)
        versus.plot(eps_values, gen, color=colour, ls=styles[curve["r"]], alpha=0.45)
        cost.plot(eps_values, 1e3 * clean_error_cost(curve), color=colour, ls=styles[curve["r"]])
    lows = [np.nanmin(as_array(c["gen_error"])) for c in data["curves"]]
    highs = [np.nanmax(as_array(c["adv_error"])) for c in data["curves"]]
    if lows and np.isfinite(min(lows)) and np.isfinite(max(highs)):
        span = np.array([min(lows), max(highs)])
        plane.plot(span, span, color="0.5", lw=0.8, ls=":", label=r"$E_{\mathrm{gen}}=E_{\mathrm{adv}}$")
    for marker, eps in zip(MARKERS, marks):
        plane.plot([], [], marker, color="w", mec="k", mew=0.6, ms=4, label=rf"$\varepsilon={eps:g}$")
    plane.legend(loc="upper left", fontsize=7)
    plane.set_xlabel(r"robust error $E_{\mathrm{adv}}$")
    plane.set_ylabel(r"clean error $E_{\mathrm{gen}}$")
    plane.set_title(r"(a) trade-off, parametrised by $\varepsilon$")
    versus.set_xscale("log")
    versus.set_xlabel(r"attack size $\varepsilon$ (train = test)")
    versus.set_ylabel("error")
    versus.set_title(r"(b) $E_{\mathrm{adv}}$ (dark) and $E_{\mathrm{gen}}$ (faint)")
    cost.set_xscale("log")
    cost.set_xlabel(r"attack size $\varepsilon$ (train = test)")
    cost.set_ylabel(r"$10^3\,[E_{\mathrm{gen}}(\varepsilon) - E_{\mathrm{gen}}(\varepsilon_{\min})]$")
    cost.set_title("(c) clean-error cost of the attack")
    worst_cost = max((float(np.nanmax(np.abs(clean_error_cost(c)))) for c in data["curves"]), default=float("nan"))
    worst_rise = max((float(np.nanmax(as_array(c["adv_error"]) - as_array(c["adv_error"])[0]))
                      for c in data["curves"]), default=float("nan"))
    fig.suptitle(rf"{params['loss']} loss, {attack_label(params['attack'])} attack, $\lambda={params['lam']:g}$, "
                 r"$R(w)=\Sigma_j|w_j|^r$: over $\varepsilon$, $E_{\mathrm{gen}}$ moves by at most "
                 rf"{worst_cost:.1g} while $E_{{\mathrm{{adv}}}}$ rises by up to {worst_rise:.2f} (flat curves in (a))",
                 fontsize=9)
    handles, labels = versus.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), frameon=False)
    return fig
