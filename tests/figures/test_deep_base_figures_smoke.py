"""The two deep-base figures on tiny settings: registry contract, files written, plotted data self-consistent."""
import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

import figures  # noqa: E402

NAMES = ["margins_steepest_descent", "robust_erm_nets"]


@pytest.mark.parametrize("name", NAMES)
def test_module_follows_the_registry_contract(name):
    module = figures.get(name)
    assert module.NAME == name and module.REQUIRES == ("torch",)
    assert set(module.PRESETS) == {"quick", "paper"} and set(module.PRESETS["quick"]) == set(module.PRESETS["paper"])
    assert name in figures.registry.available()


def _make(name, tmp_path, overrides):
    out = figures.make(name, preset="quick", outdir=tmp_path, overrides=overrides)
    assert out.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return json.loads(out.data.read_text())


def test_margins_figure_tiny(tmp_path):
    data = _make("margins_steepest_descent", tmp_path,
                 dict(n_train=40, n_test=40, width=8, steps=300, points=8, algorithms=["gd", "sign"], kkt=True))
    assert data["algorithms"] == ["gd", "sign"] and np.asarray(data["final_margins"]).shape == (2, 3)
    for name in ("gd", "sign"):
        hist = data["runs"][name]["history"]
        assert hist["step"][0] == 0 and hist["step"][-1] == 300
        own = data["runs"][name]["own_norm"]
        # smoothed <= normalized margin, exactly (exp loss sandwich)
        assert all(s <= m + 1e-12 for s, m in zip(hist[f"smoothed_{own}"], hist[f"margin_{own}"]))
        assert all(0 < b <= 1 + 1e-12 for b in hist[f"beta_{own}"][1:])


def test_robust_erm_figure_tiny(tmp_path):
    data = _make("robust_erm_nets", tmp_path, dict(n_train=40, width=16, epochs=20, eps=[0.0, 0.2], attack_steps=3))
    for rows in data["results"].values():
        clean, attacked = rows
        assert clean["train_robust"] == clean["train_clean"]           # eps = 0: robust = clean
        assert attacked["test_robust"] <= attacked["test_clean"] + 1e-12
        assert attacked["gap"] == pytest.approx(attacked["train_robust"] - attacked["test_robust"])
