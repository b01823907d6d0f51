"""Robust error vs regularization order r at the optimal lambda, and the optimal order r*(eps) (inset).

Reproduces the figure of spec ``asymptotics.md`` §6.2 (script ``plot_reg_order_sweep_optimal_lambda.py``): logistic
loss, noiseless sign teacher, isotropic data, alpha = 1, l_inf attack of size eps (training attack term
``eps ||w||_1 / d``, tested with the same attack), regularization ``lam sum_j |w_j|^r`` (no 1/r factor).

For every (r, eps) the robust error is minimised over lam with :func:`asymptotics.optimal_lambda` (warm-started from
the optimum at the neighbouring r, walking r downward). The main panel draws min_lam E_adv against r for a few eps,
with a dot at the grid minimiser; the inset draws r*(eps), refined inside the grid bracket of the minimiser by
:func:`asymptotics.optimal_reg_order`. The paper's message: r* depends on eps and moves toward the dual norm of the
attack (r = 1 for l_inf) as eps grows.
"""
from __future__ import annotations

import math

import numpy as np

from . import style
from .claims import Claim
from .errors_vs_alpha import as_array, attack_label, reg_name

NAME = "reg_order_optimal_lambda"
TITLE = "Robust error vs regularization order r at the optimal lambda, and r*(eps) (state evolution, l_inf attack)"
REQUIRES = ()
PRESETS = {
    "quick": dict(alpha=1.0, r_min=1.0, r_max=3.0, n_r=11, eps_curves=[0.01, 0.2, 0.4, 0.6],
                  eps_inset=[0.01, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], refine=True, lam_bounds=[1e-5, 10.0],
                  attack="linf", loss="logistic"),
    "paper": dict(alpha=1.0, r_min=1.0, r_max=3.0, n_r=100, eps_curves=[0.01, 0.2, 0.4, 0.6],
                  eps_inset=[0.01] + [round(0.05 * k, 2) for k in range(1, 15)], refine=True,
                  lam_bounds=[1e-5, 10.0], attack="linf", loss="logistic"),
}
MAX_BOUND_SHRINKS = 3   # retries of optimal_lambda with the upper lam bound divided by 10 each time


def _r_star_path(data):
    profiles = sorted(data["profiles"].values(), key=lambda p: p["eps"])
    return [p["r_star"] for p in profiles if p["r_star"] is not None]


def _r_star_moves_to_dual_norm(data, params):
    # r*(eps) non-increasing (0.02 slack: the refinement tolerance), from an interior r >= 1.5 to within 0.1 of r = 1
    path = _r_star_path(data)
    monotone = all(b <= a + 0.02 for a, b in zip(path, path[1:]))
    return f"{path[0]:.2f}->{path[-1]:.2f}", monotone and path[0] >= 1.5 and path[-1] <= 1.1


def _dual_norm_costly_at_small_eps(data, params):
    # at the smallest eps: E_adv(r = 1) - min_r E_adv (the price of the dual-norm choice when eps is small)
    prof = min(data["profiles"].values(), key=lambda p: p["eps"])
    excess = as_array(prof["adv_error"])[0] - prof["value"]
    return float(excess), excess >= 0.01


CLAIMS = (
    Claim("r_star_moves_to_dual_norm",
          "The optimal regularization order depends on eps and moves toward the attack's dual norm (r = 1 for "
          "l_inf) as eps grows (2410.16073 abstract and blog; spec asymptotics.md section 6.2): refined r*(eps) from "
          "the smallest to the largest inset eps, non-increasing, from >= 1.5 to <= 1.1.",
          _r_star_moves_to_dual_norm),
    Claim("dual_norm_suboptimal_at_small_eps",
          "Regularizing with the dual norm is not always best: at small eps the l1 choice costs robust error "
          "(spec section 6.2): E_adv(r = 1) - min_r E_adv at the smallest eps, both at their optimal lambda "
          "(>= 0.01 expected).", _dual_norm_costly_at_small_eps),
)


