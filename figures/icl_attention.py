"""Attention maps of the ICL-MC transformer before and after the bigram transition (Edelman et al. 2024, Fig. 2).

Top row: layer-1 attention (all positions) of one evaluation sequence at init, on the unigram plateau and after the
transition (a previous-token head appears). Bottom row: layer-2 attention from the last position; the positions whose
preceding token equals the current token (successors of earlier occurrences) are highlighted -- after the transition
the mass concentrates there (statistical induction head). Third row: layer-1 effective positional encoding over the
first distances (query version; Fig. 3 of the paper) -- distance 1 takes over after the transition. Reuses the run of
``icl_phases``.
"""
from __future__ import annotations

import numpy as np

from . import style
from .claims import Claim
from .icl_phases import PRESETS as PHASE_PRESETS
from .icl_phases import cached_run, icl_config

NAME = "icl_attention"
TITLE = "ICL of Markov chains: attention maps before/after the statistical induction head forms (Edelman et al. 2024)"
REQUIRES = ("torch",)
PRESETS = {name: {key: value for key, value in preset.items() if key != "control_layers"}
           for name, preset in PHASE_PRESETS.items()}


def _previous_token_head(data, params):
    final, plateau = data["previous_token"]["final"], data["previous_token"]["plateau"]
    return final, final >= 0.5 and final >= 5 * plateau


def _induction_mass(data, params):
    # layer-2 attention mass of the last query on positions that follow an earlier occurrence of the current token
    mask = np.asarray(data["induction_mask"], dtype=bool)
    mass = {k: float(np.asarray(v)[mask].sum()) for k, v in data["layer2_last"].items()}
    return mass["final"], mass["final"] >= 0.6 and mass["plateau"] <= 0.4


def _distance_one_wins(data, params):
    # margin of the distance-1 positional score over every other distance, after the transition
    enc = np.asarray(data["positional_encoding"]["final"], dtype=float)
    margin = enc[1] - np.max(np.delete(enc, 1))
    return float(margin), margin >= 1.0


CLAIMS = (
    Claim("previous_token_head_forms",
          "At the transition layer 1 becomes a previous-token head (Edelman et al. 2024, Fig. 2): previous-token "
          "score after the transition (>= 0.5 and >= 5x the unigram plateau's expected).", _previous_token_head),
    Claim("statistical_induction_head",
          "Layer 2 (last token) attends to the positions that follow earlier occurrences of the current token, "
          "averaging their successors (Fig. 2): its attention mass there after the transition (>= 0.6, with <= 0.4 "
          "on the plateau, expected).", _induction_mass),
    Claim("distance_one_positional_encoding",
          "The layer-1 effective positional encoding singles out distance 1 after the transition (Fig. 3): score of "
          "distance 1 minus the largest other distance's (>= 1 expected).", _distance_one_wins),
)


def pick_checkpoints(steps, labels, transition_step) -> dict:
    """Indices of the init, a unigram-plateau checkpoint (middle of the unigram run) and the final checkpoint."""
    steps = np.asarray(steps)
    chosen = {"init": 0, "final": len(steps) - 1}
    uni = [i for i, lab in enumerate(labels) if lab == "unigram"]
    if transition_step is not None:
        uni = [i for i in uni if steps[i] < transition_step] or uni
    chosen["plateau"] = uni[len(uni) // 2] if uni else len(steps) // 4
    return {"init": chosen["init"], "plateau": chosen["plateau"], "final": chosen["final"]}


def compute(params: dict, progress: bool = False) -> dict:
    from deep.icl_markov.diagnostics import induction_positions
    import torch

    run = cached_run(icl_config({**params, "control_layers": 0}), progress)
    picks = pick_checkpoints(run.steps, run.phases.labels, run.phases.transition_step)
    tokens = run.example_tokens
    mask = induction_positions(torch.as_tensor(tokens)[None])[0].cpu().numpy()
    return {"steps": {k: int(run.steps[i]) for k, i in picks.items()},
            "phase": {k: run.phases.labels[i] for k, i in picks.items()},
            "layer1": {k: run.attention[0][i, 0] for k, i in picks.items()},
            "layer2_last": {k: run.attention[-1][i, 0, -1] for k, i in picks.items()},
            "tokens": tokens, "induction_mask": mask,
            "previous_token": {k: float(run.previous_token[i]) for k, i in picks.items()},
            "induction": {k: float(run.induction[i]) for k, i in picks.items()},
            "positional_encoding": {k: run.positional_encoding[i, 0] for k, i in picks.items()}}


def plot(data: dict, params: dict):
    keys = ["init", "plateau", "final"]
    fig, axes = style.subplots(3, 3, width=3.0, height=2.7)
    mask = np.asarray(data["induction_mask"], bool)
    for col, key in enumerate(keys):
        ax = axes[0, col]
        ax.imshow(np.asarray(data["layer1"][key]), cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.grid(False)
        ax.set_title(f"layer 1, step {data['steps'][key]} ({data['phase'][key]})\n"
                     f"PT = {data['previous_token'][key]:.2f}")
        ax.set_xlabel("key position")
        ax.set_ylabel("query position")
        ax = axes[1, col]
        row = np.asarray(data["layer2_last"][key])
        pos = np.arange(len(row))
        ax.bar(pos[~mask], row[~mask], color="0.6", width=1.0, label="other")
        ax.bar(pos[mask], row[mask], color="tab:orange", width=1.0, label="follows current token")
        ax.set_title(f"layer 2, last query, SI = {data['induction'][key]:.2f}")
        ax.set_xlabel("key position")
        if col == 0:
            ax.legend(loc="upper left")
        ax = axes[2, col]
        enc = np.asarray(data["positional_encoding"][key])[:12]
        ax.bar(np.arange(len(enc)), enc, color=["tab:orange" if d == 1 else "tab:blue" for d in range(len(enc))])
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xlabel("distance i - j")
        ax.set_title("layer-1 positional score")
    return fig
