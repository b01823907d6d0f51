"""Convergence map of the fixed-point solver over the (alpha, eps, lam, r, p) grid of issue 10.

Each cell of the (alpha, eps) panels aggregates the lam x r x p points: the fraction solved (converged or
collapsed to w = 0) and the median number of iterations. Failures raise ConvergenceError with diagnostics and are
listed in the data file.
"""
from __future__ import annotations

import numpy as np

from asymptotics import grid_sweep

from .style import subplots

NAME = "convergence_map"
TITLE = "Where the fixed-point solver converges: fraction solved and iterations over (alpha, eps)"
PRESETS = {
    "quick": dict(alphas=[0.01, 0.1, 1.0, 10.0, 100.0], eps=[0.0, 0.5, 1.0], lams=[1e-4, 1e-2, 1.0, 10.0],
                  rs=[1.0, 1.5, 2.0, 3.0, 4.0], attacks=["l1.5", "l2", "linf"], jobs=2),
    "paper": dict(alphas=list(np.logspace(-2, 2, 17)), eps=list(np.linspace(0, 1, 11)),
                  lams=list(np.logspace(-4, 1, 11)), rs=[1.0, 1.5, 2.0, 3.0, 4.0], attacks=["l1.5", "l2", "linf"],
                  jobs=2),
}
REQUIRES = ()


def compute(params, progress=False) -> dict:
    alphas, eps, lams, rs = params["alphas"], params["eps"], params["lams"], params["rs"]
    solved = np.zeros((len(alphas), len(eps)))
    total = np.zeros_like(solved)
    iterations = [[[] for _ in eps] for _ in alphas]
    failures, collapsed = [], 0
    for attack in params["attacks"]:
        res = grid_sweep(dict(alpha=alphas, eps=eps, lam=lams, r=rs), continuation="alpha", attack=attack,
                         jobs=params["jobs"], progress=progress)
        for rec in res.records:
            p = rec["params"]
            i, j = alphas.index(p["alpha"]), eps.index(p["eps"])
            total[i, j] += 1
            if rec["ok"]:
                solved[i, j] += 1
                collapsed += bool(rec["result"]["trivial"])
                iterations[i][j].append(rec["result"]["iterations"])
            else:
                failures.append({**p, "attack": attack, "error": rec["error"][:200]})
    median_it = np.array([[np.median(c) if c else np.nan for c in row] for row in iterations])
    return {"alphas": alphas, "eps": eps, "fraction_solved": solved / total, "median_iterations": median_it,
            "points": int(total.sum()), "solved": int(solved.sum()), "collapsed": collapsed, "failures": failures}


def plot(data, params):
    fig, axes = subplots(1, 2, width=3.9, height=2.9)
    fig.subplots_adjust(wspace=0.55)
    a = np.asarray(data["alphas"], float)
    e = np.asarray(data["eps"], float)
    frac = np.asarray(data["fraction_solved"], float)
    its = np.asarray(data["median_iterations"], float)
    for ax, values, label, cmap, vmin, vmax in ((axes[0, 0], frac, "fraction solved", "viridis", 0.9, 1.0),
                                               (axes[0, 1], its, "median iterations", "magma", None, None)):
        mesh = ax.pcolormesh(np.arange(len(a) + 1), np.arange(len(e) + 1), values.T, cmap=cmap, vmin=vmin, vmax=vmax)
        fig.colorbar(mesh, ax=ax, label=label)
        ax.set_xticks(np.arange(len(a)) + 0.5, [f"{v:.2g}" for v in a], rotation=60)
        ax.set_yticks(np.arange(len(e)) + 0.5, [f"{v:.2g}" for v in e])
        ax.grid(False)
        ax.set_xlabel(r"$\alpha$")
        ax.set_ylabel(r"$\varepsilon$")
    share = data["solved"] / data["points"]
    fig.suptitle(f"{data['solved']}/{data['points']} solved ({100 * share:.1f}%), {data['collapsed']} collapsed to w=0; "
                 f"aggregated over lam, r, p (0 iterations: w = 0 detected up front)", fontsize=8)
    return fig
