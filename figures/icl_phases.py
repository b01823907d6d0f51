"""ICL-MC phases: KL(strategy || model) over training with the closest strategy shaded (Edelman et al. 2024, Fig. 1/3).

Panels: (a) D_m(t) = KL(s^(m) || q_t) for uniform / unigram / bigram, background = argmin; (b) KL(p* || q_t) with the
strategies' levels and the one-layer control; (c) previous-token and statistical-induction scores.
The training runs are cached in this module so that ``icl_attention`` reuses them.
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim

NAME = "icl_phases"
TITLE = "ICL of Markov chains: uniform -> unigram -> bigram phases of a 2-layer attention-only transformer (Edelman et al. 2024)"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(num_states=3, context_length=50, steps=1000, eval_every=25, eval_size=512, learning_rate=1e-3,
                  dropout=0.0, padding_row=False, seed=0, control_layers=1, device=None),
    # GPU: the authors' configuration (T = 100, dropout 0.1, 200 checkpoints); runs on CPU in about 10 minutes too
    "paper": dict(num_states=3, context_length=100, steps=4000, eval_every=20, eval_size=768, learning_rate=5e-4,
                  dropout=0.1, padding_row=True, seed=0, control_layers=1, device=None),
}
PHASE_COLOURS = {"uniform": "#bbbbbb", "unigram": "#8ecae6", "bigram": "#f4a261", "trigram": "#90be6d"}

_RUNS: dict = {}


def _three_phases(data, params):
    seq = data["main"]["phases"]["sequence"]
    return "->".join(seq), seq == ["uniform", "unigram", "bigram"]


def _reaches_bigram(data, params):
    # where the final KL(p* || q) sits between the bigram (0) and unigram (1) strategies' KLs
    run = data["main"]
    uni, bi = run["strategy_kl"]["unigram"], run["strategy_kl"]["bigram"]
    where = (run["kl_to_truth"][-1] - bi) / (uni - bi)
    return where, where <= 0.25


def _control_stays_unigram(data, params):
    # one-layer control: no transition, and its best KL(p* || q) stays within 10% of the unigram strategy's
    run = data["control"]
    ratio = min(run["kl_to_truth"]) / run["strategy_kl"]["unigram"]
    return ratio, ratio >= 0.9 and run["phases"]["transition_step"] is None and "bigram" not in run["phases"]["sequence"]


CLAIMS = (
    Claim("uniform_unigram_bigram_phases",
          "Training passes through three phases: uniform predictions, then in-context unigram statistics, then a "
          "rapid transition to the bigram solution (Edelman et al. 2024, Fig. 1; spec deep_icl_grokking.md A.6): "
          "the closest-strategy phase sequence of the 2-layer model (uniform->unigram->bigram expected).",
          _three_phases),
    Claim("bigram_solution_reached",
          "After the transition the model predicts with in-context bigram statistics (Fig. 1/3): final "
          "KL(p* || model) on the scale bigram strategy = 0, unigram strategy = 1 (<= 0.25 expected).",
          _reaches_bigram),
    Claim("one_layer_never_leaves_unigram",
          "Single-layer transformers never get past the unigram solution (appendix, spec A.6 item 6): best "
          "KL(p* || model) of the one-layer control / the unigram strategy's KL (>= 0.9, no bigram phase, no "
          "transition expected).", _control_stays_unigram),
)


def icl_config(params: dict, num_layers: int = 2):
    """The IclConfig of a figure's parameters."""
    from deep.icl_markov.training import IclConfig

    return IclConfig(num_states=int(params["num_states"]), context_length=int(params["context_length"]),
                     steps=int(params["steps"]), eval_every=int(params["eval_every"]),
                     eval_size=int(params["eval_size"]), learning_rate=float(params["learning_rate"]),
                     dropout=float(params["dropout"]), padding_row=bool(params["padding_row"]),
                     seed=int(params["seed"]), num_layers=num_layers, device=params.get("device"))


def cached_run(config, progress: bool = False):
    """train_icl(config), memoised for the life of the process."""
    from deep.icl_markov.training import train_icl

    if config not in _RUNS:
        _RUNS[config] = train_icl(config, progress=progress)
    return _RUNS[config]


def run_summary(run) -> dict:
    """The JSON-able curves of one run."""
    return {"steps": run.steps, "kl_to_truth": run.kl_to_truth, "distances": run.distances,
            "strategy_kl": run.strategy_kl, "previous_token": run.previous_token, "induction": run.induction,
            "induction_chance": run.induction_chance, "phases": run.phases.to_dict(),
            "parameter_count": run.parameter_count, "seconds": run.seconds}


def compute(params: dict, progress: bool = False) -> dict:
    main = cached_run(icl_config(params), progress)
    data = {"main": run_summary(main)}
    layers = int(params["control_layers"])
    if layers > 0:
        data["control"] = run_summary(cached_run(icl_config(params, num_layers=layers), progress))
    return data


def shade_phases(ax, steps, labels) -> None:
    """Colour the background of each checkpoint interval by its phase."""
    steps = np.asarray(steps, dtype=float)
    edges = np.concatenate([[steps[0]], 0.5 * (steps[1:] + steps[:-1]), [steps[-1]]])
    for i, lab in enumerate(labels):
        ax.axvspan(edges[i], edges[i + 1], color=PHASE_COLOURS.get(lab, "#dddddd"), alpha=0.35, lw=0)


def plot(data: dict, params: dict):
    main = data["main"]
    fig, axes = style.subplots(1, 3, width=3.5)
    ax = axes[0, 0]
    shade_phases(ax, main["steps"], main["phases"]["labels"])
    for name, curve in main["distances"].items():
        ax.plot(main["steps"], np.maximum(np.asarray(curve, float), 1e-4), label=name,
                color=PHASE_COLOURS.get(name, "k") if name != "uniform" else "#555555")
    ax.set_yscale("log")
    ax.set_xlabel("training step (batch 64)")
    ax.set_ylabel("KL(strategy || model)")
    ax.set_title("(a) distance to strategies; shading = closest")
    style.legend_below(ax, ncol=2)
    ax = axes[0, 1]
    ax.plot(main["steps"], main["kl_to_truth"], color="k", label="2-layer")
    if "control" in data:
        ax.plot(data["control"]["steps"], data["control"]["kl_to_truth"], color="tab:red", ls="--",
                label=f"{params['control_layers']}-layer control")
    for name, level in main["strategy_kl"].items():
        ax.axhline(level, color=PHASE_COLOURS.get(name, "k") if name != "uniform" else "#555555", ls=":", lw=1)
        ax.text(main["steps"][-1], level, f" {name}", va="bottom", ha="right", fontsize=7)
    if main["phases"]["transition_step"] is not None:
        ax.axvline(main["phases"]["transition_step"], color="0.4", lw=0.8)
    ax.set_xlabel("training step")
    ax.set_ylabel("KL(p* || model), last position")
    ax.set_title("(b) test loss vs strategy levels")
    style.legend_below(ax, ncol=2)
    ax = axes[0, 2]
    ax.plot(main["steps"], main["previous_token"], label="previous-token (layer 1)")
    ax.plot(main["steps"], main["induction"], label="statistical induction (layer 2)")
    ax.axhline(main["induction_chance"], color="0.5", ls=":", lw=1, label="induction chance")
    ax.set_ylim(0, 1)
    ax.set_xlabel("training step")
    ax.set_title("(c) attention scores")
    style.legend_below(ax)
    return fig
