"""Clean, robust and boundary error vs the sample ratio alpha for l_r regularization, r in {1, 2, 3}.

Reproduces the "errors vs alpha for different r" figure of the adversarial-regularization paper (spec
``asymptotics.md`` §6.1, script ``plot_gen_bnd_adv_err.py``): logistic loss, noiseless sign teacher, isotropic data,
l_inf attack of size eps (training attack term ``eps ||w||_1 / d``, tested with the same attack), regularization
``lam sum_j |w_j|^r`` (no 1/r factor).

Panels: (a) clean error E_gen (dashed) and robust error E_adv (solid) vs alpha, log x; (b) boundary error
E_bnd = E_adv - E_gen vs alpha, log-log. Every curve is one :func:`asymptotics.sweep` over alpha (walked downward with
warm starts); points where the solver failed are recorded under ``failures`` and left as gaps.
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim
from .measures import arr

NAME = "errors_vs_alpha"
TITLE = "Clean, robust and boundary error vs alpha for l1/l2/l3 regularization under an l_inf attack (state evolution)"
REQUIRES = ()
PRESETS = {
    "quick": dict(alpha_min=0.008, alpha_max=1.0, n_alpha=40, r_values=[1.0, 2.0, 3.0], eps=0.3, lam=1e-3,
                  attack="linf", loss="logistic"),
    "paper": dict(alpha_min=0.008, alpha_max=1.0, n_alpha=200, r_values=[1.0, 2.0, 3.0], eps=0.3, lam=1e-3,
                  attack="linf", loss="logistic"),
}


def _adv_spread(data, params):
    # spread of E_adv over r at the smallest alpha, relative to the spread at the largest alpha
    adv = np.array([arr(c["adv_error"]) for c in data["curves"].values()])
    low, high = np.ptp(adv[:, 0]), np.ptp(adv[:, -1])
    return low / high, low >= 3 * high and np.argmin(adv[:, 0]) == 0


def _r1_lowest_boundary(data, params):
    # share of alphas where the dual-norm regularizer (first r, r = 1) has the lowest boundary error
    bnd = np.array([arr(c["boundary_error"]) for c in data["curves"].values()])
    share = float(np.mean(np.argmin(bnd, axis=0) == 0))
    return share, share == 1.0


CLAIMS = (
    Claim("reg_order_matters_when_data_scarce",
          "The choice of regularization norm matters most for adversarial training when data are scarce "
          "(2410.16073 abstract; spec asymptotics.md section 6.1): the spread of E_adv over r in {1, 2, 3} at the "
          "smallest alpha is >= 3x the spread at alpha = 1, and r = 1 (dual norm of l_inf) is best there (measured "
          "ratio of spreads).", _adv_spread),
    Claim("dual_norm_lowest_boundary_error",
          "Regularizing with the attack's dual norm (r = 1 for l_inf) gives the smallest boundary error "
          "E_adv - E_gen (spec section 6.1 bottom panel): share of the alpha grid where r = 1 has the lowest "
          "E_bnd (1 expected).", _r1_lowest_boundary),
)


def alpha_grid(params: dict) -> np.ndarray:
    """The log-spaced alpha grid of a parameter set (ascending)."""
    return np.logspace(np.log10(float(params["alpha_min"])), np.log10(float(params["alpha_max"])),
                       int(params["n_alpha"]))


def reg_name(r: float) -> str:
    """The regularizer shortcut of an order r, e.g. 1.0 -> "l1", 1.5 -> "l1.5"."""
    return f"l{float(r):.12g}"


def compute(params: dict, progress: bool = False) -> dict:
    """Sweep alpha for every r and collect the three errors.

    Parameters
    ----------
    params : dict
        ``alpha_min``, ``alpha_max``, ``n_alpha`` (log grid), ``r_values``, ``eps``, ``lam``, ``attack``, ``loss``.
    progress : bool
        Show one progress bar per sweep.

    Returns
    -------
    dict
        ``alpha`` (grid), and per r (key ``"r=<r>"``) the lists ``gen_error``, ``adv_error``, ``boundary_error``
        (None where the point failed) and ``failures`` ([{"value": alpha, "error": message}]).
    """
    import asymptotics

    alphas = alpha_grid(params)
    curves = {}
    for r in params["r_values"]:
        result = asymptotics.sweep("alpha", alphas, eps=float(params["eps"]), lam=float(params["lam"]),
                                   attack=params["attack"], reg=reg_name(r), loss=params["loss"], progress=progress)
        curves[f"r={float(r):g}"] = {
            "r": float(r),
            "gen_error": result.column("gen_error"),
            "adv_error": result.column("adv_error"),
            "boundary_error": result.column("boundary_error"),
            "trivial": [bool(fp.trivial) if fp is not None else None for fp in result.results],
            "failures": [{"value": v, "error": e} for v, e in result.failures],
        }
    return {"alpha": alphas, "curves": curves}


def as_array(values) -> np.ndarray:
    """Nested JSON lists with None (failed points) -> a float array with NaN (gaps in the plot)."""
    if isinstance(values, np.ndarray):
        return values.astype(np.float64)
    if isinstance(values, (list, tuple)):
        if values and isinstance(values[0], (list, tuple, np.ndarray)):
            return np.array([as_array(row) for row in values], dtype=np.float64)
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


def attack_label(attack: str) -> str:
    """Mathtext name of an attack shortcut: "linf" -> $\\ell_\\infty$, "l2" -> $\\ell_{2}$."""
    if attack == "linf":
        return r"$\ell_\infty$"
    if attack.startswith("l"):
        return rf"$\ell_{{{attack[1:]}}}$"
    return attack


def plot(data: dict, params: dict):
    """Two stacked panels: (a) E_gen dashed / E_adv solid vs alpha; (b) E_bnd vs alpha, log-log."""
    fig, axes = style.subplots(2, 1, width=4.4, height=2.7, sharex=True)
    top, bottom = axes[0, 0], axes[1, 0]
    alphas = np.asarray(data["alpha"], dtype=np.float64)
    colours = style.palette(len(data["curves"]))
    for colour, (label, curve) in zip(colours, data["curves"].items()):
        r = curve["r"]
        gen, adv = as_array(curve["gen_error"]), as_array(curve["adv_error"])
        bnd = as_array(curve["boundary_error"])
        top.plot(alphas, adv, color=colour, ls="-", label=rf"$r={r:g}$")
        top.plot(alphas, gen, color=colour, ls="--")
        bottom.plot(alphas, np.where(bnd > 0, bnd, np.nan), color=colour, label=rf"$r={r:g}$")
        failed = [f["value"] for f in curve["failures"]]
        if failed:
            top.plot(failed, np.full(len(failed), np.nanmax(adv)), "x", color=colour, ms=4)
    # legend entries for the line styles, in grey so they do not suggest a particular r
    top.plot([], [], color="0.35", ls="-", label=r"robust $E_{\mathrm{adv}}$")
    top.plot([], [], color="0.35", ls="--", label=r"clean $E_{\mathrm{gen}}$")
    top.set_xscale("log")
    top.set_ylabel("error")
    top.set_title("(a) clean and robust error")
    top.legend(loc="lower left", ncol=2)
    bottom.set_xscale("log")
    bottom.set_yscale("log")
    bottom.set_xlabel(r"sample ratio $\alpha = n/d$")
    bottom.set_ylabel(r"$E_{\mathrm{bnd}} = E_{\mathrm{adv}} - E_{\mathrm{gen}}$")
    bottom.set_title("(b) boundary error")
    bottom.legend(loc="best")
    fig.suptitle(rf"{params['loss']} loss, {attack_label(params['attack'])} attack $\varepsilon={params['eps']:g}$, "
                 rf"$\lambda={params['lam']:g}$, $R(w)=\Sigma_j|w_j|^r$", fontsize=9)
    return fig
