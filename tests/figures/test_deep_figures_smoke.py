"""Smoke tests of the deep-learning figures on tiny grids: PNG written, JSON data with the expected keys and shapes."""
import json

import numpy as np
import pytest

pytest.importorskip("torch")

import figures  # noqa: E402

ICL_TINY = dict(context_length=12, steps=6, eval_every=3, eval_size=16)
GROK_TINY = dict(n_bits=10, k=2, n_train=64, n_test=64, width=24, epochs=4, sparsity_every=2)


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)


def _make(name, tmp_path, overrides):
    out = figures.make(name, preset="quick", outdir=tmp_path, overrides=overrides)
    assert out.png.exists() and out.png.stat().st_size > 1000
    assert out.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    params = json.loads(out.params.read_text())
    assert params["figure"] == name and params["preset"] == "quick"
    for key, value in overrides.items():
        assert params["params"][key] == value
    return json.loads(out.data.read_text())


def test_icl_phases_smoke(tmp_path):
    data = _make("icl_phases", tmp_path, ICL_TINY)
    main = data["main"]
    assert main["steps"] == [0, 3, 6]
    assert set(main["distances"]) == {"uniform", "unigram", "bigram"}
    assert all(len(v) == 3 for v in main["distances"].values())
    assert len(main["phases"]["labels"]) == 3 and main["phases"]["labels"][0] == "uniform"   # init = uniform
    assert main["parameter_count"] == 2 * (4 * 256 + 12 * 16 + 32) + 3 * 16 + 32 + 16 * 3
    assert data["control"]["parameter_count"] == (4 * 256 + 12 * 16 + 32) + 3 * 16 + 32 + 16 * 3
    assert main["strategy_kl"]["bigram"] < main["strategy_kl"]["uniform"]


def test_icl_attention_smoke(tmp_path):
    data = _make("icl_attention", tmp_path, ICL_TINY)
    assert set(data["layer1"]) == {"init", "plateau", "final"}
    layer1 = np.asarray(data["layer1"]["final"])
    assert layer1.shape == (12, 12)
    assert np.allclose(layer1.sum(1), 1, atol=1e-5) and np.allclose(np.triu(layer1, 1), 0)   # causal rows
    assert len(data["layer2_last"]["init"]) == 12 and len(data["tokens"]) == 12
    assert len(data["positional_encoding"]["final"]) == 12


def test_icl_stumbling_block_smoke(tmp_path):
    data = _make("icl_stumbling_block", tmp_path, dict(ICL_TINY, seeds=[0, 1]))
    assert data["seeds"] == [0, 1]
    assert np.asarray(data["kl_to_truth"]["ds"]).shape == (2, 3)
    assert np.asarray(data["kl_to_truth"]["mix"]).shape == (2, 3)
    assert len(data["delays"]) == 2 and set(data["first_bigram"]) == {"ds", "mix"}


def test_grokking_accuracy_smoke(tmp_path):
    data = _make("grokking_accuracy", tmp_path, dict(GROK_TINY, seeds=[0, 1]))
    assert data["epochs"] == [0, 1, 2, 3, 4]
    acc = np.asarray(data["train_accuracy"])
    assert acc.shape == (2, 5) and ((acc >= 0) & (acc <= 1)).all()
    assert len(data["memorisation_epoch"]) == 2


def test_grokking_neuron_norms_smoke(tmp_path):
    data = _make("grokking_neuron_norms", tmp_path, dict(GROK_TINY, seeds=[0], shown_others=5))
    n_sparse = len(data["sparse_units"])
    assert 1 <= n_sparse <= 24
    assert np.asarray(data["sparse_norms"]).shape == (n_sparse, 5)
    shown = min(5, 24 - n_sparse)
    assert len(data["other_units"]) == shown
    assert not set(data["other_units"]) & set(data["sparse_units"])
    if shown:
        assert np.asarray(data["other_norms"]).shape == (shown, 5)
    assert set(data["mean_norm"]) == {"sparse", "complement", "control"}


def test_grokking_sparsity_smoke(tmp_path):
    data = _make("grokking_sparsity", tmp_path, dict(GROK_TINY, seeds=[0]))
    assert data["sparsity_epochs"] == [0, 2, 4]
    sizes = np.asarray(data["effective_sparsity"])
    assert sizes.shape == (1, 3) and (sizes >= 0).all() and (sizes <= 24).all()
    assert data["final_sparsity"][0] == data["final_sparse_size"]
    for name in ("sparse", "complement", "control"):
        faith = np.asarray(data["faithfulness"][name])
        assert faith.shape == (5,) and ((faith >= 0) & (faith <= 1)).all()
