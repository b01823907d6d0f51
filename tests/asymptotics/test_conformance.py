"""Generic suite run over every registry entry: losses (prox vs numerical argmin, derivatives vs finite
differences), numba kernels vs plain references, and a solve per loss satisfying the Stein identity."""
import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from asymptotics import LOSSES, solve
from asymptotics import _kernels

W = np.array([-30.0, -4.0, -1.3, -0.2, 0.0, 0.4, 0.99, 1.7, 6.0, 25.0])
VS = [0.05, 1.0, 7.5, 300.0]


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("V", VS)
def test_prox_is_the_numerical_argmin(name, V):
    loss = LOSSES[name]()
    u, _ = loss.prox(W, V)
    for wi, ui in zip(W, u):
        obj = lambda z: (z - wi) ** 2 / (2 * V) + float(loss.value(z))  # noqa: E731
        ref = minimize_scalar(obj, bracket=(wi - 1, wi + V + 1), tol=1e-12).x
        # the objective is flat to second order near the minimiser: compare objective values and argmins loosely
        assert obj(ui) <= obj(ref) + 1e-12
        assert ui == pytest.approx(ref, abs=1e-5 * (1 + V))


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("V", VS)
def test_prox_derivative_matches_finite_differences(name, V):
    loss = LOSSES[name]()
    h = 1e-6
    kinks = np.array(loss.kinks(V)) if not loss.smooth else np.array([])
    w = W[np.all(np.abs(W[:, None] - kinks[None, :]) > 1e-3, axis=1)] if kinks.size else W
    _, du = loss.prox(w, V)
    fd = (loss.prox(w + h, V)[0] - loss.prox(w - h, V)[0]) / (2 * h)
    np.testing.assert_allclose(du, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_derivatives_match_finite_differences(name):
    loss = LOSSES[name]()
    u = np.array([-3.0, -0.5, 0.3, 0.8, 1.5, 4.0])
    h = 1e-5
    np.testing.assert_allclose(loss.d1(u), (loss.value(u + h) - loss.value(u - h)) / (2 * h), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(loss.d2(u), (loss.d1(u + h) - loss.d1(u - h)) / (2 * h), rtol=1e-5, atol=1e-8)
    assert loss.d1(np.array([0.0]))[0] == pytest.approx(loss.slope_at_zero)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_solves_and_satisfies_stein(name):
    fp = solve(alpha=1.2, eps=0.2, lam=0.05, attack="linf", reg="l1.5", loss=name, tol=1e-11)
    assert fp.converged and 0 <= fp.gen_error <= fp.adv_error <= 1
    assert fp.m == pytest.approx(fp.m_hat * fp.V, rel=1e-9)


@pytest.mark.parametrize("e1,e2", [(1.5, 3.0), (1.1, 1.9), (4.0, 1.2), (3.0, 3.0)])
def test_power_prox_kernel_matches_brentq(e1, e2):
    rng = np.random.default_rng(7)
    y, c = rng.uniform(0, 8, 50), rng.uniform(0.05, 4, 50)
    k1, k2 = rng.uniform(0, 2, 50), rng.uniform(0, 2, 50)
    x = _kernels.power_prox(y, c, k1, e1, k2, e2)
    for i in range(50):
        f = lambda t: c[i] * t + k1[i] * e1 * t ** (e1 - 1) + k2[i] * e2 * t ** (e2 - 1) - y[i]  # noqa: E731
        assert x[i] == pytest.approx(brentq(f, 0, y[i] / c[i] + 1e-12, xtol=1e-15), rel=1e-11, abs=1e-14)


def test_logistic_and_exponential_kernels_match_brentq():
    from scipy.special import expit, lambertw

    for V in (0.01, 1.0, 40.0, 4000.0):
        w = np.linspace(-3 * V - 20, 60, 301)
        u = _kernels.logistic_prox(w, V)
        ref = [brentq(lambda t: t - wi - V * expit(-t), wi, wi + V, xtol=1e-14) for wi in w]
        np.testing.assert_allclose(u, ref, rtol=1e-11, atol=1e-11)
        w = w[w > np.log(V) - 600]                     # keep V e^{-w} representable for the reference
        u = _kernels.exponential_prox(w, V)
        ref = w + lambertw(V * np.exp(-w)).real        # s e^s = V e^{-w}
        np.testing.assert_allclose(u, ref, rtol=1e-10, atol=1e-10)
