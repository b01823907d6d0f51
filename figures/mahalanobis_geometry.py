"""Mahalanobis attack with a Mahalanobis regularizer: which regularizer geometry wins, theory and finite-d ERM.

The non-lp case of the adversarial-regularization paper (spec ``asymptotics.md`` §1.2, §1.4(b), §2.3 formula (2.7)):
logistic loss, noiseless sign teacher, isotropic data, attack ball ``{delta: delta^T Sigma_delta^{-1} delta <= eps^2}``
(training and test margin shift ``eps sqrt(w^T Sigma_delta w / d)``), regularizer ``lam w^T Sigma_w w`` (no 1/2) with
three geometries of the same determinant:

* ``Sigma_w = Sigma_delta``: the dual norm of the attack (the Rademacher bound of spec §5 is smallest for it);
* ``Sigma_w = I``: plain ridge (matches the isotropic teacher);
* ``Sigma_w = Sigma_delta^{-1}``: the attack's own (primal) norm.

Sigma_delta has two equal blocks of eigenvalues (0.25, 4). For every (alpha, geometry, eps) the robust error is
minimised over lam (:func:`asymptotics.optimal_lambda`, warm-started along eps); the curves are min_lam E_adv vs eps.
Points: :func:`simulate.erm` at the theory's lam*, mean +- standard error over seeds of the exact Gaussian robust error
at the measured overlaps. The spec's message (blog): regularizing with the dual norm of the attacker is often good but
can be suboptimal when data are scarce; here the dual-norm geometry wins above a crossover eps_c(alpha) and the
ridge below it.
"""
from __future__ import annotations

import math

import numpy as np

from . import style
from .claims import Claim
from .measures import arr
from .reg_order_optimal_lambda import robust_optimal_lambda

NAME = "mahalanobis_geometry"
TITLE = ("Mahalanobis attack: robust error vs eps at the optimal lambda for Sigma_w = Sigma_delta (dual norm), I and "
         "Sigma_delta^{-1} (state evolution + finite-d ERM)")
REQUIRES = ()
GEOMETRIES = ("dual", "ridge", "primal")
GEOMETRY_LABELS = {"dual": r"$\Sigma_w=\Sigma_\delta$ (dual norm)", "ridge": r"$\Sigma_w=I$ (ridge)",
                   "primal": r"$\Sigma_w=\Sigma_\delta^{-1}$"}
PRESETS = {
    "quick": dict(alphas=[0.3, 1.0], sigma_delta=[0.25, 4.0], eps_max=0.8, n_eps=17, sim_eps=[0.0, 0.4, 0.8],
                  lam_bounds=[1e-4, 10.0], d=500, seeds=4, n_test=2000, loss="logistic"),
    "paper": dict(alphas=[0.1, 0.3, 1.0], sigma_delta=[0.25, 4.0], eps_max=0.8, n_eps=33,
                  sim_eps=[0.0, 0.2, 0.4, 0.6, 0.8], lam_bounds=[1e-4, 10.0], d=2000, seeds=10, n_test=5000,
                  loss="logistic"),
}


def geometry_spectra(sigma_delta) -> dict:
    """Spectra of Sigma_w for the three geometries (equal determinants: the blocks of Sigma_delta are swapped)."""
    s = np.asarray(sigma_delta, dtype=np.float64)
    return {"dual": s, "ridge": np.ones_like(s), "primal": 1.0 / s}


def point_of(geometry: str, sigma_delta, loss: str) -> dict:
    """The problem (without alpha, eps, lam) of one geometry."""
    from asymptotics import Attack, Regularizer

    return dict(attack=Attack.mahalanobis(np.asarray(sigma_delta, dtype=np.float64)),
                reg=Regularizer.mahalanobis(geometry_spectra(sigma_delta)[geometry]), loss=loss)


def eps_grid(params: dict) -> np.ndarray:
    """Linear eps grid on [0, eps_max], with the simulated eps added."""
    grid = np.linspace(0.0, float(params["eps_max"]), int(params["n_eps"]))
    return np.unique(np.round(np.concatenate([grid, arr(params["sim_eps"])]), 12))


def crossover(eps, diff) -> float:
    """First eps where ``diff`` (dual minus ridge) changes sign from + to - (linear interpolation); NaN if none."""
    eps, diff = arr(eps), arr(diff)
    for i in range(eps.size - 1):
        if diff[i] > 0 >= diff[i + 1]:
            return float(eps[i] + (eps[i + 1] - eps[i]) * diff[i] / (diff[i] - diff[i + 1]))
    return math.nan


