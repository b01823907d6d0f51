"""The four state-evolution figures on tiny grids: files written, and the plotted data obeys the identities it must."""
import json
import math

import numpy as np
import pytest

import figures
from figures.errors_vs_alpha import as_array


def _make(name, tmp_path, overrides):
    """Run one figure through the registry; check the three files; return (data, params) as read back from JSON."""
    out = figures.make(name, preset="quick", outdir=tmp_path, overrides=overrides)
    assert out.png.exists() and out.png.stat().st_size > 1000
    assert out.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    params = json.loads(out.params.read_text())
    assert params["figure"] == name and params["preset"] == "quick"
    for key, value in overrides.items():
        assert params["params"][key] == value
    return json.loads(out.data.read_text()), params["params"]


@pytest.mark.parametrize("name", ["errors_vs_alpha", "reg_order_optimal_lambda", "tradeoff", "winning_reg_map"])
def test_figure_module_follows_the_registry_contract(name):
    module = figures.get(name)
    assert module.NAME == name and module.REQUIRES == ()
    assert set(module.PRESETS) == {"quick", "paper"}
    assert set(module.PRESETS["quick"]) == set(module.PRESETS["paper"])   # overrides valid for both presets
    assert callable(module.compute) and callable(module.plot)


def test_errors_vs_alpha_robust_above_clean_and_boundary_is_their_difference(tmp_path):
    data, _ = _make("errors_vs_alpha", tmp_path, dict(n_alpha=5, alpha_min=0.05, r_values=[1.0, 2.0]))
    assert len(data["alpha"]) == 5 and data["alpha"][0] == pytest.approx(0.05)
    assert set(data["curves"]) == {"r=1", "r=2"}
    for curve in data["curves"].values():
        assert curve["failures"] == []
        gen, adv, bnd = (as_array(curve[k]) for k in ("gen_error", "adv_error", "boundary_error"))
        assert np.isfinite(gen).all() and gen.shape == (5,)
        assert ((gen >= 0) & (adv <= 1)).all()
        # robust error >= clean error pointwise: the attack can only flip more points (exact up to rounding)
        assert (adv >= gen - 1e-12).all()
        # boundary error is defined as robust - clean; stored values must agree to float rounding
        np.testing.assert_allclose(bnd, adv - gen, rtol=0, atol=1e-12)
        # more data helps: the clean error decreases along the alpha grid at this small lam
        assert np.all(np.diff(gen) < 0)


def test_reg_order_minimiser_is_argmin_of_plotted_curve(tmp_path):
    overrides = dict(n_r=4, eps_curves=[0.01, 0.6], eps_inset=[0.01, 0.6])
    data, _ = _make("reg_order_optimal_lambda", tmp_path, overrides)
    r_values = np.asarray(data["r"])
    np.testing.assert_allclose(r_values, np.linspace(1, 3, 4))
    assert set(data["profiles"]) == {"eps=0.01", "eps=0.6"}
    for prof in data["profiles"].values():
        adv = as_array(prof["adv_error"])
        assert prof["failures"] == [] and np.isfinite(adv).all()
        assert ((adv >= 0) & (adv <= 1)).all()
        k = int(np.argmin(adv))
        assert prof["r_star_grid"] == pytest.approx(r_values[k], abs=0)
        assert prof["value_grid"] == pytest.approx(adv[k], abs=0)
        # the refined r* lies within one grid step of the grid argmin and cannot be worse than it
        step = r_values[1] - r_values[0]
        assert abs(prof["r_star"] - r_values[k]) <= step + 1e-9
        assert prof["value"] <= prof["value_grid"] + 1e-12
        # the robust error at the optimal lam is also >= the clean error of that solution
        assert (adv >= as_array(prof["gen_error"]) - 1e-12).all()
    # the paper's claim on this tiny grid: a strong l_inf attack moves r* toward the dual norm r = 1
    assert data["profiles"]["eps=0.6"]["r_star"] < data["profiles"]["eps=0.01"]["r_star"]


def test_tradeoff_small_eps_gives_robust_close_to_clean(tmp_path):
    data, params = _make("tradeoff", tmp_path, dict(n_eps=4, alphas=[0.1, 1.0], r_values=[1.0, 2.0]))
    eps = np.asarray(data["eps"])
    assert eps[0] == pytest.approx(1e-3) and eps[-1] == pytest.approx(0.3)
    assert set(params["eps_marks"]) <= set(np.round(eps, 12))    # marked eps values are on the grid
    assert len(data["curves"]) == 4
    for curve in data["curves"]:
        gen, adv = as_array(curve["gen_error"]), as_array(curve["adv_error"])
        assert curve["failures"] == [] and np.isfinite(adv).all()
        # eps -> 0: the attack vanishes, robust -> clean; at eps = 1e-3 the gap is O(eps) (tolerance 1e-2)
        assert 0 <= adv[0] - gen[0] < 1e-2
        # the boundary error grows with eps along each curve
        assert np.all(np.diff(adv - gen) > 0)


def test_winning_reg_map_winner_is_argmin_of_stored_errors(tmp_path):
    overrides = dict(n_alpha=3, n_eps=3, alpha_min=0.02, n_jobs=1)
    data, _ = _make("winning_reg_map", tmp_path, overrides)
    adv = as_array(data["adv_error"])
    assert adv.shape == (2, 3, 3) and data["r_values"] == [1.0, 2.0]
    assert ((adv >= 0) & (adv <= 1)).all()
    index = np.asarray(data["winner_index"])
    winner_r = as_array(data["winner_r"])
    for i in range(3):
        for j in range(3):
            if index[i, j] < 0:           # a failed cell: some r has no value
                assert not np.isfinite(adv[:, i, j]).all() and math.isnan(winner_r[i, j])
                continue
            assert index[i, j] == int(np.argmin(adv[:, i, j]))
            assert winner_r[i, j] == data["r_values"][index[i, j]]
            assert as_array(data["advantage"])[i, j] == pytest.approx(adv[0, i, j] - adv[1, i, j], abs=1e-15)
    # both winners occur on this grid: r = 2 at (alpha = 1, eps = 0.01), r = 1 at (alpha = 0.02, eps = 0.3)
    assert winner_r[-1, 0] == 2.0 and winner_r[0, -1] == 1.0


def test_winning_reg_map_ties_and_failures_are_flagged():
    from figures.winning_reg_map import winners

    adv = np.array([[[0.3, 1.0, np.nan]], [[0.2, 1.0, 0.4]]])     # (n_r=2, 1 alpha, 3 eps)
    index, tie = winners(adv)
    assert index.tolist() == [[1, 0, -1]]
    assert tie.tolist() == [[False, True, False]]


def test_asymptotics_figures_are_deterministic(tmp_path):
    overrides = dict(n_alpha=3, alpha_min=0.1, r_values=[2.0])
    first, _ = _make("errors_vs_alpha", tmp_path / "a", overrides)
    second, _ = _make("errors_vs_alpha", tmp_path / "b", overrides)
    assert first == second
