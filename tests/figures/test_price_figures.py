"""Smoke tests with real checks for the price-of-implicit-bias figures on tiny grids."""
import json

import numpy as np

import figures


def test_price_gap_vs_m_records_consistent_gaps(tmp_path):
    out = figures.make("price_gap_vs_m", "quick", tmp_path,
                       overrides=dict(d=48, m_values=[12, 24], seeds=2, steps=2000, n_test=400, jobs=1, k_w=6))
    data = json.loads(out.data.read_text())
    assert out.png.stat().st_size > 5000
    for cell in data["cells"]:
        for run in cell["runs"]:
            assert run["gap"] == run["robust_train_acc"] - run["robust_test_acc"]
    gd = np.array([r["gap"] for c in data["cells"] for r in c["runs"]
                   if r["algorithm"] == "gd" and r["eps_fraction"] == 0.5])
    assert np.allclose(np.mean(gd.reshape(2, 2), axis=1), data["gap"]["gd@0.5"])   # the plotted mean over seeds
    assert {r["bounds_favour"] for r in data["regularizer_preference"]} <= {1.0, 2.0}


def test_price_benefit_map_is_gap_difference(tmp_path):
    out = figures.make("price_benefit_map", "quick", tmp_path,
                       overrides=dict(d=32, m_values=[16], k_w=[2, 8], k_x=[4], eps_fractions=[0.5], seeds=1,
                                      steps=1500, n_test=300, jobs=1))
    data = json.loads(out.data.read_text())
    assert np.array(data["benefit"]).shape == (1, 2, 1)
    assert np.all(np.abs(data["benefit"]) <= 1.0)
