"""Oracle B (z1 = (4, 1), z2 = (1, 2)): each steepest descent maximises the margin of its own norm.

Panels 1-3: normalized margins in l2, linf and l1 along normalized GD, sign descent and coordinate descent (linear
model, exponential loss, w0 = 0); each algorithm's own-norm margin climbs to its max margin (sqrt 5, 3, 7/4, dashed),
the other flavours stay below theirs. Panel 4: depth-2 diagonal network u^2 - v^2 on the same data, angle of the
predictor w: GD goes to the l1 max-margin direction (1, 3) (71.57 deg), sign descent to the linf one (1, 1) (45 deg),
coordinate descent to a 1-sparse point. Spec: ``margins.md`` §3.3-3.4; guide ``docs/margins.md``.
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim

NAME = "margins_oracle_b"
TITLE = "Oracle B: own-norm margins of GD / sign / coordinate descent and diagonal-net limit directions"
REQUIRES = ()
PRESETS = {
    "quick": dict(steps=200_000, lr=0.01, diag_steps=400_000, diag_lr=2e-3, init_scale=1e-2, checkpoints=150),
    "paper": dict(steps=2_000_000, lr=0.01, diag_steps=2_000_000, diag_lr=1e-3, init_scale=1e-2, checkpoints=300),
}
ALGOS = (("GD", "l2"), ("sign", "linf"), ("CD", "l1"))
FLAVOURS = (("l2", "margin_l2", np.sqrt(5.0)), ("linf", "margin_linf", 3.0), ("l1", "margin_l1", 1.75))
LIMIT_ANGLES = {"GD": [71.56505117707799], "sign": [45.0], "CD": [0.0, 90.0]}   # l1 / linf max margin, 1-sparse


def _own_margin_ratio(data, params):
    # worst final own-norm margin / that norm's max margin over the three algorithms
    ratios = [data["linear"][label][f"margin_{norm}"][-1] / data["max_margin"][norm] for label, norm in ALGOS]
    return min(ratios), min(ratios) >= 0.999


def _own_norm_winner(data, params):
    # each algorithm has the largest final margin of the three in its own norm
    wins = sum(max(ALGOS, key=lambda a: data["linear"][a[0]][f"margin_{norm}"][-1])[0] == label
               for label, norm in ALGOS)
    return wins, wins == len(ALGOS)


def _diagonal_angles(data, params):
    # largest distance (degrees) of a diagonal-net limit angle from its predicted direction
    worst = max(min(abs(data["diagonal"][label]["angle"][-1] - a) for a in LIMIT_ANGLES[label]) for label, _ in ALGOS)
    return worst, worst <= 1.0


CLAIMS = (
    Claim("own_norm_margin_maximised",
          "Each steepest descent maximises the margin of its own norm (Gunasekar et al. 2018; spec margins.md "
          "section 3.3, oracle B): worst final own-norm margin / max margin over GD, sign, CD (>= 0.999 expected).",
          _own_margin_ratio),
    Claim("each_algorithm_wins_its_own_norm",
          "The other flavours stay below: in each norm the algorithm of that norm has the largest final margin "
          "(spec margins.md section 3.3): number of norms won by their own algorithm (3 expected).", _own_norm_winner),
    Claim("diagonal_net_limit_directions",
          "A depth-2 diagonal net trained by GD goes to the l1 max-margin direction (1, 3) (71.57 deg), by sign "
          "descent to the l_inf one (45 deg), by CD to a 1-sparse point (spec margins.md section 3.4): largest "
          "angular distance to the predicted direction, degrees (<= 1 expected).", _diagonal_angles),
)


def compute(params: dict, progress: bool = False) -> dict:
    from asymptotics import max_margin
    from simulate.steepest import diagonal_descent, steepest_descent

    X, y = np.array([[4.0, 1.0], [1.0, 2.0]]), np.ones(2)
    out = {"linear": {}, "diagonal": {}, "max_margin": {}}
    for flavour, _, _ in FLAVOURS:
        out["max_margin"][flavour] = max_margin(X, y, norm=flavour).margin
    for label, norm in ALGOS:
        run = steepest_descent(X, y, norm=norm, steps=int(params["steps"]), lr=float(params["lr"]), normalized=True,
                               checkpoints=int(params["checkpoints"]))
        out["linear"][label] = {"steps": run.steps, **{key: run[key] for _, key, _ in FLAVOURS}, "w": run.w[-1]}
        diag = diagonal_descent(X, y, norm=norm, depth=2, init_scale=float(params["init_scale"]),
                                steps=int(params["diag_steps"]), lr=float(params["diag_lr"]), normalized=True,
                                checkpoints=int(params["checkpoints"]))
        angle = np.degrees(np.arctan2(diag.w[:, 1], diag.w[:, 0]))
        out["diagonal"][label] = {"steps": diag.steps, "angle": angle, "w": diag.w[-1]}
    return out


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 4, width=2.45, height=2.3)
    colors = {"GD": "C0", "sign": "C1", "CD": "C2"}
    for ax, (flavour, key, _) in zip(axes[0, :3], FLAVOURS):
        star = data["max_margin"][flavour]
        for label, _ in ALGOS:
            run = data["linear"][label]
            steps = np.asarray(run["steps"], float)
            ax.plot(steps[1:], np.asarray(run[key], float)[1:], color=colors[label], label=label)
        ax.axhline(star, ls="--", color="k", lw=0.9, label="max margin")
        ax.set_xscale("log")
        ax.set_xlabel("step")
        name = {"l2": r"\ell_2", "linf": r"\ell_\infty", "l1": r"\ell_1"}[flavour]
        ax.set_title(rf"${name}$-normalized margin")
        lo = min(np.nanmin(np.asarray(data["linear"][a][key], float)[-20:]) for a, _ in ALGOS)
        ax.set_ylim(lo - 0.25 * (star - lo) - 0.05, star + 0.12 * (star - lo) + 0.02)
    axes[0, 0].set_ylabel(r"$\min_i \langle w, z_i\rangle / \|w\|$")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=4, frameon=False)
    ax = axes[0, 3]
    for label, _ in ALGOS:
        run = data["diagonal"][label]
        steps = np.asarray(run["steps"], float)
        ax.plot(steps[1:], np.asarray(run["angle"], float)[1:], color=colors[label], label=label)
    for deg, text in ((np.degrees(np.arctan(3.0)), r"$\ell_1$ max margin"), (45.0, r"$\ell_\infty$"),
                      (np.degrees(np.arctan(2.0)), r"$\ell_2$"), (0.0, "1-sparse")):
        ax.axhline(deg, ls=":", color="0.4", lw=0.8)
        ax.annotate(text, (3e5 if deg == 45.0 else 1.5, deg), fontsize=6.5, va="bottom", color="0.3",
                    ha="right" if deg == 45.0 else "left")
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("angle of w (deg)")
    ax.set_title(r"diagonal net $u^2 - v^2$")
    ax.set_ylim(-5, 95)          # colours as in the figure legend above the panels
    return fig
