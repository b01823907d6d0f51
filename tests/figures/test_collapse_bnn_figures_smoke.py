"""Smoke tests: the neural-collapse and BNN-attack figures run end to end on a tiny grid."""
import pytest

torch = pytest.importorskip("torch")

from figures import registry  # noqa: E402


def test_neural_collapse_figure_tiny(tmp_path):
    out = registry.make("neural_collapse_attack", "quick", tmp_path,
                        overrides=dict(widths=[16], epochs=2, log_every=1, attack_steps=1, regimes=["standard",
                                                                                              "trades"], n_eval=60))
    assert out.png.exists() and out.data.exists()


def test_bnn_figure_tiny(tmp_path):
    out = registry.make("bnn_attacks", "quick", tmp_path,
                        overrides=dict(eps=[0.0, 0.2], samples=2, steps=2, epochs=1, n_test=20,
                                       hmc=dict(chains=2, num_samples=4, burn_in=2, leapfrog_steps=2, thin=1)))
    assert out.png.exists()
