"""``icl_minimal_model``: the minimal two-layer model's data checked against closed forms, and its claims at quick.

Fast tests call ``compute`` only; the figure itself is drawn from tiny data in ``test_figure_layout.py`` (slow)."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import figures  # noqa: E402
from figures.claims import check  # noqa: E402
from figures.io import to_jsonable  # noqa: E402

TINY = dict(num_states=3, context_length=8, steps=4, eval_every=2, eval_size=32, batch_size=16, transformer=False,
            device="cpu")


def _compute(**overrides):
    mod = figures.get("icl_minimal_model")
    return to_jsonable(mod.compute({**mod.PRESETS["quick"], **TINY, **overrides}))    # the plot: test_figure_layout


def test_zero_w_init_predicts_uniformly_loss_log_k():
    # W = 0: every logit is 0, so the model is the uniform strategy: the training loss at init is log k exactly and
    # the last-position KL to the truth equals the uniform strategy's KL (computed by deep.icl_markov.strategies)
    data = _compute(init_w=0.0, num_states=4)["minimal"]
    assert data["train_loss"][0] == pytest.approx(math.log(4), abs=1e-6)      # float32 logits
    assert data["kl_to_truth"][0] == pytest.approx(data["strategy_kl"]["uniform"], abs=1e-6)
    assert data["distances"]["uniform"][0] == pytest.approx(0.0, abs=1e-7)
    assert np.all(np.asarray(data["w"][0]) == 0) and np.all(np.asarray(data["v"][0]) == 0)


def test_uninformed_init_logits_are_scaled_unigram_counts():
    # W = c 11^T, v = 0: logits_t = c * n(t) (unigram counts up to t). With c = 0.01 and t < 8 the training loss at
    # init is within 0.01 * 8 of log k (|logit spread| <= c t) but not equal to it; v gets no gradient at this init
    # (dL/dv = 0 for W proportional to 11^T), so after the first step v is still 0 (float32 rounding: < 1e-8 with
    # lr 1) while W has moved by the lr 0.1 times its O(0.1) gradient
    data = _compute(init_w=0.01, steps=1, eval_every=1)["minimal"]
    assert abs(data["train_loss"][0] - math.log(3)) < 0.08
    assert data["train_loss"][0] != pytest.approx(math.log(3), abs=1e-7)
    assert np.abs(np.asarray(data["v"][1])).max() < 1e-8
    assert np.abs(np.asarray(data["w"][1]) - 0.01).max() > 1e-3


def test_layer_one_mass_is_the_softmax_of_the_final_v():
    data = _compute()["minimal"]
    v = np.asarray(data["v"][-1], dtype=float)
    expected = np.exp(v - v.max()) / np.exp(v - v.max()).sum()          # last position attends over all distances
    assert np.allclose(data["final_layer1_mass"], expected, atol=1e-9)
    assert np.asarray(data["w"]).shape == (3, 3, 3) and np.asarray(data["v"]).shape == (3, 8)
    assert data["picks"]["final"] == 4 and data["picks"]["early"] == 2


def test_claim_measures_on_hand_made_data():
    mod = figures.get("icl_minimal_model")
    claims = {c.name: c for c in mod.CLAIMS}
    w_good = np.eye(3) * 0.2 + 0.01
    data = {"minimal": {"w": [w_good.tolist()], "v": [[0.0] * 6, [-0.02, 0.04, -0.01, 0.005, -0.002, 0.0]],
                        "final_layer1_mass": [0.1, 0.7, 0.2]}}
    assert claims["w_becomes_identity_like"].measure(data, {}) == (pytest.approx(0.21 / 0.01), True)
    assert claims["v_selects_distance_one"].measure(data, {})[1]
    assert claims["even_odd_asymmetry"].measure(data, {}) == ("-+-+-", True)
    data["minimal"]["v"][1] = [0.01, 0.04, -0.01, 0.005, -0.002, 0.0]
    assert claims["even_odd_asymmetry"].measure(data, {}) == ("++-+-", False)
    data["minimal"]["w"] = [(np.ones((3, 3)) * 0.1).tolist()]                 # unigram-like W: not identity-like
    assert not claims["w_becomes_identity_like"].measure(data, {})[1]


@pytest.mark.slow
@pytest.mark.extended
def test_quick_preset_claims_hold(tmp_path):
    torch.set_num_threads(1)
    results = check("icl_minimal_model", preset="quick", outdir=tmp_path)
    failed = [(r.claim, r.value, r.error) for r in results if not r.ok]
    assert not failed, failed