def robust_optimal_lambda(point: dict, lam_bounds, init=None, metric: str = "adv_error") -> dict:
    """:func:`asymptotics.optimal_lambda` at ``point``, retried on a narrower bracket when the solver fails.

    A ConvergenceError inside the lam search usually comes from large lam, where the solution collapses toward
    w = 0 and the iteration stalls; such lam are never optimal for the robust error, so the search is retried with
    the upper bound divided by 10 (at most ``MAX_BOUND_SHRINKS`` times).

    Parameters
    ----------
    point : dict
        Keyword arguments of the problem without ``lam`` (alpha, eps, attack, reg, loss).
    lam_bounds : (float, float)
        The lam bracket of the first attempt.
    init : tuple or None
        Warm start (m, q, V, P) for the first evaluation.
    metric : str
        The FixedPoint field to minimise.

    Returns
    -------
    dict
        ``value`` (the minimum, NaN on failure), ``lam``, ``at_boundary``, ``trivial``, ``state`` (warm start for a
        neighbour, None if trivial or failed), ``gen_error``, ``adv_error``, ``lam_bounds`` (the bracket that
        succeeded) and ``error`` (None, or the last error message).
    """
    import asymptotics

    low, high = float(lam_bounds[0]), float(lam_bounds[1])
    error = None
    for _ in range(MAX_BOUND_SHRINKS + 1):
        try:
            best = asymptotics.optimal_lambda(metric, (low, high), init=init, **point)
        except asymptotics.ConvergenceError as exc:
            error = str(exc)
            high /= 10.0
            if high <= 10.0 * low:
                break
            continue
        fp = best.fixed_point
        return {"value": best.value, "lam": best.lam, "at_boundary": best.at_boundary, "trivial": fp.trivial,
                "state": None if fp.trivial else fp.state, "gen_error": fp.gen_error, "adv_error": fp.adv_error,
                "lam_bounds": [low, high], "error": None}
    return {"value": math.nan, "lam": math.nan, "at_boundary": False, "trivial": False, "state": None,
            "gen_error": math.nan, "adv_error": math.nan, "lam_bounds": [low, high], "error": error}


def r_grid(params: dict) -> np.ndarray:
    """The linear r grid of a parameter set (ascending)."""
    return np.linspace(float(params["r_min"]), float(params["r_max"]), int(params["n_r"]))


def profile_over_r(r_values: np.ndarray, eps: float, params: dict) -> dict:
    """min over lam of the robust error for each r at one eps, walking r downward with warm starts.

    Returns
    -------
    dict
        Lists aligned with ``r_values``: ``adv_error``, ``gen_error``, ``lam``, ``at_boundary``, ``trivial``; and
        ``failures`` ([{"r": r, "error": message}]).
    """
    n = r_values.size
    rows = [None] * n
    failures = []
    init = None
    for i in np.argsort(r_values)[::-1]:
        point = dict(alpha=float(params["alpha"]), eps=float(eps), attack=params["attack"],
                     reg=reg_name(r_values[i]), loss=params["loss"])
        row = robust_optimal_lambda(point, params["lam_bounds"], init=init)
        if row["error"] is not None and init is not None:      # a bad warm start: retry cold
            row = robust_optimal_lambda(point, params["lam_bounds"], init=None)
        if row["error"] is not None:
            failures.append({"r": float(r_values[i]), "error": row["error"]})
        elif row["state"] is not None:
            init = row["state"]
        rows[i] = row
    return {"adv_error": [row["value"] for row in rows], "gen_error": [row["gen_error"] for row in rows],
            "lam": [row["lam"] for row in rows], "at_boundary": [row["at_boundary"] for row in rows],
            "trivial": [row["trivial"] for row in rows], "failures": failures}


def grid_minimiser(r_values: np.ndarray, values) -> tuple[float, float, int]:
    """(r, value, index) of the smallest finite value of a profile; NaNs are ignored (all NaN -> (nan, nan, -1))."""
    arr = as_array(values)
    if not np.isfinite(arr).any():
        return math.nan, math.nan, -1
    k = int(np.nanargmin(arr))
    return float(r_values[k]), float(arr[k]), k


def refine_minimiser(r_values: np.ndarray, k: int, eps: float, params: dict) -> dict:
    """r* refined by :func:`asymptotics.optimal_reg_order` on the three grid points around index ``k``."""
    import asymptotics

    if k < 0 or r_values.size < 3:
        return {"r_star": math.nan, "value": math.nan, "error": "no grid minimiser to refine"}
    start = min(max(k - 1, 0), r_values.size - 3)
    try:
        best = asymptotics.optimal_reg_order(r_values=r_values[start:start + 3], lam_bounds=tuple(params["lam_bounds"]),
                                             refine=True, alpha=float(params["alpha"]), eps=float(eps),
                                             attack=params["attack"], loss=params["loss"])
    except asymptotics.ConvergenceError as exc:
        return {"r_star": math.nan, "value": math.nan, "error": str(exc)}
    return {"r_star": best.r_star, "value": best.value, "error": None}


