"""Numba kernels and the objective's gradients against the asymptotics objects and plain numpy."""
import numpy as np
import pytest

from asymptotics import LOSSES, Attack, Problem, Regularizer
from simulate import _kernels as K
from simulate.objective import RobustObjective

U = np.linspace(-30.0, 30.0, 601)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_kernels_match_loss_objects(name):
    # the kernels restate l and l'; they must equal Loss.value / Loss.d1 to rounding (1e-12 relative)
    loss = LOSSES[name]()
    code = K.LOSS_CODES[name]
    np.testing.assert_allclose(K.loss_values(code, U), loss.value(U), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(K.loss_derivatives(code, U), loss.d1(U), rtol=1e-12, atol=1e-300)


def test_matvec_rmatvec_and_fused_pass_match_numpy():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((37, 23))
    w, v = rng.standard_normal(23), rng.standard_normal(37)
    out_n, out_d = np.empty(37), np.empty(23)
    K.matvec(Z, w, out_n)
    K.rmatvec(Z, v, out_d)
    np.testing.assert_allclose(out_n, Z @ w, rtol=1e-13)
    np.testing.assert_allclose(out_d, Z.T @ v, rtol=1e-13)
    grad, margins = np.empty(23), np.empty(37)
    val, sd1 = K.data_value_grad(Z, w, 0.3, K.LOGISTIC, grad, margins)
    loss = LOSSES["logistic"]()
    u = Z @ w - 0.3
    assert val == pytest.approx(np.sum(loss.value(u)), rel=1e-13)
    assert sd1 == pytest.approx(np.sum(loss.d1(u)), rel=1e-13)
    np.testing.assert_allclose(grad, Z.T @ loss.d1(u), rtol=1e-12)


POINTS = {
    "l1.5-attack": dict(attack="l1.5", reg="l2"),
    "l3-attack-l1.5-reg": dict(attack="l3", reg="l1.5"),
    "l2-attack": dict(attack="l2", reg="l3"),
    "mahalanobis": dict(attack=Attack.mahalanobis([1.0, 2.0]), reg=Regularizer.mahalanobis([0.5, 3.0])),
}


@pytest.mark.parametrize("name", sorted(POINTS))
def test_smooth_gradient_matches_finite_differences_of_reference_value(name):
    # central differences of RobustObjective.value (Loss/Attack/Regularizer objects), step 1e-6: error ~1e-8
    pb = Problem.from_point(alpha=1.5, eps=0.4, lam=0.1, loss="logistic", **POINTS[name])
    rng = np.random.default_rng(1)
    d = 20
    X, y = rng.standard_normal((30, d)), np.where(rng.random(30) < 0.5, 1.0, -1.0)
    obj = RobustObjective(pb, X, y)
    w = rng.standard_normal(d)
    val, g = obj.smooth_value_grad(w)
    assert val == pytest.approx(obj.value(w), rel=1e-12)
    h = 1e-6
    for e in rng.standard_normal((3, d)):
        fd = (obj.value(w + h * e) - obj.value(w - h * e)) / (2 * h)
        assert g @ e == pytest.approx(fd, rel=1e-6, abs=1e-7)


def _prox_reference(v, s0, c, kappa, norm):
    import cvxpy as cp

    w, s = cp.Variable(v.size), cp.Variable()
    A = cp.norm1(w) / v.size if norm == "l1" else cp.norm(w, "inf")
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w - v) + 0.5 * cp.square(s - s0) + c * cp.norm1(w)),
               [A <= kappa * s]).solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return w.value, s.value


@pytest.mark.parametrize("norm", ["l1", "linf"])
@pytest.mark.parametrize("s0", [-0.5, 0.05, 3.0])
def test_epigraph_prox_matches_cvxpy(norm, s0):
    # exact prox of c||w||_1 + indicator{A(w) <= kappa s} against Clarabel at 1e-12 gaps: agreement 1e-6
    rng = np.random.default_rng(2)
    v = 2 * rng.standard_normal(15)
    w = np.empty(15)
    if norm == "l1":
        s = K.prox_l1_epigraph(v, s0, 0.2, 0.7, 15.0, w)
    else:
        s = K.prox_linf_epigraph(v, s0, 0.2, 0.7, w)
    w_ref, s_ref = _prox_reference(v, s0, 0.2, 0.7, norm)
    np.testing.assert_allclose(w, w_ref, atol=1e-6)
    assert s == pytest.approx(float(s_ref), abs=1e-6)