def compute(params: dict, progress: bool = False) -> dict:
    """Optimal-lam robust error over eps per (alpha, geometry), and ERM at the simulated eps.

    Returns
    -------
    dict with ``eps`` and per alpha (key ``"alpha=<alpha>"``) per geometry: ``adv_error``, ``gen_error``, ``lam``
    (the optimum), ``at_boundary``, ``failures``; ``sim`` (``eps``, ``lam``, theory ``adv_error`` and ``gen_error``
    at those points, ERM ``adv_mean``, ``adv_se``, ``gen_mean``, ``gen_se``, ``q_mean``); and ``crossover`` (eps
    where the dual geometry overtakes the ridge).
    """
    import simulate

    eps_values = eps_grid(params)
    sim_eps = [float(e) for e in params["sim_eps"]]
    seeds = int(params["seeds"])
    blocks = {}
    jobs = [(float(a), g) for a in params["alphas"] for g in GEOMETRIES]
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc="(alpha, geometry)", disable=None)
    for alpha, geometry in jobs:
        base = point_of(geometry, params["sigma_delta"], params["loss"])
        rows, init = [], None
        for eps in eps_values:                  # upward in eps, warm-started from the previous optimum
            row = robust_optimal_lambda(dict(alpha=alpha, eps=float(eps), **base), params["lam_bounds"], init=init)
            if row["error"] is not None and init is not None:
                row = robust_optimal_lambda(dict(alpha=alpha, eps=float(eps), **base), params["lam_bounds"])
            init = row["state"] or init
            rows.append(row)
        curve = {"adv_error": [r["value"] for r in rows], "gen_error": [r["gen_error"] for r in rows],
                 "lam": [r["lam"] for r in rows], "at_boundary": [r["at_boundary"] for r in rows],
                 "failures": [{"eps": float(e), "error": r["error"]} for e, r in zip(eps_values, rows) if r["error"]]}
        sim = {k: [] for k in ("eps", "lam", "adv_error", "gen_error", "adv_mean", "adv_se", "gen_mean", "gen_se",
                               "q_mean")}
        for eps in sim_eps:
            row = rows[int(np.argmin(np.abs(eps_values - eps)))]
            if not math.isfinite(row["lam"]):
                continue
            res = simulate.erm(alpha=alpha, eps=eps, lam=row["lam"], **base, d=int(params["d"]), seeds=seeds,
                               n_test=int(params["n_test"]))
            for key, value in (("eps", eps), ("lam", row["lam"]), ("adv_error", row["adv_error"]),
                               ("gen_error", row["gen_error"]), ("adv_mean", res.mean["adv_error"]),
                               ("adv_se", res.std["adv_error"] / math.sqrt(seeds)), ("gen_mean", res.mean["gen_error"]),
                               ("gen_se", res.std["gen_error"] / math.sqrt(seeds)), ("q_mean", res.mean["q"])):
                sim[key].append(float(value))
        blocks.setdefault(f"alpha={alpha:g}", {"alpha": alpha})[geometry] = {**curve, "sim": sim}
    for block in blocks.values():
        diff = arr(block["dual"]["adv_error"]) - arr(block["ridge"]["adv_error"])
        block["crossover"] = crossover(eps_values, diff)
    return {"eps": eps_values, "sigma_delta": [float(s) for s in params["sigma_delta"]], "alphas": blocks}


# ---- claims --------------------------------------------------------------------------------------------------------

def z_scores(data) -> np.ndarray:
    """(ERM mean - theory) / standard error for every simulated point, robust and clean error."""
    out = []
    for block in data["alphas"].values():
        for g in GEOMETRIES:
            s = block[g]["sim"]
            for mean, se, theory in (("adv_mean", "adv_se", "adv_error"), ("gen_mean", "gen_se", "gen_error")):
                out.append((arr(s[mean]) - arr(s[theory])) / arr(s[se]))
    return np.concatenate(out) if out else np.array([])


def _dual_wins_at_large_eps(data, params):
    # at the largest eps, for every alpha: E(dual) < E(ridge) < E(primal); value: smallest E(ridge) - E(dual)
    gaps, ok = [], True
    for block in data["alphas"].values():
        d, r, p = (arr(block[g]["adv_error"])[-1] for g in GEOMETRIES)
        gaps.append(r - d)
        ok = ok and d < r < p
    return min(gaps), ok


def _ridge_wins_small_eps(data, params):
    # at eps = 0 ridge beats the dual geometry by >= 0.005 at every alpha; a crossover exists at every alpha and
    # increases with alpha (the dual norm pays off from a smaller eps when data are scarce)
    blocks = sorted(data["alphas"].values(), key=lambda b: b["alpha"])
    cross = [b["crossover"] for b in blocks]
    ok = all(arr(b["dual"]["adv_error"])[0] - arr(b["ridge"]["adv_error"])[0] >= 0.005 for b in blocks)
    ok = ok and all(c is not None and math.isfinite(c) for c in cross) and bool(np.all(np.diff(arr(cross)) > 0))
    return "eps_c: " + ", ".join(f"{b['alpha']:g}:{c:.3f}" if c is not None else f"{b['alpha']:g}:none"
                                 for b, c in zip(blocks, cross)), ok


def _simulation_agrees(data, params):
    z = np.abs(z_scores(data))
    worst = float(np.nanmax(z)) if z.size and np.isfinite(z).any() else math.nan
    return worst, math.isfinite(worst) and worst <= 3.0


