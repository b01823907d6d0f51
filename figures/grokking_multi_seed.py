"""Grokking on (40, 3)-sparse parity over seeds, log-x, and the weight-decay / width ablation (Merrill et al. 2023,
Fig. 2 and Appendix C, Figs. 6-9).

Top row (Fig. 2): train/test accuracy, train/test hinge loss and effective sparsity (active subnetwork on the
training inputs, exact-sign criterion) against the epoch on a log axis; mean over seeds with the min-max band.
Bottom row (ablation, CPU scale): test accuracy (mean over the ablation seeds) for several weight decays at the
paper's width, and for several widths at the paper's weight decay; then the memorisation epoch t_mem (train >= 0.98)
and generalisation epoch t_gen (test >= 0.95) of every ablation run. Ablation runs train for at most
``ablation_epochs`` and stop ``ablation_stop`` epochs after t_gen (``GrokkingConfig.stop_after_generalisation``):
with lambda = 0.001 the transition comes about ten times later (t_gen ~ 1,000 epochs), as the decay time 1/(eta
lambda) predicts. The paper's Appendix C varies the weight decay (lambda = 0.001, Figs. 6-7) and the parity size
(k = 4, Figs. 8-9); the width sweep is this package's addition (issue 17), k = 4 is not run.

Every run keeps only its first and last parameter snapshots (the curves and sparsity are recorded during training),
so many seeds fit in memory; runs are not shared with ``grokking_accuracy``.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import style
from .claims import Claim
from .grokking_accuracy import grokking_config

NAME = "grokking_multi_seed"
TITLE = ("Grokking on sparse parity over 5 seeds (log-x) and the weight-decay / width ablation "
         "(Merrill, Tsilivis, Shukla 2023, Figs. 2, 6-9)")
REQUIRES = ("torch",)
_PAPER_SETTING = dict(n_bits=40, k=3, n_train=1000, n_test=2000, width=1000, learning_rate=0.1, weight_decay=0.01,
                      batch_size=32)
PRESETS = {
    # main: the paper's configuration, 5 seeds; ablation: one seed per setting, each run stopped 30 epochs after it
    # generalises (lambda = 0.001 needs about 1,000 epochs)
    "quick": dict(_PAPER_SETTING, epochs=300, sparsity_every=10, seeds=[0, 1, 2, 3, 4],
                  ablation_weight_decays=[0.001, 0.01, 0.03], ablation_widths=[128, 1000], ablation_seeds=[0],
                  ablation_epochs=1200, ablation_stop=30, ablation_sparsity_every=50, device=None),
    # the same on more seeds and a finer grid (about 20 CPU minutes; a GPU buys little for these small MLPs)
    "paper": dict(_PAPER_SETTING, epochs=300, sparsity_every=5, seeds=[0, 1, 2, 3, 4],
                  ablation_weight_decays=[0.001, 0.003, 0.01, 0.03], ablation_widths=[64, 128, 256, 1000],
                  ablation_seeds=[0, 1, 2], ablation_epochs=2000, ablation_stop=50, ablation_sparsity_every=25,
                  device=None),
}


def _none_to_nan(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _grokking_every_seed(data, params):
    # every seed: test accuracy <= 0.6 when train accuracy first reaches 0.98, test >= 0.95 at the end, and at least
    # 20 epochs between memorisation and generalisation; value: the shortest gap
    main = data["main"]
    epochs = list(main["epochs"])
    t_mem, t_gen = _none_to_nan(main["memorisation_epoch"]), _none_to_nan(main["generalisation_epoch"])
    if not (np.isfinite(t_mem).all() and np.isfinite(t_gen).all()):
        return float("nan"), False
    at_mem = [test[epochs.index(int(t))] for test, t in zip(main["test_accuracy"], t_mem)]
    final = [test[-1] for test in main["test_accuracy"]]
    gap = float((t_gen - t_mem).min())
    return gap, max(at_mem) <= 0.6 and min(final) >= 0.95 and gap >= 20


def _sparsity_with_generalisation(data, params):
    # effective sparsity falls below 10 % of the width at the same time as the test accuracy jumps: largest
    # |t_sparse - t_gen| over seeds (<= 3 sparsity checks, the paper's "concurrent")
    main = data["main"]
    t_sparse, t_gen = _none_to_nan(main["sparsification_epoch"]), _none_to_nan(main["generalisation_epoch"])
    if not (np.isfinite(t_sparse).all() and np.isfinite(t_gen).all()):
        return float("nan"), False
    worst = float(np.abs(t_sparse - t_gen).max())
    return worst, worst <= 3 * params["sparsity_every"]


def _orders_sparser(data, params):
    # final effective sparsity / effective sparsity at the memorisation epoch, worst seed
    main = data["main"]
    epochs = np.asarray(main["sparsity_epochs"])
    ratios = []
    for curve, t in zip(main["effective_sparsity"], main["memorisation_epoch"]):
        if t is None:
            return float("nan"), False
        ratios.append(curve[-1] / curve[int(np.flatnonzero(epochs <= t)[-1])])
    return float(max(ratios)), max(ratios) <= 0.02


def _ablation_rows(data, key):
    return [row for row in data["ablation"] if row["varied"] == key]


def _smaller_decay_groks_later(data, params):
    # Appendix C (lambda = 0.001): the same grokking picture with a longer delay. Value: mean t_gen at the smallest
    # weight decay - at the paper's 0.01 (a run that never generalises counts as the epoch budget: a lower bound)
    rows = sorted(_ablation_rows(data, "weight_decay"), key=lambda r: r["weight_decay"])
    budget = params["ablation_epochs"]
    t = {r["weight_decay"]: np.nanmean(np.where(np.isnan(_none_to_nan(r["generalisation_epoch"])), budget,
                                                _none_to_nan(r["generalisation_epoch"]))) for r in rows}
    small, paper = min(t), params["weight_decay"]
    if paper not in t:
        return float("nan"), False
    delay = float(t[small] - t[paper])
    memorised = all(v is not None for v in next(r for r in rows if r["weight_decay"] == small)["memorisation_epoch"])
    return delay, delay > 0 and memorised


def _small_decay_still_groks(data, params):
    # Appendix C: "consistent with the main body": at lambda = 0.001 every ablation seed generalises within the budget
    rows = sorted(_ablation_rows(data, "weight_decay"), key=lambda r: r["weight_decay"])
    row = rows[0]
    done = [t is not None for t in row["generalisation_epoch"]]
    return f"{sum(done)}/{len(done)}", all(done)


def _narrow_groks_later(data, params):
    # overparameterisation lets the sparse and dense subnetworks compete (Sec. 3.2): the narrowest ablation width
    # generalises later than the paper's width (a run that never generalises counts as the epoch budget)
    rows = {r["width"]: r for r in _ablation_rows(data, "width")}
    if params["width"] not in rows or len(rows) < 2:
        return float("nan"), False
    budget = params["ablation_epochs"]

    def mean_t_gen(row):
        t = _none_to_nan(row["generalisation_epoch"])
        return float(np.mean(np.where(np.isnan(t), budget, t)))

    narrow = rows[min(rows)]
    delay = mean_t_gen(narrow) - mean_t_gen(rows[params["width"]])
    memorised = all(t is not None for t in narrow["memorisation_epoch"])
    return delay, delay > 0 and memorised


CLAIMS = (
    Claim("grokking_every_seed",
          "Generalisation accuracy suddenly jumps from random chance to flawless prediction long after the "
          "training set is fitted, in every run (Merrill et al. 2023, Fig. 2, 5 seeds): shortest gap between "
          "memorisation (train >= 0.98, test <= 0.6 there) and generalisation (test >= 0.95, also at the end) over "
          "seeds (>= 20 epochs expected).", _grokking_every_seed),
    Claim("sparsification_concurrent",
          "The jump is concurrent with sparsification of the model (Fig. 2 right): largest |epoch where the "
          "effective sparsity first falls below 10 % of the width - generalisation epoch| over seeds (<= 3 sparsity "
          "checks expected).", _sparsity_with_generalisation),
    Claim("orders_of_magnitude_sparser_every_seed",
          "The network becomes orders of magnitude sparser as it generalises (Sec. 3.1): final effective sparsity / "
          "effective sparsity at memorisation, worst of the seeds (<= 0.02 expected).", _orders_sparser),
    Claim("smaller_weight_decay_groks_later",
          "With a smaller weight decay (lambda = 0.001, Appendix C Figs. 6-7) the picture is the same but the "
          "transition comes later: mean generalisation epoch at the smallest ablation weight decay - at 0.01 "
          "(> 0, every run memorising, expected; a run that never generalises counts as the epoch budget).",
          _smaller_decay_groks_later),
    Claim("small_weight_decay_still_groks",
          "The observations at lambda = 0.001 are consistent with the main body, i.e. the network still groks "
          "(Appendix C): ablation seeds at the smallest weight decay that reach test >= 0.95 within the budget "
          "(all expected).", _small_decay_still_groks),
    Claim("narrow_network_groks_later",
          "Overparameterisation is what lets the sparse and the dense subnetwork compete (Sec. 3.2): the narrowest "
          "ablation width generalises later than the paper's width 1,000, mean t_gen difference in epochs (> 0, "
          "the narrow runs memorising, expected; a run that never generalises counts as the epoch budget).",
          _narrow_groks_later),
)


def run_config(params: dict, seed: int, epochs: int | None = None, **changes):
    """GrokkingConfig of one run, keeping only the first and last snapshots."""
    config = grokking_config(params, seed)
    epochs = int(params["epochs"] if epochs is None else epochs)
    return replace(config, epochs=epochs, snapshot_every=epochs, **changes)


def ablation_config(params: dict, seed: int, **changes):
    """An ablation run: ``ablation_epochs`` at most, stopped ``ablation_stop`` epochs after it generalises."""
    return run_config(params, seed, int(params["ablation_epochs"]),
                      sparsity_every=int(params["ablation_sparsity_every"]),
                      stop_after_generalisation=int(params["ablation_stop"]), **changes)


def _summary(run) -> dict:
    sparsity_epochs = run.sparsity_epochs
    width = run.config.width
    below = np.flatnonzero(run.effective_sparsity <= 0.1 * width)
    return {"epochs": run.epochs, "train_accuracy": run.train_accuracy, "test_accuracy": run.test_accuracy,
            "train_loss": run.train_loss, "test_loss": run.test_loss, "sparsity_epochs": sparsity_epochs,
            "effective_sparsity": run.effective_sparsity, "memorisation_epoch": run.memorisation_epoch,
            "generalisation_epoch": run.generalisation_epoch,
            "sparsification_epoch": int(sparsity_epochs[below[0]]) if below.size else None,
            "final_sparsity": int(run.effective_sparsity[-1]), "seconds": run.seconds}


def _collect(summaries: list) -> dict:
    return {key: [s[key] for s in summaries] for key in summaries[0]}


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
    from deep.grokking.training import train_parity

    cache: dict = {}

    def run(config):
        if config not in cache:
            cache[config] = _summary(train_parity(config, progress=progress))
        return cache[config]

    main = [run(run_config(params, s)) for s in params["seeds"]]
    data = {"seeds": list(params["seeds"]), "main": dict(_collect(main), epochs=main[0]["epochs"],
                                                          sparsity_epochs=main[0]["sparsity_epochs"])}
    ablation = []
    for key, values in (("weight_decay", params["ablation_weight_decays"]), ("width", params["ablation_widths"])):
        for value in values:
            change = {key: float(value) if key == "weight_decay" else int(value)}
            collected = _collect([run(ablation_config(params, s, **change)) for s in params["ablation_seeds"]])
            # runs stop at different epochs: each seed keeps its own curve (lists of different lengths)
            ablation.append({"varied": key, "weight_decay": float(change.get("weight_decay", params["weight_decay"])),
                             "width": int(change.get("width", params["width"])),
                             "seeds": list(params["ablation_seeds"]),
                             **{k: collected[k] for k in ("epochs", "train_accuracy", "test_accuracy", "train_loss",
                                                          "sparsity_epochs", "effective_sparsity",
                                                          "memorisation_epoch", "generalisation_epoch",
                                                          "final_sparsity", "seconds")}})
    data["ablation"] = ablation
    return data


def _padded(curves) -> np.ndarray:
    """Curves of different lengths (runs stopped early) as one array, NaN after each curve's end."""
    longest = max(len(c) for c in curves)
    out = np.full((len(curves), longest), np.nan)
    for i, c in enumerate(curves):
        out[i, :len(c)] = np.asarray(c, dtype=float)
    return out


