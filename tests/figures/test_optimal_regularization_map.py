"""The optimal-regularization map (Newton continuation) against the bounded search, and its claims as code.

Spot check: 10 cells (6 for the l_inf attack, 4 for l_2) of the map made by continuation equal
``optimal_reg_order(method="bounded")`` run cell by cell, to 1e-3 in r* (absolute; r* ~ 1-2) and 1e-3 relative in
lam*. The bounded reference runs at xatol 2e-4 (log10 lam and r), whose own error (~5e-4 in lam, ~2e-4 in r) fits
inside that tolerance; the Newton searches stop at steps of 1e-5 (benchmarks/bench_optimal_newton.py: the 3 x 3 maps
agree to 1.7e-4 in r* and 6.5e-4 in lam* with the bounded search at its default xatol 1e-3).
"""
import numpy as np
import pytest

import figures
from asymptotics import optimal_reg_order
from asymptotics.optimal_map import optimal_regularization_map
from figures import optimal_regularization_map as fig
from figures.claims import evaluate


def _data(r_linf, r_l2, lam_edge=None):
    r_linf, r_l2 = np.asarray(r_linf, float), np.asarray(r_l2, float)
    edge = np.zeros_like(r_l2, dtype=bool) if lam_edge is None else np.asarray(lam_edge, bool)
    return {"maps": {"linf": {"r_star": r_linf.tolist()},
                     "l2": {"r_star": r_l2.tolist(), "at_lam_bound": edge.tolist()}}}


def test_claims_hold_on_a_map_with_the_papers_shape_and_fail_otherwise():
    params = dict(fig.PRESETS["quick"])
    good = _data([[1.8, 1.4, 1.05], [1.9, 1.6, 1.08]], [[2.0, 2.001], [2.0, 1.0]], lam_edge=[[0, 0], [0, 1]])
    assert all(r.holds for r in evaluate(fig.NAME, fig.CLAIMS, good, params, "quick"))
    bad = _data([[1.8, 1.9, 1.05], [1.3, 1.2, 1.3]], [[2.0, 2.1], [2.0, 2.0]])
    held = {r.claim: r.holds for r in evaluate(fig.NAME, fig.CLAIMS, bad, params, "quick")}
    assert held == {"linf_r_star_moves_to_dual_norm": False, "dual_norm_suboptimal_at_small_eps": False,
                    "l2_attack_r_star_is_two": False}


SPOTS = {"linf": ([0.2, 0.6, 1.8], [0.1, 0.3, 0.5], [(0, 0), (0, 2), (1, 1), (2, 0), (2, 1), (2, 2)]),
         "l2": ([0.3, 1.0], [0.1, 0.4], [(0, 0), (0, 1), (1, 0), (1, 1)])}


@pytest.mark.slow
@pytest.mark.extended
@pytest.mark.parametrize("attack", ["linf", "l2"])
def test_newton_map_equals_the_bounded_search_at_spot_cells(attack):
    alphas, eps_values, spots = SPOTS[attack]
    out = optimal_regularization_map(alphas, eps_values, attack=attack)
    assert all(m == "newton" for row in out["method"] for m in row), out["failures"]
    for i, j in spots:
        ref = optimal_reg_order(alpha=alphas[i], eps=eps_values[j], attack=attack, xatol=2e-4)
        k = int(np.argmin(np.abs(ref.r_values - ref.r_star)))
        assert out["r_star"][i, j] == pytest.approx(ref.r_star, abs=1e-3), (i, j)
        assert out["value"][i, j] == pytest.approx(ref.value, rel=1e-7), (i, j)
        if abs(ref.r_values[k] - ref.r_star) < 1e-12:      # r* on the grid: its lam* is in the profile
            lam_ref = ref.lams[k]
        else:
            from asymptotics import optimal_lambda

            lam_ref = optimal_lambda(alpha=alphas[i], eps=eps_values[j], attack=attack,
                                     reg=f"l{ref.r_star:.12g}", xatol=2e-4).lam
        assert out["lam"][i, j] == pytest.approx(lam_ref, rel=1e-3), (i, j)


@pytest.mark.slow
def test_figure_on_a_tiny_grid_writes_its_files_and_marks_lam_at_the_bracket(tmp_path):
    out = figures.make(fig.NAME, preset="quick", outdir=tmp_path,
                       overrides=dict(n_alpha=2, n_eps=2, alpha_min=0.5, alpha_max=3.0, eps_min=0.2, eps_max=0.6,
                                      attacks=["l2"]))
    assert out.png.stat().st_size > 0 and out.data.is_file() and out.params.is_file()
    import json

    data = json.loads(out.data.read_text())
    m = data["maps"]["l2"]
    lam = np.array(m["lam"])
    assert np.array_equal(np.array(m["at_lam_bound"]), lam <= 1e-5 * 1.02)
    inside = ~np.array(m["at_lam_bound"])
    assert np.all(np.abs(np.array(m["r_star"])[inside] - 2.0) < 0.02)
