"""The three margin figures on tiny presets: registry contract, files written, plotted data obeys the oracles."""
import json

import numpy as np
import pytest

import figures

NAMES = ["margins_oracle_b", "margin_gap_random", "robust_steepest_descent"]


@pytest.mark.parametrize("name", NAMES)
def test_registry_contract(name):
    module = figures.get(name)
    assert module.NAME == name and set(module.PRESETS) == {"quick", "paper"}
    assert set(module.PRESETS["quick"]) == set(module.PRESETS["paper"])


def _make(name, tmp_path, overrides):
    out = figures.make(name, preset="quick", outdir=tmp_path, overrides=overrides)
    assert out.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return json.loads(out.data.read_text())


@pytest.mark.slow
def test_oracle_b_figure_each_algorithm_wins_its_own_column(tmp_path):
    data = _make("margins_oracle_b", tmp_path, dict(steps=20_000, diag_steps=20_000, checkpoints=20))
    final = {a: {k: data["linear"][a][k][-1] for k in ("margin_l2", "margin_linf", "margin_l1")}
             for a in ("GD", "sign", "CD")}
    assert max(final, key=lambda a: final[a]["margin_l2"]) == "GD"
    assert max(final, key=lambda a: final[a]["margin_linf"]) == "sign"
    assert max(final, key=lambda a: final[a]["margin_l1"]) == "CD"


@pytest.mark.slow
def test_gap_figure_gaps_shrink(tmp_path):
    data = _make("margin_gap_random", tmp_path, dict(n=10, d=20, seeds=2, steps=3000, checkpoints=15, kkt_points=3))
    for rec in data["algorithms"].values():
        gap = np.asarray(rec["gap"], float)
        assert np.all(gap[:, -1] < gap[:, 1]) and np.all(gap[:, -1] > -1e-9)


@pytest.mark.slow
def test_robust_figure_cd_keeps_the_clean_direction(tmp_path):
    data = _make("robust_steepest_descent", tmp_path, dict(fractions=[0.0, 0.25], steps=20_000, checkpoints=10))
    for row in data["final"]:
        assert row["cd_to_l1"] > 0.999 and row["gd_to_p2"] > 0.999