def plot(data: dict, params: dict):
    fig, axes = style.subplots(2, 3, width=3.5, height=2.8)
    main = data["main"]
    epochs = np.asarray(main["epochs"], float)
    n = len(data["seeds"])
    ax = axes[0, 0]
    keep = epochs >= 1                                   # log x: epoch 0 (the initialisation) is left out
    style.seed_band(ax, epochs[keep], np.asarray(main["train_accuracy"], float)[:, keep], color="tab:blue",
                    label="train")
    style.seed_band(ax, epochs[keep], np.asarray(main["test_accuracy"], float)[:, keep], color="tab:red",
                    label="test")
    ax.set_ylabel("accuracy")
    ax.set_title(f"(a) accuracy, {n} seeds ({style.BAND_MINMAX})", fontsize=8)
    ax = axes[0, 1]
    style.seed_band(ax, epochs[keep], np.asarray(main["train_loss"], float)[:, keep], color="tab:blue", label="train")
    style.seed_band(ax, epochs[keep], np.asarray(main["test_loss"], float)[:, keep], color="tab:red", label="test")
    ax.set_yscale("log")
    ax.set_ylabel("hinge loss")
    ax.set_title("(b) average loss")
    ax = axes[0, 2]
    sp_epochs = np.asarray(main["sparsity_epochs"], float)
    sp = np.maximum(np.asarray(main["effective_sparsity"], float), 1)
    style.seed_band(ax, sp_epochs[sp_epochs >= 1], sp[:, sp_epochs >= 1], color="tab:green", label="active neurons")
    ax.set_yscale("log")
    ax.set_ylabel("effective sparsity (active neurons)")
    ax.set_title("(c) effective sparsity")
    for t in main["generalisation_epoch"]:
        if t is not None:
            for a in axes[0]:
                a.axvline(t, color="0.6", lw=0.6, ls="--")
    for a in axes[0]:
        a.set_xscale("log")
        a.set_xlabel("epoch (dashed: t_gen per seed)")
    for a in axes[0, :2]:
        style.legend_below(a, ncol=2)
    rows = {key: [r for r in data["ablation"] if r["varied"] == key] for key in ("weight_decay", "width")}
    band = style.BAND_MINMAX if len(data["ablation"][0]["seeds"]) > 1 else "1 seed"
    for ax, key, title in ((axes[1, 0], "weight_decay", "(d) weight decay, width %d" % params["width"]),
                           (axes[1, 1], "width", "(e) width, weight decay %g" % params["weight_decay"])):
        colours = style.palette(len(rows[key]))
        for colour, row in zip(colours, rows[key]):
            curves = _padded(row["test_accuracy"])
            x = np.arange(curves.shape[1], dtype=float)
            label = f"lambda = {row['weight_decay']:g}" if key == "weight_decay" else f"p = {row['width']}"
            style.seed_band(ax, x[1:], curves[:, 1:], color=colour, label=label)
        ax.set_xscale("log")
        ax.set_xlabel("epoch (runs stop %d epochs after t_gen)" % params["ablation_stop"])
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{title} ({band})", fontsize=8)
        style.legend_below(ax, ncol=2)
    ax = axes[1, 2]
    labels, shown = [], set()

    def once(label):
        if label in shown:
            return None
        shown.add(label)
        return label

    for i, row in enumerate(data["ablation"]):
        labels.append(f"lambda {row['weight_decay']:g}" if row["varied"] == "weight_decay" else f"p {row['width']}")
        for j, (tm, tg) in enumerate(zip(row["memorisation_epoch"], row["generalisation_epoch"])):
            y = i + (j - (len(row["seeds"]) - 1) / 2) * 0.08
            if tm is not None:
                ax.plot(tm, y, "o", color="tab:blue", ms=4, label=once("t_mem"))
            if tg is not None:
                ax.plot(tg, y, "s", color="tab:red", ms=4, label=once("t_gen"))
                if tm is not None:
                    ax.plot([tm, tg], [y, y], color="0.7", lw=0.8)
            else:
                ax.plot(row["epochs"][j][-1], y, ">", color="tab:red", ms=4, mfc="none",
                        label=once("no t_gen within the budget"))
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xscale("log")
    ax.set_xlabel("epoch")
    ax.set_title("(f) memorisation and generalisation epochs")
    if ax.get_legend_handles_labels()[0]:
        style.legend_below(ax, ncol=3)
    return fig
