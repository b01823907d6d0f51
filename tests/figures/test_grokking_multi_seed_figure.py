"""``grokking_multi_seed``: seeds differ, the ablation grid is what was asked, derived epochs agree with the curves,
claims on hand-made data, and the quick preset's claims (slow)."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import figures  # noqa: E402
from figures.claims import check  # noqa: E402
from figures.io import to_jsonable  # noqa: E402

TINY = dict(n_bits=10, k=2, n_train=64, n_test=64, width=24, epochs=4, sparsity_every=2, seeds=[0, 1, 2],
            ablation_weight_decays=[0.001, 0.01], ablation_widths=[8, 24], ablation_seeds=[0, 1], ablation_epochs=4,
            ablation_stop=2, ablation_sparsity_every=2,
            device="cpu")


@pytest.fixture(scope="module")
def tiny():
    # compute only, through JSON as the figure writes it; the plot is drawn in test_figure_layout (slow)
    mod = figures.get("grokking_multi_seed")
    return json.loads(json.dumps(to_jsonable(mod.compute({**mod.PRESETS["quick"], **TINY}))))


def test_seeds_differ(tiny):
    main = tiny["main"]
    assert tiny["seeds"] == [0, 1, 2] and np.asarray(main["train_loss"]).shape == (3, 5)
    losses = [curve[0] for curve in main["train_loss"]]           # different training sets and inits
    assert len(set(losses)) == 3


def test_ablation_grid_and_shared_runs(tiny):
    rows = tiny["ablation"]
    assert [(r["varied"], r["weight_decay"], r["width"]) for r in rows] == [
        ("weight_decay", 0.001, 24), ("weight_decay", 0.01, 24), ("width", 0.01, 8), ("width", 0.01, 24)]
    assert rows[1]["test_accuracy"] == rows[3]["test_accuracy"]      # the paper setting is in both sweeps: one run
    # same seeds and setting as the main runs; none generalised, so none stopped early: the same curves
    assert all(t is None for t in rows[1]["generalisation_epoch"])
    assert rows[1]["test_accuracy"] == tiny["main"]["test_accuracy"][:2]
    assert rows[0]["train_loss"] != rows[1]["train_loss"]           # the weight decay changed the training
    assert max(max(s) for s in rows[2]["effective_sparsity"]) <= 8   # a width-8 net has at most 8 active units


def test_ablation_runs_stop_after_generalising():
    # a 1-bit parity is learnt in a few epochs: the run must end exactly `stop` epochs after t_gen, with the last
    # epoch recorded like a final one (snapshot and effective sparsity there)
    from deep.grokking.training import GrokkingConfig, train_parity

    config = GrokkingConfig(n_bits=6, k=1, n_train=64, n_test=64, width=16, epochs=60, batch_size=16,
                            sparsity_every=7, snapshot_every=60, stop_after_generalisation=3, device="cpu")
    run = train_parity(config)
    t_gen = run.generalisation_epoch
    assert t_gen is not None and t_gen + 3 < 60
    assert run.epochs.tolist() == list(range(t_gen + 4)) and len(run.test_accuracy) == t_gen + 4
    assert run.snapshots[-1].epoch == t_gen + 3 and run.sparsity_epochs[-1] == t_gen + 3
    full = train_parity(GrokkingConfig(**{**config.to_dict(), "stop_after_generalisation": None}))
    assert full.epochs[-1] == 60                                     # without it: every epoch
    assert np.array_equal(full.test_accuracy[: t_gen + 4], run.test_accuracy)   # same run up to the stop


def test_derived_epochs_agree_with_the_curves(tiny):
    main = tiny["main"]
    for train, test, t_mem, t_gen in zip(main["train_accuracy"], main["test_accuracy"], main["memorisation_epoch"],
                                         main["generalisation_epoch"]):
        hits = [e for e, a in zip(main["epochs"], train) if a >= 0.98]
        assert t_mem == (hits[0] if hits else None)
        hits = [e for e, a in zip(main["epochs"], test) if a >= 0.95]
        assert t_gen == (hits[0] if hits else None)
    for sparsity, t_sparse in zip(main["effective_sparsity"], main["sparsification_epoch"]):
        hits = [e for e, s in zip(main["sparsity_epochs"], sparsity) if s <= 0.1 * TINY["width"]]
        assert t_sparse == (hits[0] if hits else None)


def test_claim_measures_on_hand_made_data():
    claims = {c.name: c for c in figures.get("grokking_multi_seed").CLAIMS}
    params = {"sparsity_every": 10, "ablation_epochs": 300, "weight_decay": 0.01, "width": 1000}
    main = {"epochs": list(range(5)), "test_accuracy": [[0.5, 0.5, 0.55, 0.9, 1.0], [0.5, 0.52, 0.5, 0.7, 0.99]],
            "memorisation_epoch": [1, 2], "generalisation_epoch": [40, 60], "sparsification_epoch": [50, 40],
            "sparsity_epochs": [0, 1, 2, 3, 4],
            "effective_sparsity": [[1000, 990, 900, 30, 8], [1000, 1000, 950, 80, 6]]}
    data = {"main": main, "ablation": [
        {"varied": "weight_decay", "weight_decay": 0.001, "memorisation_epoch": [30, 35],
         "generalisation_epoch": [200, None]},
        {"varied": "weight_decay", "weight_decay": 0.01, "memorisation_epoch": [30, 30],
         "generalisation_epoch": [120, 130]},
        {"varied": "width", "width": 128, "memorisation_epoch": [40, 45], "generalisation_epoch": [None, 150]},
        {"varied": "width", "width": 1000, "memorisation_epoch": [30, 30], "generalisation_epoch": [110, 120]}]}
    assert claims["grokking_every_seed"].measure(data, params) == (39.0, True)
    assert claims["sparsification_concurrent"].measure(data, params) == (20.0, True)
    worst = pytest.approx(8 / 990)                                   # seed 0: 8 units at the end, 990 at t_mem
    assert claims["orders_of_magnitude_sparser_every_seed"].measure(data, params) == (worst, True)
    # the run that never generalises counts as the 300-epoch budget: (200 + 300) / 2 - 125
    assert claims["smaller_weight_decay_groks_later"].measure(data, params) == (125.0, True)
    assert claims["small_weight_decay_still_groks"].measure(data, params) == ("1/2", False)
    # never generalising counts as the 300-epoch budget: (300 + 150) / 2 - (110 + 120) / 2
    assert claims["narrow_network_groks_later"].measure(data, params) == (110.0, True)
    data["ablation"][2]["generalisation_epoch"] = [100, 90]             # the narrow net groks first: not reproduced
    assert claims["narrow_network_groks_later"].measure(data, params) == (-20.0, False)
    main["sparsification_epoch"] = [90, 40]                        # 50 epochs after generalising: not concurrent
    assert not claims["sparsification_concurrent"].measure(data, params)[1]


@pytest.mark.slow
@pytest.mark.extended
def test_quick_preset_claims_hold(tmp_path):
    torch.set_num_threads(1)
    results = check("grokking_multi_seed", preset="quick", outdir=tmp_path)
    failed = [(r.claim, r.value, r.error) for r in results if not r.ok]
    assert not failed, failed
