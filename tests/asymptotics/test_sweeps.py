"""Continuation sweeps, optimal lambda and optimal regularization order."""
import numpy as np
import pytest

from asymptotics import optimal_lambda, optimal_reg_order, solve, sweep

POINT = dict(eps=0.3, lam=0.01, attack="linf", reg="l1")


def test_alpha_sweep_returns_user_order_and_matches_cold_solves():
    alphas = np.array([0.3, 3.0, 0.05, 1.0])
    res = sweep("alpha", alphas, **POINT)
    assert res.ok and np.array_equal(res.values, alphas)
    for a, fp in zip(alphas, res.results):
        cold = solve(alpha=a, tol=1e-10, **POINT)
        assert fp.point["alpha"] == a
        assert fp.q == pytest.approx(cold.q, rel=1e-6)          # both stop at a 1e-8 residual
        assert fp.adv_error == pytest.approx(cold.adv_error, abs=1e-7)
    records = res.to_records()
    assert [r["alpha"] for r in records] == list(alphas)
    np.testing.assert_array_equal(res.column("m"), [r["m"] for r in records])


def test_sweep_over_r_uses_lr_regularizers():
    res = sweep("r", [1.0, 1.5, 2.0], alpha=1.0, eps=0.3, lam=0.05, attack="linf")
    assert res.results[0].point["reg"] == "l1" and res.results[2].point["reg"] == "l2"
    assert res.results[2].m == pytest.approx(1.0405, rel=2e-4)


def test_optimal_lambda_is_a_local_minimum():
    opt = optimal_lambda(alpha=1.0, eps=0.3, attack="linf", reg="l2", lam_bounds=(1e-4, 10))
    assert not opt.at_boundary
    for factor in (0.8, 1.25):
        nearby = solve(alpha=1.0, eps=0.3, lam=opt.lam * factor, attack="linf", reg="l2")
        assert nearby.adv_error >= opt.value - 1e-9
    assert opt.fixed_point.adv_error == opt.value


def test_optimal_reg_order_is_argmin_of_its_profile():
    res = optimal_reg_order(r_values=[1.0, 1.5, 2.0, 3.0], alpha=1.0, eps=0.3, attack="linf", refine=False,
                            lam_bounds=(1e-4, 10))
    k = int(np.argmin(res.values))
    assert res.r_star == res.r_values[k] and res.value == res.values[k]
    assert np.all((res.values > 0) & (res.values < 1))


def test_failed_point_is_recorded_and_sweep_continues():
    # lam = 0 on separable (noiseless) data has no finite minimiser: that point fails, the others are solved
    res = sweep("lam", [0.05, 0.0, 0.01], alpha=3.0, eps=0.0, attack="linf", reg="l2",
                solver_options={"max_iter": 300})
    assert res.results[0] is not None and res.results[2] is not None
    assert res.results[1] is None
    assert [v for v, _ in res.failures] == [0.0] and "no finite minimiser" in res.failures[0][1]
    assert np.isnan(res.column("q")[1])
