"""Formula losses and penalties in the finite-d simulation: objective and gradient against the built-ins and finite
differences, clear errors where no solver applies, and theory (asymptotics.solve) against simulate.erm.

The theory-vs-simulation test uses the quadratically smoothed hinge, which is not built in, at d = 500 with 10 seeds:
every observable within 3 standard errors of the mean (finite-size biases are O(1/d), below the seed noise).
"""
import numpy as np
import pytest
import sympy as sp

from asymptotics import InvalidParameter, Loss, Problem, Regularizer, solve
from simulate import erm
from simulate.objective import RobustObjective
from simulate.reference import build

u, x = sp.Symbol("u"), sp.Symbol("x")


def smoothed_hinge():
    return Loss.from_sympy(sp.Piecewise((0, u >= 1), ((1 - u) ** 2 / 2, u > 0), (sp.Rational(1, 2) - u, True)),
                           name="smoothed_hinge")


def huber():
    return Regularizer.from_sympy(sp.Piecewise((x ** 2 / 2, sp.Abs(x) <= 1), (sp.Abs(x) - sp.Rational(1, 2), True)),
                                  name="huber_penalty")


def _data(d=30, n=40, seed=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), np.sign(rng.standard_normal(n)), rng.standard_normal(d)


@pytest.mark.parametrize("attack", ["l2", "l3"])
def test_formula_objective_equals_builtin(attack):
    # logistic formula + |x|^{3/2} formula vs the built-ins on the same data: the same function evaluated through
    # different kernels (two passes over Z instead of one fused pass), equal to rounding (1e-12 relative)
    X, y, w = _data()
    loss = Loss.from_sympy(sp.log(1 + sp.exp(-u)), name="logistic_formula")
    reg = Regularizer.from_sympy(sp.Abs(x) ** sp.Rational(3, 2), name="l1.5_formula")
    point = dict(alpha=1.0, eps=0.2, lam=0.1, attack=attack)
    ref = RobustObjective(Problem.from_point(**point, reg="l1.5"), X, y)
    got = RobustObjective(Problem.from_point(**point, reg=reg, loss=loss), X, y)
    v_ref, g_ref = ref.smooth_value_grad(w)
    v_got, g_got = got.smooth_value_grad(w)
    assert v_got == pytest.approx(v_ref, rel=1e-12)
    np.testing.assert_allclose(g_got, g_ref, rtol=1e-11, atol=1e-12)
    assert got.value(w) == pytest.approx(ref.value(w), rel=1e-12)
    assert (got.smooth_loss, got.smooth_reg) == (True, True)


def test_formula_gradient_matches_finite_differences():
    # smoothed hinge (piecewise) + Huber penalty (piecewise) + l2 attack: every piece's derivative in the gradient;
    # central differences with h = 1e-6 are accurate to ~1e-8 away from the pieces' joints
    X, y, w = _data(seed=5)
    obj = RobustObjective(Problem.from_point(alpha=1.0, eps=0.2, lam=0.3, attack="l2", reg=huber(),
                                             loss=smoothed_hinge()), X, y)
    val, grad = obj.smooth_value_grad(w)
    assert val == pytest.approx(obj.value(w), rel=1e-12)
    h = 1e-6
    fd = np.array([(obj.value(w + h * e) - obj.value(w - h * e)) / (2 * h) for e in np.eye(len(w))])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)


def test_kinked_formula_penalty_splits_into_a_soft_threshold():
    # |x| + x^2: FISTA soft-thresholds lam f'(0+) |w| and differentiates the smooth rest x^2
    X, y, w = _data(seed=7)
    reg = Regularizer.from_sympy(sp.Abs(x) + x ** 2, name="elastic_net_formula")
    obj = RobustObjective(Problem.from_point(alpha=1.0, eps=0.2, lam=0.3, attack="l2", reg=reg), X, y)
    assert not obj.smooth_reg and obj.reg_threshold == pytest.approx(0.3)
    assert obj.smooth_reg_value(w) == pytest.approx(0.3 * np.sum(w ** 2), rel=1e-13)
    np.testing.assert_allclose(obj.reg_gradient(w), 2 * w, rtol=1e-13)
    assert obj.smooth_reg_value(w) + obj.nonsmooth_value(w) == pytest.approx(0.3 * reg.value(w), rel=1e-13)


def test_finite_d_rejects_formulas_no_solver_handles():
    hinge = Loss.from_sympy(sp.Max(0, 1 - u), name="hinge_formula")
    with pytest.raises(InvalidParameter, match="^loss: .*kinks.*cvxpy reference does not support formula"):
        erm(alpha=1.0, eps=0.1, lam=0.1, loss=hinge, d=20, seeds=1)
    X, y, _ = _data()
    obj = RobustObjective(Problem.from_point(alpha=1.0, eps=0.1, lam=0.1, loss=smoothed_hinge()), X, y)
    with pytest.raises(InvalidParameter, match="cvxpy reference does not support formula"):
        build(obj)


@pytest.mark.slow
def test_formula_logistic_erm_equals_builtin_erm():
    # same data, same solver, certificates at 1e-8: the minimisers agree to ~1e-9 (observed: identical digits)
    point = dict(alpha=1.0, eps=0.2, lam=0.05, attack="linf", reg="l2")
    loss = Loss.from_sympy(sp.log(1 + sp.exp(-u)), name="logistic_formula")
    a, b = erm(**point, d=200, seeds=2), erm(**point, loss=loss, d=200, seeds=2)
    for k in ("m", "q", "P", "train_loss", "adv_error"):
        assert b.mean[k] == pytest.approx(a.mean[k], rel=1e-6, abs=1e-9)


SIM_POINTS = {
    "linf+l2 (fista)": dict(alpha=1.0, eps=0.2, lam=0.05, attack="linf", reg="l2"),
    "l2+l2 (lbfgs)": dict(alpha=1.0, eps=0.3, lam=0.05, attack="l2", reg="l2"),
    "linf+elastic-net formula (fista, kink at 0)": dict(alpha=1.0, eps=0.2, lam=0.05, attack="linf",
                                                        reg="elastic_net_formula"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIM_POINTS))
def test_smoothed_hinge_theory_matches_simulation(name):
    Regularizer.from_sympy(sp.Abs(x) + x ** 2, name="elastic_net_formula")
    point = {**SIM_POINTS[name], "loss": smoothed_hinge()}
    fp = solve(**point, tol=1e-10)
    sim = erm(**point, d=500, seeds=10)
    names = ["m", "q", "P", "gen_error", "adv_error", "train_loss"]
    z = {k: (sim.mean[k] - getattr(fp, k)) / sim.sem(k) for k in names}
    assert all(abs(v) < 3.0 for v in z.values()), f"z-scores {z}"
    assert all(s["certificate"] <= s["tol"] for s in sim.per_seed)


@pytest.mark.slow
def test_docs_example_runs():
    # docs/formula_losses.md is a doctest: the guide's numbers and error messages are the package's
    import doctest
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "docs" / "formula_losses.md"
    result = doctest.testfile(str(path), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 10
