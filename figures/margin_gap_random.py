"""Random separable data: relative own-norm margin gap and stationarity gaps vs steps, four steepest descents.

Data: Gaussian X (n x d, d > n), labels from a 5-sparse Gaussian teacher, several seeds run as one ``prange`` batch.
Algorithms: GD (l2), sign descent (linf), coordinate descent (l1), l3 descent, exponential loss, loss-scaled steps
``eta_t = c / (B^2 L_t)`` with ``B = max_i ||z_i||_*``. Panel 1: ``1 - gamma(w_t) / gamma*`` in the algorithm's
norm (median and range over seeds; gamma* from ``asymptotics.max_margin``), log-log. Panel 2: flow stationarity gap
``1 - beta_t`` (lines, median over seeds) and the scale-free (eps, delta)-KKT residual of the iterate,
``eps_stat/||w_hat|| + delta/||w_hat||^2`` (``asymptotics.kkt_residual``, markers, seed 0). (The Bregman gap
``1 - beta*`` alone is 0 for every GD iterate from w0 = 0, which is a nonnegative combination of the z_i: only the
complementary-slackness part is informative there.) Guide: ``docs/margins.md``.
"""
from __future__ import annotations

import numpy as np

from . import style

NAME = "margin_gap_random"
TITLE = "Random separable data: margin gap and stationarity gaps vs steps (GD, sign, CD, l3; loss-scaled steps)"
REQUIRES = ()
PRESETS = {
    "quick": dict(n=40, d=100, seeds=4, steps=100_000, c=1.0, checkpoints=80, kkt_points=10),
    "paper": dict(n=100, d=400, seeds=10, steps=1_000_000, c=1.0, checkpoints=150, kkt_points=20),
}
ALGOS = (("GD", "l2"), ("sign", "linf"), ("CD", "l1"), (r"$\ell_3$", "l3"))


def _data(n, d, seeds):
    X, Y = [], []
    for s in range(seeds):
        rng = np.random.default_rng(1000 + s)
        x = rng.standard_normal((n, d))
        teacher = np.zeros(d)
        teacher[:5] = rng.standard_normal(5)
        X.append(x)
        Y.append(np.where(x @ teacher > 0, 1.0, -1.0))
    return np.stack(X), np.stack(Y)


def compute(params: dict, progress: bool = False) -> dict:
    import asymptotics
    from simulate.steepest import steepest_descent

    n, d, seeds = int(params["n"]), int(params["d"]), int(params["seeds"])
    X, Y = _data(n, d, seeds)
    out = {"algorithms": {}}
    for label, norm in ALGOS:
        nrm = asymptotics.parse_norm(norm)
        stars = np.array([asymptotics.max_margin(X[s], Y[s], norm=norm).margin for s in range(seeds)])
        bound = np.array([np.max(np.linalg.norm(X[s], ord=nrm.dual_exponent, axis=1)) for s in range(seeds)])
        run = steepest_descent(X, Y, norm=norm, steps=int(params["steps"]), lr=float(params["c"]) / bound ** 2,
                               schedule="loss_scaled", checkpoints=int(params["checkpoints"]))
        gap = 1.0 - run["margin_own"] / stars[:, None]
        idx = np.unique(np.geomspace(1, run.steps.size - 1, int(params["kkt_points"])).astype(int))
        kkt = []
        for k in idx:
            if not run["margin_own"][0, k] > 0:
                kkt.append(np.nan)
                continue
            res = asymptotics.kkt_residual(run.w[0, k], X[0], Y[0], norm=norm)
            # scale-free (eps, delta)-KKT residual of w_hat = w / q_min: eps/||w_hat|| + delta/||w_hat||^2
            size = np.sqrt(res.norm_sq_over_L)
            kkt.append(res.stationarity / size + res.complementary_slackness / size ** 2)
        out["algorithms"][label] = {"norm": norm, "steps": run.steps, "gap": gap, "flow_gap": 1.0 - run["beta"],
                                    "gamma_star": stars, "kkt_steps": run.steps[idx], "kkt_gap": kkt}
    return out


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 2, width=3.3, height=2.6)
    for i, (label, _) in enumerate(ALGOS):
        rec = data["algorithms"][label]
        steps = np.asarray(rec["steps"], float)
        color = f"C{i}"
        gap = np.asarray(rec["gap"], float)
        gap = np.where(gap > 0, gap, np.nan)
        ok = steps > 0
        with np.errstate(all="ignore"):
            med = np.nanmedian(gap, axis=0)
        axes[0, 0].plot(steps[ok], med[ok], color=color, label=label)
        axes[0, 0].fill_between(steps[ok], np.nanmin(gap, axis=0)[ok], np.nanmax(gap, axis=0)[ok], color=color,
                                alpha=0.18, lw=0)
        flow = np.asarray(rec["flow_gap"], float)
        flow = np.where(flow > 1e-16, flow, 1e-16)
        axes[0, 1].plot(steps[ok], np.nanmedian(flow, axis=0)[ok], color=color, label=rf"{label} $1-\beta_t$")
        kkt = np.asarray([np.nan if v is None else v for v in rec["kkt_gap"]], float)
        kkt = np.where(kkt > 1e-16, kkt, np.nan)
        axes[0, 1].plot(np.asarray(rec["kkt_steps"], float), kkt, "o", ms=3.2, color=color, mfc="none")
    for ax in axes[0]:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step")
    axes[0, 0].set_ylabel(r"relative margin gap $1 - \gamma(w_t)/\gamma^*$")
    axes[0, 0].set_title(f"own-norm margin gap (n={params['n']}, d={params['d']})")
    axes[0, 0].legend(loc="lower left")
    axes[0, 1].set_ylabel("stationarity gap")
    axes[0, 1].set_title(r"lines: $1-\beta_t$;  circles: KKT residual")
    fig.tight_layout()
    return fig
