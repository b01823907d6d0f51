"""The minimal two-layer model of ICL-MC beside the transformer (Edelman et al. 2024, Fig. 3 bottom and Fig. 4).

Minimal model (``deep.icl_markov.model.MinimalMarkovModel``, causal): layer 1 is positional softmax attention
a_{t,s} = softmax_{s<=t}(v_{t-s}), layer 2 linear attention logits_t = sum_{s<=t} (e_t^T W e-bar_s) e_s; init v = 0,
W = 0.01 (every entry: the "uninformed" init where dL/dv = 0); plain SGD, lr 0.1 for W and 1.0 for v, batch 128.
The bigram solution is v concentrated on distance 1 and W = c I.

Rows: (top) the two-layer transformer of ``icl_phases`` (same run, shared in one process): distance to the strategies
with the closest one shaded, test loss against the strategies' levels, layer-1 effective positional encoding at an
early, a plateau and the final checkpoint; (middle) the same three panels for the minimal model, whose positional
weights are v itself; (bottom, Fig. 4) W on the unigram plateau and at the end, and the trajectories of W's diagonal
/ off-diagonal means and of v_0, v_1, v_2.
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim
from .icl_attention import pick_checkpoints
from .icl_phases import PHASE_COLOURS, cached_run, icl_config, shade_phases

NAME = "icl_minimal_model"
TITLE = ("ICL of Markov chains: the minimal two-layer model (W, v) goes uniform -> unigram -> bigram like the "
         "transformer (Edelman et al. 2024, Figs. 3-4)")
REQUIRES = ("torch",)
_TRANSFORMER_QUICK = dict(transformer_steps=1000, transformer_eval_every=25, transformer_learning_rate=1e-3,
                          transformer_dropout=0.0, transformer_padding_row=False)
PRESETS = {
    "quick": dict(num_states=3, context_length=50, steps=400, eval_every=10, eval_size=512, batch_size=128,
                  learning_rate=0.1, position_learning_rate=1.0, init_w=0.01, seed=0, transformer=True,
                  **_TRANSFORMER_QUICK, device=None),
    # GPU: T = 100 and 200 checkpoints as in the authors' notebook; the transformer row is the icl_phases paper run
    "paper": dict(num_states=3, context_length=100, steps=1000, eval_every=5, eval_size=768, batch_size=128,
                  learning_rate=0.1, position_learning_rate=1.0, init_w=0.01, seed=0, transformer=True,
                  transformer_steps=4000, transformer_eval_every=20, transformer_learning_rate=5e-4,
                  transformer_dropout=0.1, transformer_padding_row=True, device=None),
}
THREE_PHASES = ["uniform", "unigram", "bigram"]


def _same_phases(data, params):
    seqs = {"minimal": data["minimal"]["phases"]["sequence"]}
    if "transformer" in data:
        seqs["transformer"] = data["transformer"]["phases"]["sequence"]
    value = "; ".join(f"{k}: {'->'.join(v)}" for k, v in seqs.items())
    return value, all(v == THREE_PHASES for v in seqs.values())


def _bigram_beats_unigram(data, params):
    # final KL(p* || model) on the scale bigram strategy = 0, unigram strategy = 1
    run = data["minimal"]
    uni, bi = run["strategy_kl"]["unigram"], run["strategy_kl"]["bigram"]
    where = (run["kl_to_truth"][-1] - bi) / (uni - bi)
    return where, where <= 0.6


def _w_identity_like(data, params):
    # smallest diagonal entry of the final W over the largest |off-diagonal| entry
    w = np.asarray(data["minimal"]["w"][-1], dtype=float)
    off = np.abs(w[~np.eye(len(w), dtype=bool)]).max()
    ratio = float(np.diag(w).min() / max(off, 1e-12))
    return ratio, ratio >= 3


def _v_distance_one(data, params):
    # layer-1 attention of the last position under the final v: mass on distance 1, which must be the largest
    mass = np.asarray(data["minimal"]["final_layer1_mass"], dtype=float)
    return float(mass[1]), mass[1] >= 0.5 and int(np.argmax(mass)) == 1


def _even_odd(data, params):
    # first checkpoint after init: signs of v_0 .. v_4 alternate, starting negative at distance 0
    v = np.asarray(data["minimal"]["v"][1], dtype=float)[:5]
    signs = "".join("+" if x > 0 else "-" if x < 0 else "0" for x in v)
    return signs, signs == "-+-+-"[: len(v)]


CLAIMS = (
    Claim("minimal_model_same_phases",
          "The minimal two-layer model reproduces the transformer's multi-phase curve, uniform -> unigram -> bigram "
          "(Edelman et al. 2024, Fig. 3 bottom vs top): closest-strategy phase sequences of both models "
          "(uniform->unigram->bigram for each expected).", _same_phases),
    Claim("minimal_model_beats_unigram",
          "After its transition the minimal model predicts with bigram statistics (Fig. 3 bottom): final "
          "KL(p* || model) on the scale bigram strategy = 0, unigram strategy = 1 (<= 0.6 expected; its logits are "
          "scaled counts, not normalised frequencies, so it cannot reach 0).", _bigram_beats_unigram),
    Claim("w_becomes_identity_like",
          "The second layer's W becomes identity-like, diagonal dominant (Fig. 4 centre): smallest diagonal entry "
          "of the final W / largest |off-diagonal| entry (>= 3 expected).", _w_identity_like),
    Claim("v_selects_distance_one",
          "The first layer's positional weights v single out distance 1, the previous token (Fig. 4 right): "
          "layer-1 attention mass of the last position on distance 1 under the final v (>= 0.5 and the largest "
          "expected).", _v_distance_one),
    Claim("even_odd_asymmetry",
          "The theory predicts an even-odd asymmetry of the first-layer positional weights early in training "
          "(Edelman et al. 2024, Sec. on the minimal model; authors' notebook v = -0.030, +0.073, -0.011, +0.007, "
          "-0.005): signs of v_0..v_4 at the first checkpoint after init (-+-+- expected).", _even_odd),
)


def minimal_config(params: dict):
    from deep.icl_markov.training import IclConfig

    return IclConfig(model="minimal", num_states=int(params["num_states"]),
                     context_length=int(params["context_length"]), steps=int(params["steps"]),
                     eval_every=int(params["eval_every"]), eval_size=int(params["eval_size"]),
                     batch_size=int(params["batch_size"]), learning_rate=float(params["learning_rate"]),
                     position_learning_rate=float(params["position_learning_rate"]),
                     minimal_init_w=float(params["init_w"]), seed=int(params["seed"]), record_attention=False,
                     record_states=True, device=params.get("device"))


def transformer_params(params: dict) -> dict:
    """The ``icl_phases`` parameters of the transformer row (equal presets share the cached run)."""
    return dict(num_states=params["num_states"], context_length=params["context_length"],
                steps=params["transformer_steps"], eval_every=params["transformer_eval_every"],
                eval_size=params["eval_size"], learning_rate=params["transformer_learning_rate"],
                dropout=params["transformer_dropout"], padding_row=params["transformer_padding_row"],
                seed=params["seed"], device=params.get("device"))


def _curves(run) -> dict:
    return {"steps": run.steps, "kl_to_truth": run.kl_to_truth, "distances": run.distances,
            "strategy_kl": run.strategy_kl, "phases": run.phases.to_dict(), "train_loss": run.train_loss,
            "parameter_count": run.parameter_count}


def _picks(run) -> dict:
    picks = pick_checkpoints(run.steps, run.phases.labels, run.phases.transition_step)
    picks["early"] = min(1, len(run.steps) - 1)
    return picks


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
    from deep.icl_markov.training import train_icl

    run = train_icl(minimal_config(params), progress=progress)
    v = np.stack([s["v"].cpu().numpy() for s in run.states])           # states are CPU copies
    w = np.stack([s["w"].cpu().numpy() for s in run.states])
    final_v = v[-1].astype(np.float64)
    mass = np.exp(final_v - final_v.max())
    picks = _picks(run)
    minimal = dict(_curves(run), v=v, w=w, final_layer1_mass=mass / mass.sum(),
                   picks={k: int(run.steps[i]) for k, i in picks.items()}, pick_index=picks)
    data = {"minimal": minimal}
    if params.get("transformer"):
        trun = cached_run(icl_config(transformer_params(params)), progress)
        tpicks = _picks(trun)
        data["transformer"] = dict(_curves(trun), pick_index=tpicks,
                                   picks={k: int(trun.steps[i]) for k, i in tpicks.items()},
                                   positional_encoding={k: trun.positional_encoding[i, 0] for k, i in tpicks.items()})
    return data


def _phase_panel(ax, run, title):
    shade_phases(ax, run["steps"], run["phases"]["labels"])
    for name, curve in run["distances"].items():
        ax.plot(run["steps"], np.maximum(np.asarray(curve, float), 1e-4), label=name,
                color=PHASE_COLOURS.get(name, "k") if name != "uniform" else "#555555")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("KL(strategy || model)")
    ax.set_title(title)
    style.legend_below(ax, ncol=3)


def _loss_panel(ax, run, title):
    ax.plot(run["steps"], run["kl_to_truth"], color="k")
    for name, level in run["strategy_kl"].items():
        ax.axhline(level, color=PHASE_COLOURS.get(name, "k") if name != "uniform" else "#555555", ls=":", lw=1)
        ax.text(run["steps"][-1], level, f" {name}", va="bottom", ha="right", fontsize=7)
    ax.set_xlabel("training step")
    ax.set_ylabel("KL(p* || model), last position")
    ax.set_title(title)


def _positional_panel(ax, encodings: dict, picks: dict, title, ylabel):
    keys = [k for k in ("early", "plateau", "final") if k in encodings]
    width = 0.8 / len(keys)
    for j, key in enumerate(keys):
        enc = np.asarray(encodings[key], float)[:10]
        ax.bar(np.arange(enc.size) + (j - 1) * width, enc, width=width, label=f"{key} (step {picks[key]})")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xlabel("distance t - s")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    style.legend_below(ax, ncol=2)


def plot(data: dict, params: dict):
    has_t = "transformer" in data
    fig, axes = style.subplots(3, 3, width=3.4, height=3.1)
    mini = data["minimal"]
    if has_t:
        tr = data["transformer"]
        _phase_panel(axes[0, 0], tr, "(a) transformer: closest strategy")
        _loss_panel(axes[0, 1], tr, "(b) transformer: test loss")
        _positional_panel(axes[0, 2], tr["positional_encoding"], tr["picks"], "(c) transformer layer-1 positions",
                          "effective positional score")
    else:
        for ax in axes[0]:
            ax.set_axis_off()
    _phase_panel(axes[1, 0], mini, "(d) minimal model: closest strategy")
    _loss_panel(axes[1, 1], mini, "(e) minimal model: test loss")
    v = np.asarray(mini["v"], float)
    _positional_panel(axes[1, 2], {k: v[i] for k, i in mini["pick_index"].items()}, mini["picks"],
                      "(f) minimal model: v", "v (layer-1 positional weight)")
    w = np.asarray(mini["w"], float)
    lim = float(np.abs(w).max()) or 1.0
    for ax, key, label in ((axes[2, 0], "plateau", "(g) W on the unigram plateau"),
                           (axes[2, 1], "final", "(h) W at the end")):
        mat = w[mini["pick_index"][key]]
        im = ax.imshow(mat, cmap="RdBu_r", vmin=-lim, vmax=lim)
        for (i, j), val in np.ndenumerate(mat):
            ax.text(j, i, f"{val:.3f}", ha="center", va="center", fontsize=7)
        ax.set_title(f"{label} (step {mini['picks'][key]})")
        ax.set_xticks(range(mat.shape[1]))
        ax.set_yticks(range(mat.shape[0]))
        ax.set_xlabel("j (token of e-bar_s)")
        ax.set_ylabel("i (current token e_t)")
        ax.grid(False)
        fig.colorbar(im, ax=ax, shrink=0.8)
    ax = axes[2, 2]
    steps = np.asarray(mini["steps"])
    eye = np.eye(w.shape[1], dtype=bool)
    ax.plot(steps, w[:, eye].mean(1), color="tab:red", label="W diagonal mean")
    ax.plot(steps, w[:, ~eye].mean(1), color="tab:blue", label="W off-diagonal mean")
    ax.set_xlabel("training step")
    ax.set_ylabel("W")
    twin = ax.twinx()
    for d, ls in zip(range(3), ("-", "--", ":")):
        twin.plot(steps, v[:, d], color="0.3", ls=ls, lw=1, label=f"v_{d}")
    twin.set_ylabel("v")
    lines = ax.get_legend_handles_labels()
    tlines = twin.get_legend_handles_labels()
    style.legend_below(ax, lines[0] + tlines[0], lines[1] + tlines[1], ncol=3)
    ax.set_title("(i) parameters over training")
    return fig
