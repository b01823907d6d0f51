"""``icl_ngrams``: the head-distance measure on hand-made attention, the trigram run's data, claims (quick: slow)."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import figures  # noqa: E402
from figures.claims import check  # noqa: E402
from figures.io import to_jsonable  # noqa: E402

TINY = dict(context_length=12, steps=4, eval_every=2, eval_size=32, device="cpu")


def test_head_distance_mass_of_pure_look_back_heads():
    from figures.icl_ngrams import head_distance_mass

    T = 9
    attn = np.zeros((1, 2, T, T))
    for i in range(T):
        attn[0, 0, i, max(i - 1, 0)] = 1.0          # head 0: previous token (position 0 attends to itself)
        attn[0, 1, i, max(i - 2, 0)] = 1.0          # head 1: two back (positions 0, 1 attend to position 0)
    mass = head_distance_mass(attn, distances=(0, 1, 2, 3))[0]
    # mean over the T - d rows that have a key at distance d
    assert np.allclose(mass[0], [1 / T, 1.0, 0.0, 0.0])
    assert np.allclose(mass[1], [1 / T, 1 / (T - 1), 1.0, 0.0])


def test_tiny_trigram_run_data():
    mod = figures.get("icl_ngrams")                  # compute only; the plot is drawn in test_figure_layout (slow)
    data = json.loads(json.dumps(to_jsonable(mod.compute({**mod.PRESETS["quick"], **TINY}))))
    main = data["main"]
    assert list(main["distances"]) == ["uniform", "unigram", "bigram", "trigram"]
    assert main["steps"] == [0, 2, 4] and main["phases"]["labels"][0] == "uniform"     # init predicts ~uniformly
    assert set(main["transitions"]) == {"unigram", "bigram", "trigram"}
    mass = np.asarray(main["head_distance_mass"])
    assert mass.shape == (3, 2, 4) and ((mass >= 0) & (mass <= 1)).all()
    # at init the two heads' attention is nearly uniform over the causal prefix: mass at distance d ~ mean 1/(i+1)
    uniform = np.mean([1 / (i + 1) for i in range(1, 12)])
    assert np.allclose(mass[0, :, 1], uniform, atol=0.02)
    # width 16 with 2 heads, k = 3, T = 12, two layers, relative table of T rows
    assert main["parameter_count"] == 2 * (4 * 256 + 12 * 16 + 32) + 3 * 16 + 32 + 16 * 3
    assert "control" not in data


def test_claim_measures_on_hand_made_data():
    claims = {c.name: c for c in figures.get("icl_ngrams").CLAIMS}
    main = {"phases": {"sequence": ["uniform", "unigram", "bigram", "trigram"]},
            "strategy_kl": {"bigram": 0.2, "trigram": 0.06}, "kl_to_truth": [0.3, 0.1],
            "head_distance_mass": [[[0.0, 0.9, 0.05, 0.0], [0.0, 0.1, 0.7, 0.1]]]}
    data = {"main": main, "control": {"kl_to_truth": [0.3, 0.19], "strategy_kl": {"bigram": 0.2},
                                      "phases": {"labels": ["uniform", "bigram"]}}}
    assert claims["four_phases_up_to_trigram"].measure(data, {})[1]
    assert claims["descends_below_bigram"].measure(data, {}) == (pytest.approx(0.04 / 0.14), True)
    assert claims["heads_look_back_one_and_two"].measure(data, {}) == (pytest.approx(0.7), True)
    assert claims["single_head_bottoms_out_at_bigram"].measure(data, {}) == (pytest.approx(0.95), True)
    main["head_distance_mass"] = [[[0.0, 0.64, 0.27, 0.0], [0.0, 0.77, 0.08, 0.0]]]   # both heads at distance 1
    assert claims["heads_look_back_one_and_two"].measure(data, {}) == (pytest.approx(0.27), False)
    main["phases"]["sequence"] = ["uniform", "unigram", "bigram"]
    assert not claims["four_phases_up_to_trigram"].measure(data, {})[1]


@pytest.mark.slow
@pytest.mark.extended
def test_quick_preset_claims_hold(tmp_path):
    torch.set_num_threads(1)
    results = check("icl_ngrams", preset="quick", outdir=tmp_path)
    failed = [(r.claim, r.value, r.error) for r in results if not r.ok]
    assert not failed, failed
