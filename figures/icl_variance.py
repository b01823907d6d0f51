"""Seed-to-seed spread of the ICL-MC phase transitions (Edelman et al. 2024, appendix: 10 seeds of the 2-layer model).

The ``icl_phases`` recipe trained from several seeds (each seed draws its own initialisation and training stream;
the evaluation set is shared). Transition times are the interpolated crossings of the mid-levels between consecutive
strategies' KLs (``deep.icl_markov.transitions``): t_unigram where KL(p* || q) passes half-way from the uniform to the
unigram strategy's level, t_bigram half-way from the unigram to the bigram level.

Panels: (a) KL(p* || q) of every seed with the strategies' levels; (b) t_unigram and t_bigram per seed (mean and
standard deviation); (c) the same curves shifted by each seed's t_bigram: one shape, moved in time.
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim
from .icl_phases import PHASE_COLOURS, cached_run, icl_config

NAME = "icl_variance"
TITLE = ("ICL of Markov chains over seeds: same uniform -> unigram -> bigram shape, spread of transition times "
         "(Edelman et al. 2024)")
REQUIRES = ("torch",)
PRESETS = {
    # the icl_phases quick recipe (seed 0 is shared with it in one process), 5 seeds
    "quick": dict(num_states=3, context_length=50, steps=1000, eval_every=25, eval_size=512, learning_rate=1e-3,
                  dropout=0.0, padding_row=False, seeds=[0, 1, 2, 3, 4], device=None),
    # GPU: the icl_phases paper run with the appendix's 10 seeds
    "paper": dict(num_states=3, context_length=100, steps=4000, eval_every=20, eval_size=768, learning_rate=5e-4,
                  dropout=0.1, padding_row=True, seeds=list(range(10)), device=None),
}
THREE_PHASES = ["uniform", "unigram", "bigram"]


def _same_shape(data, params):
    # every seed: the phase sequence uniform -> unigram -> bigram and a final KL past the unigram/bigram mid-level
    ok = [seq == THREE_PHASES for seq in data["phase_sequences"]]
    crossed = [t is not None for t in data["t_bigram"]]
    value = f"{sum(a and b for a, b in zip(ok, crossed))}/{len(ok)}"
    return value, all(ok) and all(crossed)


def _bigram_time_spread(data, params):
    # the transition time varies across seeds by more than the checkpoint spacing, and more than the unigram onset
    tb = np.array([np.nan if t is None else t for t in data["t_bigram"]], float)
    tu = np.array([np.nan if t is None else t for t in data["t_unigram"]], float)
    if not np.isfinite(tb).all() or not np.isfinite(tu).all():
        return float("nan"), False
    spread = float(tb.max() - tb.min())
    return spread, spread >= 2 * params["eval_every"] and tb.std() > tu.std()


def _aligned_collapse(data, params):
    # shifting each seed's curve by its t_bigram collapses the curves (same shape): the mean seed-to-seed spread of
    # KL over the transition window is smaller after alignment; value = aligned / unaligned spread
    aligned, unaligned = data["alignment"]["aligned_spread"], data["alignment"]["unaligned_spread"]
    if aligned is None or unaligned is None:
        return float("nan"), False
    ratio = aligned / unaligned
    return ratio, ratio <= 0.5


CLAIMS = (
    Claim("same_three_phases_every_seed",
          "Across seeds the 2-layer model shows the same phases, uniform -> unigram -> bigram (Edelman et al. 2024, "
          "appendix, 10 seeds): seeds with that phase sequence and a completed unigram -> bigram transition (all "
          "expected).", _same_shape),
    Claim("transition_time_varies",
          "The time of the bigram transition varies across seeds (appendix variance figure): range of t_bigram over "
          "seeds in steps (>= 2 checkpoint spacings, and a larger standard deviation than the unigram onset's, "
          "expected).", _bigram_time_spread),
    Claim("same_shape_shifted",
          "The seeds differ by when the transition happens, not by its shape (appendix): mean seed-to-seed spread of "
          "KL(p* || q) over +-150 steps around the transition after aligning each seed at its t_bigram / before "
          "(<= 0.5 expected).", _aligned_collapse),
)


def seed_params(params: dict, seed: int) -> dict:
    """The ``icl_phases`` parameters of one seed (the main 2-layer run)."""
    keys = ("num_states", "context_length", "steps", "eval_every", "eval_size", "learning_rate", "dropout",
            "padding_row", "device")
    return dict({k: params.get(k) for k in keys}, seed=int(seed))


def alignment(steps, curves, t_bigram, half_window: float) -> dict:
    """Seed-to-seed spread (mean over a window of the std across seeds) of the curves, raw and shifted by t_bigram.

    The raw window is centred on the mean t_bigram; the aligned curves are interpolated on the same relative grid.
    """
    steps = np.asarray(steps, float)
    curves = np.asarray(curves, float)
    tb = np.asarray([np.nan if t is None else t for t in t_bigram], float)
    if not np.isfinite(tb).all():
        return {"offsets": [], "unaligned": [], "aligned": [], "aligned_spread": float("nan"),
                "unaligned_spread": float("nan")}
    offsets = np.linspace(-half_window, half_window, 31)
    centre = tb.mean()
    raw = np.stack([np.interp(centre + offsets, steps, c) for c in curves])
    shifted = np.stack([np.interp(t + offsets, steps, c) for t, c in zip(tb, curves)])
    return {"offsets": offsets, "unaligned": raw, "aligned": shifted,
            "aligned_spread": float(shifted.std(0).mean()), "unaligned_spread": float(raw.std(0).mean())}


def compute(params: dict, progress: bool = False) -> dict:
    """``_compute`` with one torch thread (tiny nets: intra-op threads only add overhead, badly so on busy cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _compute(params, progress)
    finally:
        torch.set_num_threads(threads)


def _compute(params: dict, progress: bool = False) -> dict:
    from deep.icl_markov.transitions import strategy_transition_steps

    runs = [cached_run(icl_config(seed_params(params, s)), progress) for s in params["seeds"]]
    times = [strategy_transition_steps(r.steps, r.kl_to_truth, r.strategy_kl) for r in runs]
    steps = runs[0].steps
    curves = np.stack([r.kl_to_truth for r in runs])
    t_bigram = [t["bigram"] for t in times]
    return {"seeds": list(params["seeds"]), "steps": steps, "kl_to_truth": curves,
            "strategy_kl": runs[0].strategy_kl, "phase_sequences": [r.phases.sequence for r in runs],
            "first_step": [r.phases.first_step for r in runs],
            "t_unigram": [t["unigram"] for t in times], "t_bigram": t_bigram,
            "final_kl": [float(r.kl_to_truth[-1]) for r in runs],
            "initial_train_loss": [float(r.train_loss[0]) for r in runs],
            "alignment": alignment(steps, curves, t_bigram, half_window=6 * int(params["eval_every"]))}


def plot(data: dict, params: dict):
    fig, axes = style.subplots(1, 3, width=3.6, height=3.0)
    steps = np.asarray(data["steps"], float)
    curves = np.asarray(data["kl_to_truth"], float)
    colours = style.palette(len(data["seeds"]))
    ax = axes[0, 0]
    for colour, seed, curve in zip(colours, data["seeds"], curves):
        ax.plot(steps, curve, color=colour, lw=1, label=f"seed {seed}")
    for name, level in data["strategy_kl"].items():
        ax.axhline(level, color=PHASE_COLOURS.get(name, "k") if name != "uniform" else "#555555", ls=":", lw=1)
        ax.text(steps[-1], level, f" {name}", va="bottom", ha="right", fontsize=7)
    ax.set_xlabel("training step (batch 64)")
    ax.set_ylabel("KL(p* || model), last position")
    ax.set_title(f"(a) {len(data['seeds'])} seeds")
    style.legend_below(ax, ncol=3)
    ax = axes[0, 1]
    for row, (key, label) in enumerate((("t_unigram", "uniform -> unigram"), ("t_bigram", "unigram -> bigram"))):
        vals = np.array([np.nan if t is None else t for t in data[key]], float)
        ax.scatter(vals, np.full(vals.size, row) + np.linspace(-0.15, 0.15, vals.size), c=colours, zorder=3)
        finite = vals[np.isfinite(vals)]
        if finite.size:
            ax.errorbar(finite.mean(), row + 0.3, xerr=finite.std(), fmt="k|", capsize=3)
            ax.text(finite.mean(), row + 0.38, f"{finite.mean():.0f} +- {finite.std():.0f}", ha="center", fontsize=7)
    ax.set_yticks([0, 1], ["uniform -> unigram", "unigram -> bigram"])
    ax.set_ylim(-0.5, 1.7)
    ax.set_xlabel("transition step (mid-level crossing)")
    ax.set_title("(b) transition times per seed")
    ax = axes[0, 2]
    align = data["alignment"]
    if len(align["offsets"]):
        offsets = np.asarray(align["offsets"], float)
        for colour, curve in zip(colours, np.asarray(align["aligned"], float)):
            ax.plot(offsets, curve, color=colour, lw=1)
        ax.set_title(f"(c) aligned at t_bigram: spread {align['aligned_spread']:.3f} "
                     f"vs {align['unaligned_spread']:.3f}")
    else:
        ax.set_title("(c) aligned at t_bigram (some seed has no transition)")
    for name in ("unigram", "bigram"):
        ax.axhline(data["strategy_kl"][name], color="0.5", ls=":", lw=1)
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_xlabel("step - t_bigram")
    ax.set_ylabel("KL(p* || model)")
    return fig
