"""Claims of the three margin figures: the measures on hand-made data (fast), and the claims on the figures' own
runs (slow; the quick preset or a stated reduction of it)."""
import json
import math

import numpy as np
import pytest

import figures
from figures import margin_gap_random as gap_fig
from figures.claims import evaluate

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from figures import margins_steepest_descent as msd  # noqa: E402
from figures import robust_erm_nets as erm  # noqa: E402


def _hist(smoothed, accuracy, beta=None):
    steps = list(range(len(smoothed)))
    return {"step": steps, "accuracy": accuracy, "smoothed_linf": smoothed,
            "beta_linf": beta if beta is not None else [0.5] * len(smoothed)}


def test_smoothed_drop_counts_falls_after_the_fit_only():
    # a 2% fall after the fit is reported exactly; a larger fall before the fit is not counted
    hist = _hist([-5.0, -9.0, 1.0, 2.0, 1.96, 2.5], [0.5, 0.9, 1.0, 1.0, 1.0, 1.0])
    assert msd.largest_smoothed_drop(hist, "linf") == pytest.approx(0.02, rel=1e-12)
    assert msd.largest_smoothed_drop(_hist([1.0, 2.0], [0.9, 0.9]), "linf") == math.inf   # never fit


def test_last_decade_slope_recovers_a_power_law():
    steps = np.arange(1, 1001)
    hist = {"step": steps.tolist(), "beta_l2": (1 - 0.3 * steps ** -0.5).tolist()}
    assert msd.last_decade_slope(hist, "l2") == pytest.approx(-0.5, abs=1e-9)   # exact power law: exact slope


def test_gap_fall_is_measured_from_the_first_separating_checkpoint():
    rec = {"steps": [0, 1, 10, 100], "gap": [[2.0, 1.5, 0.5, 0.1], [2.0, 0.9, 0.4, 0.1]],
           "flow_gap": [[1.0, 1.0, 0.2, 0.01], [1.0, 1.0, 0.4, 0.03]]}
    # first checkpoint where both seeds separate (gap < 1) is step 10: median 0.3 -> median 0.02
    assert gap_fig.fall_after_fit(rec, "flow_gap") == pytest.approx(15.0, rel=1e-12)


def _claims(module, data, params):
    data = json.loads(json.dumps(data, default=float))                  # as the check reads it back
    return {r.claim: r for r in evaluate(module.NAME, module.CLAIMS, data, params, "quick")}


@pytest.mark.slow
def test_margins_quick_preset_claims_hold(tmp_path):
    out = figures.make("margins_steepest_descent", preset="quick", outdir=tmp_path)
    data = json.loads(out.data.read_text())
    params = json.loads(out.params.read_text())["params"]
    results = _claims(msd, data, params)
    assert all(r.holds for r in results.values()), {k: r.value for k, r in results.items()}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_smoothed_margin_never_falls_and_gap_shrinks_on_other_seeds(seed):
    # the two algorithms whose margin used to fall (sign) or whose 1 - beta rose (GD), 1500 steps
    params = dict(msd.PRESETS["quick"], seed=seed, steps=1500, points=40, algorithms=["gd", "sign"], kkt=False)
    results = _claims(msd, msd.compute(params), params)
    assert results["smoothed_margin_monotone"].value <= 0.01       # the claim's 1% tolerance
    assert results["alignment_gap_decreases"].value < 0


@pytest.mark.slow
def test_margin_gap_quick_preset_claims_hold(tmp_path):
    out = figures.make("margin_gap_random", preset="quick", outdir=tmp_path)
    results = _claims(gap_fig, json.loads(out.data.read_text()), json.loads(out.params.read_text())["params"])
    assert results["cd_flow_gap_falls"].value >= 10
    assert all(r.holds for r in results.values()), {k: r.value for k, r in results.items()}


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["gd", "sign"])
def test_robust_erm_fits_the_training_set_at_the_largest_eps(algorithm):
    # the hardest cell of the quick preset (eps = 0.2), one seed per algorithm to stay within the slow budget
    params = dict(erm.PRESETS["quick"])
    result = erm.run_one(algorithm, 0.2, 0, params)
    assert result["train_robust"] >= 0.99 and result["train_clean"] == 1.0