EVIDENCE_SIMULATION = (
    "paper preset (d = 2000, 10 seeds, 45 points, 90 z-scores): max |z| = 3.28 at one point (alpha = 1, ridge, "
    "eps = 0: ERM 0.0021 above the theory, SE 0.00065); every other |z| <= 2.5. Rerun of that point: d = 1000 with "
    "20 seeds -0.0004 (z -0.3), d = 4000 with 10 seeds -0.0002 (z -0.3), d = 500 with 40 seeds +0.0012 (z 0.9): a "
    "seed fluctuation with an underestimated 10-seed SE, not a bias (with 90 Student-t statistics of 9 dof, one "
    "beyond 3.28 is expected about half the time). quick (d = 500, 4 seeds): max |z| = 1.26.")

CLAIMS = (
    Claim("dual_norm_matching_wins_at_large_eps",
          "For a Mahalanobis attack the regularizer matched to the attack's dual norm (Sigma_w = Sigma_delta) gives "
          "the lowest robust error once the attack is strong, and the attack's own norm (Sigma_w = Sigma_delta^{-1}) "
          "the highest (2410.16073 non-lp case; spec asymptotics.md sections 1.4 and 5): at the largest eps, "
          "E(dual) < E(ridge) < E(primal) at every alpha, all at their optimal lam (value: smallest E(ridge) - "
          "E(dual)).", _dual_wins_at_large_eps),
    Claim("dual_norm_suboptimal_at_small_eps",
          "Regularizing with the dual norm of the attacker is often good but can be suboptimal (Loureiro blog): at "
          "eps = 0 the ridge beats Sigma_w = Sigma_delta by >= 0.005 at every alpha, and the crossover eps_c where "
          "the dual geometry takes over is smaller when data are scarcer (increasing in alpha expected).",
          _ridge_wins_small_eps),
    Claim("simulation_agrees_with_theory",
          "The exact asymptotics describe finite-d Mahalanobis robust ERM (spec section 4): largest |ERM - theory| "
          "/ SE over every simulated (alpha, geometry, eps), robust and clean error (<= 3 expected).",
          _simulation_agrees, expected=("quick",), evidence=EVIDENCE_SIMULATION),
)


# ---- plot ----------------------------------------------------------------------------------------------------------

def plot(data: dict, params: dict):
    """One panel per alpha: min_lam E_adv vs eps per geometry (lines), ERM points (+- SE), the crossover marked."""
    blocks = data["alphas"]
    fig, axes = style.subplots(1, len(blocks), width=3.6, height=3.0, sharey=True)
    eps = arr(data["eps"])
    colours = dict(zip(GEOMETRIES, ("tab:red", "tab:blue", "tab:gray")))
    for ax, block in zip(axes[0], blocks.values()):
        for g in GEOMETRIES:
            c = block[g]
            ax.plot(eps, arr(c["adv_error"]), color=colours[g], label=GEOMETRY_LABELS[g])
            ax.plot(eps, arr(c["gen_error"]), color=colours[g], ls=":", lw=0.9)
            s = c["sim"]
            if s["eps"]:
                ax.errorbar(s["eps"], s["adv_mean"], yerr=s["adv_se"], fmt="o", ms=3.5, color=colours[g],
                            mec="k", mew=0.5, capsize=2)
        if block["crossover"] is not None and math.isfinite(block["crossover"]):
            ax.axvline(block["crossover"], color="k", lw=0.7, ls="--")
            ax.annotate(rf"$\varepsilon_c={block['crossover']:.2f}$", (block["crossover"], 0.02),
                        xycoords=("data", "axes fraction"), xytext=(3, 0), textcoords="offset points", fontsize=7)
        ax.set_xlabel(r"attack size $\varepsilon$")
        ax.set_title(rf"$\alpha={block['alpha']:g}$")
    axes[0, 0].set_ylabel(r"$\min_\lambda E_{\mathrm{adv}}$ (dotted: $E_{\mathrm{gen}}$ there)")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=len(GEOMETRIES), fontsize=7)
    z = np.abs(z_scores(data))
    zmax = f"{np.nanmax(z):.1f}" if z.size and np.isfinite(z).any() else "n/a"
    blocks_text = tuple(data["sigma_delta"])
    fig.suptitle(rf"{params['loss']} loss, Mahalanobis attack $\Sigma_\delta$ = diag blocks {blocks_text}"
                 rf", $R(w)=w^T\Sigma_w w$; points: ERM d = {params['d']}, {params['seeds']} seeds at $\lambda^*$ "
                 rf"(max |ERM - theory|/SE = {zmax}); dashed: $\Sigma_\delta$ overtakes $I$", fontsize=8)
    if z.size and np.nanmax(z) > 3.0:     # the claim simulation_agrees_with_theory fails here: say so, with why
        fig.text(0.5, -0.02, f"{int(np.sum(z > 3.0))} of {z.size} z-scores (robust and clean error per point) above "
                 "3: agreement within 3 SE not met at this preset; at the paper preset that point is a seed "
                 "fluctuation (rerun at d = 1000 and 4000: |z| = 0.3), see the claim's evidence", ha="center",
                 va="top", fontsize=7)
    return fig
