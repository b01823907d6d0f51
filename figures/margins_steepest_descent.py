"""Flavors of margin: GD, sign descent, greedy coordinate descent and Adam on a bias-free 2-layer ReLU net
(Tsilivis, Vardi, Kempe 2025, experiments in the spirit of their Fig. 1; spec margins.md §2.1, §4).

Setting: scikit-learn digits (a binary pair, pixels in [0, 1]), ``f(x) = a^T relu(W x)`` without biases (L = 2),
float64, full batch, summed exponential loss. Every optimizer is fed ``g = grad log L`` (the direction of
``grad L``, free of underflow).

Step sizes (why they follow the flow): the theorems are about steepest *flow*. With a fixed normalized lr the
margins of an L-homogeneous net change by ``~ L q / (t lr) * lr`` per step, which grows like ``t`` and soon exceeds
the exponential loss's temperature 1; the iterates then hop between support vectors instead of following the flow
(sign descent's l-inf margin fell 65.8 -> 46.6 that way). GD, sign and CD therefore take *normalized* steps with
the dual-scaled schedule ``lr_t = c / ||g||_*`` (``deep.optim.SteepestDescent(lr_schedule="dual_scaled")``): every
step lowers ``log L`` by ``c`` to first order, so every margin moves by ``~ c`` per step at any scale (capped at a
relative step ``max_step * ||theta||``, since ``c / ||g||_*`` jumps far where ``g`` is tiny); on the
unnormalized update of ``L`` this is the loss-scaled step ``eta_t = c / (L_t ||grad log L_t||_*^2)``. Adam (the
practice algorithm, torch's Adam with the given betas and eps) uses the same clock, ``lr_t = c / ||g||_1`` (its step
is close to ``sign(g)``).

Logged on a log-spaced schedule: normalized margins ``q_min / ||theta||^2`` in l1, l2 and linf, the smoothed
margins, the alignment ``beta`` in the algorithm's own norm (``1 - beta`` = Fenchel-Young gap of the flow
direction) and train/test accuracy; at the end the KKT residual of the margin problem in the own norm.

Panels: (a-c) one per norm: every algorithm's normalized margin in that norm (log-log); (d) own-norm smoothed
margin relative to its final value; (e) ``1 - beta`` in the own norm; (f) the final algorithm x flavor matrix (each
column divided by its maximum). Claims: :data:`CLAIMS`. Guide: ``docs/margins.md``.
"""
from __future__ import annotations

import math

import numpy as np

from . import style
from .claims import Claim

NAME = "margins_steepest_descent"
TITLE = ("Flavors of margin: GD / sign / coordinate descent grow their own margins (Tsilivis et al. 2025); "
         "normalized steps lr_t = c/||grad log L||_* (log L falls by c per step)")
REQUIRES = ("torch",)
OWN_NORM = {"gd": "l2", "sign": "linf", "cd": "l1", "adam": "linf"}
STEEPEST = ("gd", "sign", "cd")
TEX = {"l1": "1", "l2": "2", "linf": r"\infty"}
PRESETS = {
    "quick": dict(pair=[0, 1], n_train=100, n_test=200, width=32, init_scale=1.0, steps=6000, points=60,
                  algorithms=["gd", "sign", "cd", "adam"], c={"gd": 0.1, "sign": 0.1, "cd": 0.1, "adam": 0.1},
                  max_step=0.001, adam_betas=[0.9, 0.999], adam_eps=1e-16, seed=0, kkt=True, device=None),
    "paper": dict(pair=[0, 1], n_train=500, n_test=500, width=256, init_scale=1.0, steps=100000, points=100,
                  algorithms=["gd", "sign", "cd", "adam"], c={"gd": 0.05, "sign": 0.05, "cd": 0.05, "adam": 0.05},
                  max_step=0.001, adam_betas=[0.9, 0.999], adam_eps=1e-16, seed=0, kkt=True, device=None),
}


def _optimizer(name, params, c, max_lr, betas, eps):
    """Adam, or normalized steepest descent in the algorithm's norm with ``lr_t = min(c / ||g||_*, max_lr)``."""
    import torch

    from deep.optim import SteepestDescent

    if name == "adam":
        return torch.optim.Adam(params, lr=c, betas=tuple(betas), eps=eps)
    return SteepestDescent(params, lr=c, norm=OWN_NORM[name], normalized=True, lr_schedule="dual_scaled",
                           max_lr=max_lr)