def compute(params: dict, progress: bool = False) -> dict:
    """Profiles min_lam E_adv(r) for every eps of the curves and of the inset, their minimisers, refined r*.

    Parameters
    ----------
    params : dict
        ``alpha``, ``r_min``, ``r_max``, ``n_r`` (linear r grid), ``eps_curves`` (drawn in the main panel),
        ``eps_inset`` (r* in the inset), ``refine`` (refine r* between grid points), ``lam_bounds``, ``attack``,
        ``loss``.
    progress : bool
        Show a progress bar over eps.

    Returns
    -------
    dict
        ``r`` (grid); ``profiles`` keyed by ``"eps=<eps>"`` with the :func:`profile_over_r` lists plus ``eps``,
        ``r_star_grid``, ``value_grid`` (the argmin of the plotted curve and its value), ``r_star`` and ``value``
        (refined, or the grid values when ``refine`` is off); ``eps_curves`` and ``eps_inset``.
    """
    r_values = r_grid(params)
    eps_all = sorted({float(e) for e in params["eps_curves"]} | {float(e) for e in params["eps_inset"]})
    iterator = eps_all
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(eps_all, desc="eps", disable=None)
    profiles = {}
    for eps in iterator:
        prof = profile_over_r(r_values, eps, params)
        r_best, v_best, k = grid_minimiser(r_values, prof["adv_error"])
        prof.update(eps=eps, r_star_grid=r_best, value_grid=v_best, r_star=r_best, value=v_best,
                    refine_error=None)
        if params["refine"]:
            refined = refine_minimiser(r_values, k, eps, params)
            if refined["error"] is None and refined["value"] <= v_best:
                prof.update(r_star=refined["r_star"], value=refined["value"])
            prof["refine_error"] = refined["error"]
        profiles[f"eps={eps:g}"] = prof
    return {"r": r_values, "profiles": profiles, "eps_curves": [float(e) for e in params["eps_curves"]],
            "eps_inset": [float(e) for e in params["eps_inset"]]}


def plot(data: dict, params: dict):
    """Main panel: min_lam E_adv vs r per eps with a dot at each grid minimiser; inset: refined r*(eps)."""
    fig, axes = style.subplots(1, 1, width=4.6, height=3.4)
    ax = axes[0, 0]
    r_values = np.asarray(data["r"], dtype=np.float64)
    profiles = {float(p["eps"]): p for p in data["profiles"].values()}
    colours = style.palette(len(data["eps_curves"]))
    tops = []
    for colour, eps in zip(colours, data["eps_curves"]):
        prof = profiles[float(eps)]
        curve = as_array(prof["adv_error"])
        ax.plot(r_values, curve, color=colour)
        finite = np.flatnonzero(np.isfinite(curve))
        if finite.size:   # label the curve at its right end, just above it
            last = finite[-1]
            ax.annotate(rf"$\varepsilon={eps:g}$", (r_values[last], curve[last]), xytext=(-2, 3),
                        textcoords="offset points", ha="right", va="bottom", color=colour, fontsize=7.5)
            tops.append(np.nanmax(curve))
        if prof["r_star_grid"] is not None and math.isfinite(prof["r_star_grid"]):
            ax.plot(prof["r_star_grid"], prof["value_grid"], "o", color=colour, ms=5, mec="k", mew=0.6, zorder=3)
    ax.set_xlabel(r"regularization order $r$  ($R(w)=\Sigma_j|w_j|^r$)")
    ax.set_ylabel(r"$\min_\lambda E_{\mathrm{adv}}$   (dots: argmin over $r$)")
    ax.set_xlim(r_values[0], r_values[-1])
    low, high = ax.get_ylim()
    if tops:   # head room for the inset above the curves
        ax.set_ylim(low, max(tops) + 0.55 * (max(tops) - low))
    ax.set_title(rf"{params['loss']} loss, {attack_label(params['attack'])} attack, $\alpha={params['alpha']:g}$, "
                 r"optimal $\lambda$ per $(r,\varepsilon)$")
    inset = ax.inset_axes([0.1, 0.62, 0.36, 0.33])
    eps_inset = sorted(float(e) for e in data["eps_inset"])
    r_star = as_array([profiles[e]["r_star"] for e in eps_inset])
    inset.plot(eps_inset, r_star, "o-", color="k", ms=3, lw=1)
    inset.axhline(1.0, color="tab:red", lw=0.8, ls=":")
    inset.text(eps_inset[0], 1.03, r"dual norm $r=1$", color="tab:red", fontsize=6, va="bottom")
    inset.set_xlabel(r"$\varepsilon$", fontsize=7, labelpad=1)
    inset.set_ylabel(r"$r^*(\varepsilon)$", fontsize=7, labelpad=1)
    inset.tick_params(labelsize=6, pad=1)
    finite_r = r_star[np.isfinite(r_star)]
    inset.set_ylim(r_values[0] - 0.1, max(2.2, finite_r.max() + 0.1) if finite_r.size else r_values[-1])
    return fig
