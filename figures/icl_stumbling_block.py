"""The stumbling block: doubly-stochastic training vs a mixture with unigram-optimal chains (Edelman et al. 2024, Fig. 4).

Both arms see, per step, the same 64 doubly-stochastic sequences and the same initial model (paired seeds); the
mixture adds 21 unigram-optimal sequences (25 %); the step axis counts DS data only. Evaluation on the full Dir(1)
prior. Panels: (a) KL(p* || model), mean and 95 % band (1.96 sd / sqrt(seeds)) per arm; (b) first step where bigram
is the closest strategy, DS vs mixture, one point per seed (above the diagonal = the unigram data delayed the
induction head).
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim

NAME = "icl_stumbling_block"
TITLE = "ICL of Markov chains: unigram-optimal data delays the induction head (stumbling block; Edelman et al. 2024)"
REQUIRES = ("torch",)
PRESETS = {
    "quick": dict(num_states=3, context_length=50, steps=700, eval_every=25, eval_size=256, learning_rate=1e-3,
                  seeds=[0, 1, 2], unigram_extra=21, device=None),
    # GPU: the blog's k = 4, 10 seeds, longer training
    "paper": dict(num_states=4, context_length=100, steps=3000, eval_every=25, eval_size=768, learning_rate=5e-4,
                  seeds=list(range(10)), unigram_extra=21, device=None),
}


def _delay(data, params):
    delays = [d for d in data["delays"] if d is not None]
    complete = len(delays) == len(data["seeds"])
    return (float(np.mean(delays)) if delays else float("nan")), complete and all(d > 0 for d in delays)


def _ds_single_transition(data, params):
    # doubly-stochastic arm: no unigram phase in any seed, and its final KL below the unigram strategy's
    # (it predicts better than any unigram rule on the full prior); value: worst final KL / unigram strategy's KL
    ratio = max(data["final_kl"]["ds"]) / data["strategy_kl"]["unigram"]
    no_plateau = not any(data["has_unigram_phase"]["ds"])
    return ratio, no_plateau and ratio < 1.0


def _mix_lower_final(data, params):
    diff = float(np.mean(data["final_kl"]["mix"]) - np.mean(data["final_kl"]["ds"]))
    return diff, diff < 0


CLAIMS = (
    Claim("unigram_data_delay_induction_head",
          "Adding unigram-optimal sequences delays the induction head: the simpler solution is a stumbling block, "
          "not a stepping stone (Edelman et al. 2024, Fig. 4): mean over seeds of first-bigram step (mixture) - "
          "(doubly stochastic), paired seeds (> 0 in every seed expected).", _delay),
    Claim("doubly_stochastic_single_transition",
          "Trained only on doubly-stochastic chains the model shows no unigram plateau, a single transition, and "
          "still generalises to the full prior (Fig. 4): worst final KL(p* || model) / unigram strategy's KL "
          "(< 1 and no unigram phase in any seed expected).", _ds_single_transition),
    Claim("mixture_final_loss_lower",
          "The mixture's final loss on the full prior is somewhat lower (Fig. 4): mean final KL, mixture - doubly "
          "stochastic (< 0 expected).", _mix_lower_final),
)


def compute(params: dict, progress: bool = False) -> dict:
    from deep.icl_markov.training import IclConfig, stumbling_block

    config = IclConfig(num_states=int(params["num_states"]), context_length=int(params["context_length"]),
                       steps=int(params["steps"]), eval_every=int(params["eval_every"]),
                       eval_size=int(params["eval_size"]), learning_rate=float(params["learning_rate"]),
                       padding_row=False, record_attention=False, device=params.get("device"))
    result = stumbling_block(config, seeds=[int(s) for s in params["seeds"]],
                             unigram_extra=int(params["unigram_extra"]), progress=progress)
    first_run = result.runs["ds"][0]
    return {"seeds": result.seeds, "steps": first_run.steps,
            "kl_to_truth": {arm: [r.kl_to_truth for r in runs] for arm, runs in result.runs.items()},
            "phase_sequences": {arm: [r.phases.sequence for r in runs] for arm, runs in result.runs.items()},
            "first_bigram": result.first_bigram, "has_unigram_phase": result.has_unigram_phase,
            "final_kl": result.final_kl, "delays": result.delays(), "strategy_kl": first_run.strategy_kl}


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 2, width=3.6)
    steps = np.asarray(data["steps"])
    ax = axes[0, 0]
    labels = {"ds": "doubly stochastic only", "mix": "75 % DS + 25 % unigram"}
    for arm, colour in (("ds", "tab:blue"), ("mix", "tab:red")):
        curves = np.asarray(data["kl_to_truth"][arm], float)
        mean = curves.mean(0)
        band = 1.96 * curves.std(0) / np.sqrt(curves.shape[0]) if curves.shape[0] > 1 else np.zeros_like(mean)
        ax.plot(steps, mean, color=colour, label=labels[arm])
        ax.fill_between(steps, mean - band, mean + band, color=colour, alpha=0.25, lw=0)
    for name in ("unigram", "bigram"):
        ax.axhline(data["strategy_kl"][name], color="0.4", ls=":", lw=1)
        ax.text(steps[-1], data["strategy_kl"][name], f" {name}", ha="right", va="bottom", fontsize=7)
    ax.set_xlabel("training step (doubly-stochastic batches)")
    ax.set_ylabel("KL(p* || model) on the full prior")
    ax.set_title(f"(a) {len(data['seeds'])} paired seeds, 95 % band")
    ax.legend(loc="upper right")
    ax = axes[0, 1]
    ds = [np.nan if v is None else v for v in data["first_bigram"]["ds"]]
    mix = [np.nan if v is None else v for v in data["first_bigram"]["mix"]]
    ax.scatter(ds, mix, color="k", zorder=3)
    finite = [v for v in ds + mix if np.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0, 1)
    pad = 0.1 * (hi - lo + 1)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.5", ls="--", lw=1)
    for seed, x, y in zip(data["seeds"], ds, mix):
        ax.annotate(f"seed {seed}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("first bigram step, DS only")
    ax.set_ylabel("first bigram step, mixture")
    ax.set_title("(b) induction-head formation, paired")
    return fig
