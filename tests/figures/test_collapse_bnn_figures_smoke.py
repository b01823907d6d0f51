"""The neural-collapse and BNN-attack figures: tiny end-to-end runs with every claim measurable, and their
quick-preset claims (slow). Their device discipline is checked in ``test_deep_figure_devices.py``."""
import json
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from figures import registry  # noqa: E402
from figures.claims import check, evaluate  # noqa: E402

TINY = {
    "neural_collapse_attack": dict(widths=[16], per_class=6, epochs=2, log_every=1, attack_steps=1, eval_steps=1,
                                   targeted_steps=1, batch_size=30),
    "bnn_attacks": dict(eps=[0.0, 0.2], samples=2, score_samples=2, steps=2, epochs=1, n_test=20, hmc_pretrain=1,
                        hmc=dict(chains=2, num_samples=4, burn_in=2, leapfrog_steps=2, thin=1)),
}
DEVICE = os.environ.get("ROBUSTBIAS_TEST_DEVICE", "cpu")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_figure_writes_png_and_data_with_claims_measurable(name, tmp_path):
    out = registry.make(name, "quick", tmp_path, overrides=dict(TINY[name], device=DEVICE))
    assert out.png.exists() and out.data.exists()
    # every claim's measure runs on the data (a broken measure would report an error)
    rows = evaluate(name, registry.get(name).CLAIMS, json.loads(out.data.read_text()),
                    dict(registry.get(name).PRESETS["quick"], **TINY[name]), "quick")
    assert [r.error for r in rows] == [""] * len(rows)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_quick_preset_expected_claims_hold(name, tmp_path):
    rows = check(name, "quick", tmp_path)
    failed = [(r.claim, r.value, r.error) for r in rows if not r.ok]
    assert rows and failed == []
