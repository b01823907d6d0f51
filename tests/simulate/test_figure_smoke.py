"""The theory-vs-simulation figure runs end to end on a tiny grid and writes PNG + data + parameters."""
from figures import registry


def test_theory_vs_simulation_figure_smoke(tmp_path):
    out = registry.make("theory_vs_simulation", "quick", tmp_path,
                        overrides=dict(cases=["linf+l2", "mahalanobis"], n_alpha=4, sim_alphas=[0.5], d=40,
                                       seeds=2, n_test=100))
    assert out.png.stat().st_size > 0 and out.data.stat().st_size > 0