def run_algorithm(name: str, params: dict, progress: bool = False) -> dict:
    """Train one algorithm from the shared initialisation; return its tracked history and final KKT residual."""
    import torch

    from deep.data import digits_binary
    from deep.device import default_device
    from deep.margins import MarginTracker, kkt_residual_network, log_loss, log_schedule, pair_margins
    from deep.models import HomogeneousMLP
    from deep.optim.norms import parse_norm

    dtype, device = torch.float64, default_device(params["device"])
    data = digits_binary(tuple(params["pair"]), n_train=params["n_train"], n_test=params["n_test"],
                         seed=params["seed"], device=device, dtype=dtype)
    gen = torch.Generator().manual_seed(int(params["seed"]))          # CPU draws, then moved: same init anywhere
    model = HomogeneousMLP(data.n_features, [params["width"]], init_scale=params["init_scale"], generator=gen,
                           dtype=dtype).to(device)
    c, max_step = float(params["c"][name]), float(params["max_step"])
    geometry = parse_norm(OWN_NORM[name])
    opt = _optimizer(name, model.parameters(), c, 1.0, params["adam_betas"], params["adam_eps"])
    steps = int(params["steps"])
    own = OWN_NORM[name]
    tracker = MarginTracker(model, data.X_train, data.y_train, steps=log_schedule(steps, int(params["points"])),
                            norms=("l1", "l2", "linf"), X_test=data.X_test, y_test=data.y_test,
                            alignment_norms=(own,))
    first_fit = None
    for step in range(steps + 1):
        row = tracker(step)
        if row is not None and first_fit is None and row["accuracy"] == 1.0:
            first_fit = step
        if step == steps:
            break
        opt.zero_grad(set_to_none=True)
        log_loss(pair_margins(model(data.X_train), data.y_train)).backward()
        # c / ||g||_* is a first-order rule: where g is tiny (a near-flat start) it would jump far, so each step is
        # also capped at max_step * ||theta|| (a relative step, scale-free like the flow)
        cap = max_step * float(geometry.norm(list(model.parameters())))
        if name == "adam":      # Adam's step ~ sign(g): the sign clock c / ||g||_1
            l1 = float(sum(p.grad.abs().sum() for p in model.parameters()))
            opt.param_groups[0]["lr"] = min(c / l1, cap) if l1 > 0 else cap
        else:
            opt.param_groups[0]["max_lr"] = cap
        opt.step()
    out = {"history": tracker.to_dict(), "own_norm": own, "first_fit_logged": first_fit}
    if params["kkt"] and tracker.history["q_min"][-1] > 0:
        res = kkt_residual_network(model, data.X_train, data.y_train, own)
        out["kkt"] = {k: v for k, v in res.to_dict().items() if k != "lambdas"}
    return out


def compute(params: dict, progress: bool = False) -> dict:
    runs = {name: run_algorithm(name, params, progress) for name in params["algorithms"]}
    flavors = ["l1", "l2", "linf"]
    matrix = [[runs[a]["history"][f"margin_{f}"][-1] for f in flavors] for a in params["algorithms"]]
    return {"algorithms": list(params["algorithms"]), "flavors": flavors, "runs": runs, "final_margins": matrix}


# -- claims ------------------------------------------------------------------------------------------------------

def _arr(values):
    return np.asarray([np.nan if v is None else v for v in values], float)


def largest_smoothed_drop(hist: dict, own: str) -> float:
    """Largest relative fall of the own-norm smoothed margin below its running maximum, from the first logged step
    with perfect training accuracy on (``(max_{s<=t} m_s - m_t) / |max_{s<=t} m_s|``; 0 when non-decreasing)."""
    acc, sm = _arr(hist["accuracy"]), _arr(hist[f"smoothed_{own}"])
    fit = np.flatnonzero(acc == 1.0)
    if fit.size == 0:
        return math.inf
    sm = sm[fit[0]:]
    peak = np.maximum.accumulate(sm)
    return float(np.max((peak - sm) / np.maximum(np.abs(peak), 1e-300)))


def last_decade_slope(hist: dict, own: str) -> float:
    """Least-squares slope of ``log(1 - beta)`` against ``log(step)`` over the last decade of logged steps."""
    steps, gap = _arr(hist["step"]), 1.0 - _arr(hist[f"beta_{own}"])
    keep = (steps >= steps[-1] / 10) & (gap > 0)
    return float(np.polyfit(np.log(steps[keep]), np.log(gap[keep]), 1)[0])


def _monotone(data, params):
    drops = {a: largest_smoothed_drop(data["runs"][a]["history"], OWN_NORM[a]) for a in data["algorithms"]}
    worst = max(drops.values())
    return worst, worst <= 0.01


def _own_winners(data, params):
    algos, flavors = data["algorithms"], data["flavors"]
    m = np.asarray(data["final_margins"], float)
    ratios = []
    for a in STEEPEST:
        j = flavors.index(OWN_NORM[a])
        others = [m[algos.index(b), j] for b in STEEPEST if b != a]
        ratios.append(m[algos.index(a), j] / max(others))
    worst = min(ratios)
    return worst, worst > 1.0


