"""Which regularization order wins: a map over (alpha, eps) of argmin_r min_lam E_adv.

Reconstructs the "which r wins" map suggested by the optimal-lambda sweeps of spec ``asymptotics.md`` §6.7 (script
``cluster_SE_sweep_alpha_eps_optimal_lambda.py``: alpha in [0.005, 1], eps in [0.01, 0.3], r in {1, 2}). Logistic
loss, noiseless sign teacher, isotropic data, l_inf attack of size eps (training attack term ``eps ||w||_1 / d``,
tested with the same attack), regularization ``lam sum_j |w_j|^r`` (no 1/r factor).

At every cell and every r the robust error is minimised over lam with :func:`asymptotics.optimal_lambda`
(warm-started from the neighbouring eps of the same alpha). Panels: (a) the winning r (lowest min_lam E_adv) as a
colour map, with dots where the winner's optimal lam sits at the edge of the lam bracket; (b) the advantage of the
first r over the best other r, ``min_lam E_adv(r_0) - min_{r != r_0} min_lam E_adv(r)`` (negative: r_0 wins), with
contours. Cells where any r failed are recorded and left blank.
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim
from .errors_vs_alpha import as_array, attack_label, reg_name
from .reg_order_optimal_lambda import robust_optimal_lambda

NAME = "winning_reg_map"
TITLE = "Map over (alpha, eps) of the regularization order r with the lowest robust error at its optimal lambda"
REQUIRES = ()
PRESETS = {
    "quick": dict(alpha_min=0.01, alpha_max=1.0, n_alpha=12, eps_min=0.01, eps_max=0.3, n_eps=12,
                  r_values=[1.0, 2.0], lam_bounds=[1e-5, 10.0], attack="linf", loss="logistic", n_jobs=2),
    "paper": dict(alpha_min=0.005, alpha_max=1.0, n_alpha=100, eps_min=0.01, eps_max=0.3, n_eps=100,
                  r_values=[1.0, 1.5, 2.0, 3.0], lam_bounds=[1e-5, 10.0], attack="linf", loss="logistic", n_jobs=-1),
}
TIE_TOLERANCE = 1e-9   # |E_adv(r) - E_adv(r')| below this counts as a tie (e.g. both collapsed to w = 0)


def _crossover_eps(data) -> np.ndarray:
    """Per alpha: the smallest eps from which the first r (r = 1) wins at every larger eps (NaN if never)."""
    eps, wins = as_array(data["eps"]), as_array(data["advantage"]) < 0
    out = np.full(wins.shape[0], np.nan)
    for i, row in enumerate(wins):
        losing = np.flatnonzero(~row)
        k = losing[-1] + 1 if losing.size else 0
        out[i] = eps[k] if k < eps.size else np.nan
    return out


def _dual_norm_region_grows_when_scarce(data, params):
    # r = 2 wins at the smallest eps for every alpha; the crossover eps is non-decreasing in alpha
    cross = _crossover_eps(data)
    small_eps_r2 = bool(np.all(as_array(data["advantage"])[:, 0] > 0))
    finite = cross[np.isfinite(cross)]
    monotone = finite.size >= 2 and bool(np.all(np.diff(finite) >= 0)) and np.all(np.isfinite(cross[:finite.size]))
    return f"{cross[0]:.3g}->{finite[-1]:.3g}", small_eps_r2 and monotone and cross[0] < finite[-1]


def _advantage_largest_when_scarce(data, params):
    # at the largest eps: advantage of r = 1 (negative = wins) is increasing in alpha, largest at the smallest alpha
    col = as_array(data["advantage"])[:, -1]
    return float(col[0]), bool(col[0] < 0 and np.all(np.diff(col) > 0))


CLAIMS = (
    Claim("dual_norm_wins_from_smaller_eps_when_scarce",
          "The optimal norm depends on eps and on the amount of data: r = 2 wins at small eps, the dual norm r = 1 "
          "(l_inf attack) from a crossover eps on, and that crossover is smaller when data are scarce (2410.16073 "
          "abstract; spec asymptotics.md section 6.7): crossover eps at the smallest alpha -> at the largest alpha "
          "with a crossing (non-decreasing in alpha expected).", _dual_norm_region_grows_when_scarce),
    Claim("regularization_matters_most_when_scarce",
          "In the data-scarce regime the type of regularization becomes increasingly important as perturbations grow "
          "(2410.16073 abstract): min_lam E_adv(r=1) - min_lam E_adv(r=2) at eps_max, at the smallest alpha "
          "(negative, and increasing in alpha, expected).", _advantage_largest_when_scarce),
)


def grids(params: dict) -> tuple[np.ndarray, np.ndarray]:
    """(alpha grid, log-spaced; eps grid, linear), both ascending."""
    alphas = np.logspace(np.log10(float(params["alpha_min"])), np.log10(float(params["alpha_max"])),
                         int(params["n_alpha"]))
    eps_values = np.linspace(float(params["eps_min"]), float(params["eps_max"]), int(params["n_eps"]))
    return alphas, eps_values


def solve_row(r: float, alpha: float, eps_values: np.ndarray, params: dict) -> list[dict]:
    """Optimal-lambda results along eps (ascending) at one (r, alpha), each warm-started from the previous eps."""
    rows = []
    init = None
    for eps in eps_values:
        point = dict(alpha=float(alpha), eps=float(eps), attack=params["attack"], reg=reg_name(r),
                     loss=params["loss"])
        row = robust_optimal_lambda(point, params["lam_bounds"], init=init)
        if row["error"] is not None and init is not None:   # a bad warm start: retry cold
            row = robust_optimal_lambda(point, params["lam_bounds"], init=None)
        if row["state"] is not None:
            init = row["state"]
        row.pop("state")
        rows.append(row)
    return rows


def winners(adv_error: np.ndarray, tolerance: float = TIE_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """Index of the winning r per cell (argmin over axis 0; -1 where any r failed) and a tie mask.

    Parameters
    ----------
    adv_error : array (n_r, n_alpha, n_eps)
        min_lam E_adv per r and cell, NaN where the optimisation failed.
    tolerance : float
        Two errors closer than this are a tie; the lower index is reported as the winner.
    """
    complete = np.all(np.isfinite(adv_error), axis=0)
    filled = np.where(np.isfinite(adv_error), adv_error, np.inf)
    index = np.argmin(filled, axis=0)
    best = np.min(filled, axis=0)
    second = np.sort(filled, axis=0)[1] if adv_error.shape[0] > 1 else np.full(best.shape, np.inf)
    tie = complete & (second - best < tolerance)
    return np.where(complete, index, -1), tie


def compute(params: dict, progress: bool = False) -> dict:
    """min_lam E_adv for every (r, alpha, eps), the winner per cell and the advantage of the first r.

    Parameters
    ----------
    params : dict
        ``alpha_min``, ``alpha_max``, ``n_alpha`` (log grid), ``eps_min``, ``eps_max``, ``n_eps`` (linear grid),
        ``r_values``, ``lam_bounds``, ``attack``, ``loss``, ``n_jobs`` (joblib workers over the (r, alpha) rows;
        results do not depend on it).
    progress : bool
        Show a progress bar over the rows.

    Returns
    -------
    dict
        ``alpha``, ``eps``, ``r_values``; arrays of shape (n_r, n_alpha, n_eps): ``adv_error``, ``gen_error``,
        ``lam`` (the optimal lam), ``lam_high`` (the upper lam bound of the search that succeeded: below
        ``lam_bounds[1]`` where the solver failed at large lam and the bracket was narrowed), ``at_boundary``,
        ``trivial``; per cell: ``winner_index`` (-1 where a r failed),
        ``winner_r`` (None there), ``tie``, ``advantage`` (E_adv(r_0) - min over the other r); ``failures``
        ([{"r", "alpha", "eps", "error"}]).
    """
    alphas, eps_values = grids(params)
    r_values = [float(r) for r in params["r_values"]]
    tasks = [(r, alpha) for r in r_values for alpha in alphas[::-1]]
    n_jobs = int(params.get("n_jobs", 1))
    if n_jobs == 1:
        iterator = tasks
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(tasks, desc="(r, alpha) rows", disable=None)
        results = [solve_row(r, alpha, eps_values, params) for r, alpha in iterator]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, verbose=5 if progress else 0)(
            delayed(solve_row)(r, alpha, eps_values, params) for r, alpha in tasks)
    shape = (len(r_values), alphas.size, eps_values.size)
    fields = {name: np.full(shape, np.nan) for name in ("adv_error", "gen_error", "lam", "lam_high")}
    flags = {name: np.zeros(shape, dtype=bool) for name in ("at_boundary", "trivial")}
    failures = []
    for (r, alpha), rows in zip(tasks, results):
        i, j = r_values.index(r), int(np.flatnonzero(alphas == alpha)[0])
        for k, row in enumerate(rows):
            if row["error"] is not None:
                failures.append({"r": r, "alpha": float(alpha), "eps": float(eps_values[k]), "error": row["error"]})
                continue
            fields["adv_error"][i, j, k] = row["value"]
            fields["gen_error"][i, j, k] = row["gen_error"]
            fields["lam"][i, j, k] = row["lam"]
            fields["lam_high"][i, j, k] = row["lam_bounds"][1]
            flags["at_boundary"][i, j, k] = row["at_boundary"]
            flags["trivial"][i, j, k] = row["trivial"]
    index, tie = winners(fields["adv_error"])
    winner_r = np.where(index >= 0, np.asarray(r_values)[np.maximum(index, 0)], np.nan)
    others = fields["adv_error"][1:] if len(r_values) > 1 else np.full((1,) + shape[1:], np.nan)
    advantage = fields["adv_error"][0] - np.min(others, axis=0)
    return {"alpha": alphas, "eps": eps_values, "r_values": r_values, **fields, **flags, "winner_index": index,
            "winner_r": winner_r, "tie": tie, "advantage": advantage, "failures": failures}


def _edges(centres: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around grid centres (geometric midpoints on a log axis)."""
    x = np.log10(centres) if log else centres
    if x.size == 1:
        mid = np.array([x[0] - 0.5, x[0] + 0.5])
    else:
        inner = 0.5 * (x[1:] + x[:-1])
        mid = np.concatenate([[2 * x[0] - inner[0]], inner, [2 * x[-1] - inner[-1]]])
    return 10.0 ** mid if log else mid


