"""Closed forms (fast paths) vs their sympy derivations and vs the general quadrature path."""
import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad
from scipy.stats import norm

from asymptotics import closed_forms, solve, symbolic
from asymptotics.channels import channel_hats
from asymptotics.geometry import parse_attack
from asymptotics.losses import parse_loss

RNG_POINTS = [(0.7, 0.0, 1.3), (1.2, 0.4, 0.8), (0.3, 1.1, 2.0), (2.0, 5.0, 0.5)]


@pytest.mark.parametrize("sigma,tau,c", RNG_POINTS)
def test_soft_threshold_closed_form_matches_sympy_and_quadrature(sigma, tau, c):
    exprs, syms = symbolic.soft_threshold_moments()
    sym_vals = [float(sp.lambdify(syms, e, "mpmath")(sigma, tau, c)) for e in exprs]
    ours = [float(v) for v in closed_forms.soft_threshold_moments(sigma, tau, c)]
    w = lambda g: np.sign(g) * max(abs(g) - tau, 0.0) / c  # noqa: E731
    numeric = [quad(lambda g: f(g) * norm.pdf(g, scale=sigma), -40 * sigma, 40 * sigma, points=[-tau, tau],
                    epsabs=1e-14, limit=200)[0]
               for f in (lambda g: g * w(g), lambda g: w(g) ** 2, lambda g: abs(w(g)))]
    np.testing.assert_allclose(ours, sym_vals, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours, numeric, rtol=1e-9, atol=1e-13)


def test_quadratic_prior_sympy_matches_solver_effective_ridge():
    (m_e, q_e, V_e), syms = symbolic.quadratic_prior()
    fp = solve(1.0, 0.3, 0.05, attack="l2", reg="l2", tol=1e-11)
    vals = dict(zip(map(str, syms), (fp.m_hat, fp.q_hat, fp.V_hat, 0.05, fp.P_hat, 1.0)))
    subs = {s: vals[str(s)] for s in syms}
    assert float(m_e.subs(subs)) == pytest.approx(fp.m, rel=1e-9)
    assert float(q_e.subs(subs)) == pytest.approx(fp.q, rel=1e-9)
    assert float(V_e.subs(subs)) == pytest.approx(fp.V, rel=1e-9)


@pytest.mark.parametrize("point", [
    dict(attack="linf", reg="l1"), dict(attack="linf", reg="l2"), dict(attack="l2", reg="l2"),
    dict(attack="l2", reg="l1"), dict(attack="linf", reg="l2", loss="square"),
])
def test_fast_paths_equal_general_quadrature_path(point):
    fast = solve(alpha=0.8, eps=0.25, lam=0.03, tol=1e-11, **point)
    slow = solve(alpha=0.8, eps=0.25, lam=0.03, tol=1e-11, fast_paths=False, **point)
    for k in ("m", "q", "V", "P", "adv_error", "train_loss"):
        assert getattr(fast, k) == pytest.approx(getattr(slow, k), rel=1e-8), k


@pytest.mark.parametrize("m,q,V,P,tau", [(0.6, 1.1, 0.9, 0.7, 0.0), (1.5, 3.0, 2.5, 1.2, 0.5)])
def test_square_channel_closed_form_matches_quadrature(m, q, V, P, tau):
    kw = dict(alpha=1.7, loss=parse_loss("square"), eps=0.3, attack=parse_attack("linf"), rho_x=1.0, tau=tau)
    fast = channel_hats(m, q, V, P, fast_paths=True, **kw)
    slow = channel_hats(m, q, V, P, fast_paths=False, **kw)
    for a, b in zip((fast.m_hat, fast.q_hat, fast.V_hat, fast.P_hat), (slow.m_hat, slow.q_hat, slow.V_hat, slow.P_hat)):
        assert a == pytest.approx(b, rel=1e-10)


def test_square_channel_closed_form_matches_sympy():
    exprs, syms = symbolic.square_channel()
    m, q, V, g, dg, alpha, rho = 0.6, 1.1, 0.9, 0.21, 0.3, 1.7, 1.0
    ours = closed_forms.square_channel_hats(m, q, V, g, dg, alpha, rho)
    subs = dict(zip(syms, (m, q, V, g, dg, alpha, rho)))
    for e, v in zip(exprs, ours):
        assert float(e.subs(subs)) == pytest.approx(v, rel=1e-12)