def geometry_distances(data) -> dict:
    """Euclidean distance between Adam's final (l1, l2, linf) margins and each steepest method's, in log space."""
    algos = data["algorithms"]
    m = np.asarray(data["final_margins"], float)
    adam = np.log(np.maximum(m[algos.index("adam")], 1e-300))
    return {a: float(np.linalg.norm(adam - np.log(np.maximum(m[algos.index(a)], 1e-300)))) for a in STEEPEST}


def _adam_is_sign(data, params):
    dist = geometry_distances(data)
    nearest = min(dist, key=dist.get)
    return f"{nearest} ({dist[nearest]:.3g})", nearest == "sign"


def _beta_trends_down(data, params):
    slopes = [last_decade_slope(data["runs"][a]["history"], OWN_NORM[a]) for a in STEEPEST if a in data["runs"]]
    worst = max(slopes)
    return worst, worst < 0


CLAIMS = (
    Claim("smoothed_margin_monotone",
          "Thm 3.1: once the training set is fit, each algorithm's smoothed margin in its own norm does not decrease "
          "(measured: largest fall below the running maximum, <= 1%)", _monotone),
    Claim("own_norm_winner",
          "Each steepest method maximizes its own margin: at the end GD has the largest l2, sign the largest linf and "
          "CD the largest l1 margin of the three (measured: smallest own/best-other ratio, > 1)", _own_winners),
    Claim("adam_geometry_is_sign",
          "Adam (eps -> 0) has the implicit bias of sign descent: its final (l1, l2, linf) margins are closest "
          "(log distance) to sign descent's", _adam_is_sign),
    Claim("alignment_gap_decreases",
          "The alignment/KKT gap 1 - beta decreases over the last decade of steps for GD, sign and CD (measured: "
          "largest log-log slope, < 0)", _beta_trends_down),
)


# -- plot --------------------------------------------------------------------------------------------------------

def plot(data: dict, params: dict):
    fig, axes = style.subplots(2, 3, width=3.3, height=2.6)
    colours = dict(zip(data["algorithms"], style.palette(len(data["algorithms"]))))
    for j, norm in enumerate(("l2", "linf", "l1")):
        ax = axes[0, j]
        positive = False
        for name in data["algorithms"]:
            hist = data["runs"][name]["history"]
            steps = np.maximum(_arr(hist["step"]), 1)
            margin = _arr(hist[f"margin_{norm}"])
            own = OWN_NORM[name] == norm and name != "adam"
            positive = positive or bool(np.any(margin > 0))
            ax.plot(steps, np.where(margin > 0, margin, np.nan), color=colours[name], lw=2.0 if own else 1.0,
                    label=name + (" (own)" if own else ""))
        ax.set_xscale("log")
        if positive:            # margins are plotted once positive (after the fit); a run that never fits has none
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(rf"$q_{{min}}/\|\theta\|_{{{TEX[norm]}}}^2$")
        ax.set_title(f"({'abc'[j]}) {norm} margin")
        ax.legend(loc="lower right", fontsize=6)
    for name in data["algorithms"]:
        run = data["runs"][name]
        hist, own = run["history"], run["own_norm"]
        steps = np.maximum(_arr(hist["step"]), 1)
        sm = _arr(hist[f"smoothed_{own}"])
        axes[1, 0].plot(steps, sm / abs(sm[-1]), color=colours[name], label=f"{name} ({own})")
        gap = np.maximum(1 - _arr(hist[f"beta_{own}"]), 1e-16)
        axes[1, 1].plot(steps, gap, color=colours[name], label=f"{name} ({own})")
    axes[1, 0].set_xscale("log")
    axes[1, 0].set_ylim(-0.2, 1.1)
    axes[1, 0].set_ylabel("smoothed margin / final value")
    axes[1, 0].set_title("(d) own-norm smoothed margin")
    axes[1, 1].set_xscale("log")
    axes[1, 1].set_yscale("log")
    axes[1, 1].set_ylabel(r"$1-\beta$ (own norm)")
    axes[1, 1].set_title("(e) alignment gap")
    for ax in axes[1, :2]:
        ax.set_xlabel("step")
        ax.legend(loc="best", fontsize=6)
    matrix = np.asarray(data["final_margins"], float)
    scaled = matrix / np.abs(matrix).max(0, keepdims=True)
    ax = axes[1, 2]
    ax.imshow(scaled, cmap="viridis", vmin=min(0.0, scaled.min()), vmax=1.0)
    ax.set_xticks(range(len(data["flavors"])), data["flavors"])
    ax.set_yticks(range(len(data["algorithms"])), data["algorithms"])
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, f"{scaled[i, j]:.2f}", ha="center", va="center", color="w", fontsize=7)
    ax.grid(False)
    ax.set_title("(f) final margin / column max")
    fig.suptitle(f"normalized steps, lr_t = min(c/||grad log L||_*, {params['max_step']:g} ||θ||) (c = "
                 f"{params['c']['gd']:g}: log L falls by c per step; follows the flow); Adam lr_t = c/||g||_1",
                 fontsize=8)
    return fig