def plot(data: dict, params: dict):
    """(a) winning r per (alpha, eps) cell; (b) E_adv(r_0) - min over the other r, diverging colours + contours."""
    import matplotlib.colors as mcolors
    import matplotlib.patches as mpatches

    alphas = np.asarray(data["alpha"], dtype=np.float64)
    eps_values = np.asarray(data["eps"], dtype=np.float64)
    r_values = [float(r) for r in data["r_values"]]
    index = np.asarray(data["winner_index"], dtype=np.float64)
    index[index < 0] = np.nan
    ties = np.asarray(data["tie"], dtype=bool)
    at_edge = np.asarray(data["at_boundary"], dtype=bool)
    advantage = as_array(data["advantage"])
    alpha_edges, eps_edges = _edges(alphas, log=True), _edges(eps_values, log=False)

    fig, axes = style.subplots(1, 2, width=3.7, height=3.1)
    ax = axes[0, 0]
    colours = ["#d1495b", "#00798c", "#edae49", "#66a182", "#8d96a3"][:len(r_values)]
    cmap = mcolors.ListedColormap(colours).with_extremes(bad="0.85")
    ax.pcolormesh(alpha_edges, eps_edges, np.ma.masked_invalid(index).T, cmap=cmap, vmin=-0.5,
                  vmax=len(r_values) - 0.5, shading="flat")
    if ties.any():
        ti, tj = np.nonzero(ties)
        ax.plot(alphas[ti], eps_values[tj], "x", color="k", ms=3, mew=0.6)
        handles_ties = True
    else:
        handles_ties = False
    # dots where the winner's optimal lam sits at the edge of the lam bracket
    safe_index = np.nan_to_num(index, nan=0).astype(int)
    winner_edge = np.take_along_axis(at_edge, safe_index[None], axis=0)[0] & np.isfinite(index)
    if winner_edge.any():
        ei, ej = np.nonzero(winner_edge)
        ax.plot(alphas[ei], eps_values[ej], ".", color="k", ms=2.5)
    handles = [mpatches.Patch(color=c, label=rf"$r={r:g}$ wins") for c, r in zip(colours, r_values)]
    if winner_edge.any():
        handles.append(ax.plot([], [], ".", color="k", ms=4, label=r"winner's $\lambda^*$ at a bracket edge")[0])
    if handles_ties:
        handles.append(ax.plot([], [], "x", color="k", ms=4, label="tie")[0])
    if np.isnan(index).any():
        handles.append(mpatches.Patch(color="0.85", label="solver failed"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=7, frameon=False)
    ax.set_xscale("log")
    ax.set_xlabel(r"sample ratio $\alpha = n/d$")
    ax.set_ylabel(r"attack size $\varepsilon$")
    ax.set_title(r"(a) winning $r$")
    ax.grid(False)

    ax = axes[0, 1]
    finite = advantage[np.isfinite(advantage)]
    limit = float(np.max(np.abs(finite))) if finite.size else 1.0
    limit = limit if limit > 0 else 1.0
    mesh = ax.pcolormesh(alpha_edges, eps_edges, np.ma.masked_invalid(advantage).T, cmap="RdBu_r",
                         norm=mcolors.TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit), shading="flat")
    if finite.size and alphas.size > 1 and eps_values.size > 1:
        levels = np.linspace(-limit, limit, 9)
        filled = np.ma.masked_invalid(advantage).T
        ax.contour(alphas, eps_values, filled, levels=[lv for lv in levels if abs(lv) > 1e-12], colors="0.3",
                   linewidths=0.5)
        if finite.min() < 0 < finite.max():
            ax.contour(alphas, eps_values, filled, levels=[0.0], colors="k", linewidths=1.4)
    bar = fig.colorbar(mesh, ax=ax, pad=0.02)
    if len(r_values) == 2:
        rest = rf"E_{{\mathrm{{adv}}}}(r={r_values[1]:g})"
    else:
        rest = r"\min_{r\neq %g} E_{\mathrm{adv}}(r)" % r_values[0]
    bar.set_label(rf"$E_{{\mathrm{{adv}}}}(r={r_values[0]:g}) - {rest}$", fontsize=7.5)
    ax.set_xscale("log")
    ax.set_xlabel(r"sample ratio $\alpha = n/d$")
    ax.set_ylabel(r"attack size $\varepsilon$")
    ax.set_title(rf"(b) advantage of $r={r_values[0]:g}$ (blue: $r={r_values[0]:g}$ wins)")
    ax.grid(False)
    fig.suptitle(rf"{params['loss']} loss, {attack_label(params['attack'])} attack, $R(w)=\Sigma_j|w_j|^r$, "
                 r"lowest $E_{\mathrm{adv}}$ with each $r$ at its optimal $\lambda$", fontsize=9)
    return fig
