"""Derivatives of fixed points by implicit differentiation (asymptotics.sensitivities) against independent oracles.

Oracles: central differences of fixed points re-solved at tol 1e-13 (Richardson-extrapolated over steps h and h/2,
h = 1e-3 max(|theta|, floor): truncation ~h^4 ~ 1e-12, solve error 1e-13 / 1e-3 ~ 1e-10), the closed-form fixed point
of the square loss with ridge at eps = 0 (differentiated by sympy), and differences of the channel. Tolerance 1e-4
relative or 1e-6 absolute (the issue asks 1e-3 / 1e-6): the implicit derivatives are accurate to ~1e-9 times the
condition number of I - dF/dx, the oracle to ~1e-8 away from the edges of the parameters' domains.
"""
import math

import numpy as np
import pytest
import mpmath as mp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asymptotics
from asymptotics import (Attack, ConvergenceError, InvalidParameter, Regularizer, SingularPoint, sensitivities,
                         solve)
from asymptotics import differences, sensitivity
from asymptotics.channel_jacobian import channel_jacobian
from asymptotics.channels import channel_hats
from asymptotics.geometry import parse_attack
from asymptotics.losses import parse_loss
from asymptotics.sensitivity import OBSERVABLES
from asymptotics.trivial import zero_test

RTOL, ATOL = 1e-4, 1e-6


def _moved(point, name, value):
    """The point with one parameter moved, as the user would write it (eps moves eps_test when it is not given)."""
    p = dict(point)
    if name in ("tau", "rho"):
        p["data"] = {**(p.get("data") or {}), name: value}
    elif name == "r":
        p["reg"] = f"l{value:.15g}"
    else:
        p[name] = value
    return p


def _value(point, name):
    if name in ("tau", "rho"):
        return (point.get("data") or {}).get(name, 1.0 if name == "rho" else 0.0)
    if name == "r":
        return float(point["reg"][1:])
    if name == "eps_test":
        return point.get("eps_test", point["eps"])
    return point[name]


def resolved_derivative(point, name, side=0):
    """d observable / d parameter from re-solved fixed points (Richardson-extrapolated central differences; one-sided
    O(h^2) from above at the edge of the domain)."""
    t = _value(point, name)
    h = 1e-3 * max(abs(t), 0.1)

    def obs(v):
        fp = solve(**_moved(point, name, v), tol=1e-13)
        return np.array([getattr(fp, k) for k in OBSERVABLES])

    if side:
        f0, f1, f2 = obs(t), obs(t + h / 2), obs(t + h)
        return (-3 * f0 + 4 * f1 - f2) / h
    d1 = (obs(t + h) - obs(t - h)) / (2 * h)
    d2 = (obs(t + h / 2) - obs(t - h / 2)) / h
    return (4 * d2 - d1) / 3


def mismatches(ours, ref):
    """(observable, implicit, re-solved) where the two differ by more than RTOL relative + ATOL absolute."""
    return [(k, o, r) for k, o, r in zip(OBSERVABLES, ours, ref)
            if math.isfinite(r) and not abs(o - r) <= RTOL * abs(r) + ATOL]


def disagreements_with_resolves(point, wrt):
    """The sensitivities at ``point`` and every (parameter, observable, implicit, re-solved) that disagrees."""
    fp = solve(**point, tol=1e-13)
    s = sensitivities(fp, wrt=wrt)
    bad = []
    for name in wrt:
        ref = resolved_derivative(point, name, s.steps[name][1])
        bad += [(name, *m) for m in mismatches([s.of(k, name) for k in OBSERVABLES], ref)]
    return s, bad


# ---- the difference schemes ---------------------------------------------------------------------------------------

def test_difference_schemes_reach_their_orders():
    f, exact = np.exp, math.exp(0.3)
    for h, tol in ((0.1, 2e-6), (0.05, 1.5e-7)):          # central Richardson: error ~ h^4 / 480 * f^(5)
        assert abs(differences.derivative(f, 0.3, h)[()] - exact) < tol
    for h, tol in ((0.1, 2e-5), (0.05, 3e-6)):            # one-sided Richardson: error ~ h^3 / 32
        assert abs(differences.derivative(f, 0.3, h, side=1)[()] - exact) < tol
        assert abs(differences.derivative(f, 0.3, h, side=-1)[()] - exact) < tol
    assert abs(differences.derivative(f, 0.3, 1e-7, "forward")[()] - exact) < 1e-6


# ---- the channel's closed-form Jacobian -----------------------------------------------------------------------------

@pytest.mark.parametrize("loss,fast,attack,eps", [
    ("logistic", True, "linf", 0.3), ("square", True, "linf", 0.3),
    pytest.param("logistic", True, "l1.5", 0.3, marks=pytest.mark.slow),
    pytest.param("exponential", True, "l2", 0.2, marks=pytest.mark.slow),
    pytest.param("square", False, "l1", 0.2, marks=pytest.mark.slow),
    pytest.param("logistic", True, "l2", 0.0, marks=pytest.mark.slow)])
def test_channel_jacobian_matches_differences_of_the_channel(loss, fast, attack, eps):
    kw = dict(alpha=1.3, loss=parse_loss(loss), eps=eps, attack=parse_attack(attack), rho_x=1.2, tau=0.3,
              fast_paths=fast)

    def hats(x, **over):
        h = channel_hats(*x, **{**kw, **over})
        return np.array([h.m_hat, h.q_hat, h.V_hat, h.P_hat])

    x = np.array([0.8, 1.7, 0.9, 1.1])
    got, C, d_eps, d_alpha = channel_jacobian(*x, **kw)
    np.testing.assert_allclose(got, hats(x), rtol=1e-14)
    # Richardson differences of the quadrature (error ~1e-11; the channel's values are smooth to ~1e-15)
    np.testing.assert_allclose(C, differences.jacobian(hats, x, 1e-3), rtol=1e-8, atol=1e-10)
    side = 1 if eps == 0 else 0
    np.testing.assert_allclose(d_eps, differences.derivative(lambda e: hats(x, eps=e), eps, 1e-3, side=side),
                               rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(d_alpha, differences.derivative(lambda a: hats(x, alpha=a), 1.3, 1e-3), rtol=1e-9)


def test_hinge_has_no_closed_form_channel_jacobian():
    kw = dict(alpha=1.0, loss=parse_loss("hinge"), eps=0.1, attack=parse_attack("linf"), rho_x=1.0, tau=0.0)
    assert channel_jacobian(0.5, 1.0, 1.0, 1.0, **kw) is None


# ---- closed form: square loss with ridge at eps = 0 ------------------------------------------------------------------

def _square_ridge_closed_form(alpha, lam):
    """(m, q, V, gen_error) of the square loss with ridge, eps = 0, rho = 1, tau = 0, in closed form (mpmath).

    Channel (closed_forms.square_channel_hats, g = 0): m_hat = alpha k / (1 + V), V_hat = alpha / (1 + V),
    q_hat = alpha (1 - 2 m k + q) / (1 + V)^2, k = sqrt(2 / pi); prior (ridge, no 1/2: curvature V_hat + 2 lam):
    V = 1 / (V_hat + 2 lam), m = m_hat V, q = (m_hat^2 + q_hat) V^2. V solves 2 lam V^2 + (alpha + 2 lam - 1) V = 1.
    """
    k = mp.sqrt(2 / mp.pi)
    b = alpha + 2 * lam - 1
    V = (-b + mp.sqrt(b * b + 8 * lam)) / (4 * lam)
    m_hat = alpha * k / (1 + V)
    m = m_hat * V
    q = (V ** 2 * m_hat ** 2 + alpha * V ** 2 * (1 - 2 * m * k) / (1 + V) ** 2) / (1 - alpha * V ** 2 / (1 + V) ** 2)
    return {"m": m, "q": q, "V": V, "gen_error": mp.acos(m / mp.sqrt(q)) / mp.pi}


@pytest.mark.parametrize("alpha,lam", [(0.5, 0.1), pytest.param(2.0, 0.03, marks=pytest.mark.slow)])
def test_square_ridge_derivatives_equal_the_closed_form(alpha, lam):
    fp = solve(alpha=alpha, eps=0.0, lam=lam, attack="l2", reg="l2", loss="square", tol=1e-13)
    exact = _square_ridge_closed_form(mp.mpf(alpha), mp.mpf(lam))
    for name, v in exact.items():          # the closed form is the solver's fixed point
        assert getattr(fp, name) == pytest.approx(float(v), rel=1e-10)
    s = sensitivities(fp, wrt=("lam", "alpha"))
    with mp.workdps(40):                   # derivatives of the closed form at 40 digits (mpmath's differences)
        d_lam = {k: float(mp.diff(lambda x: _square_ridge_closed_form(mp.mpf(alpha), x)[k], mp.mpf(lam)))
                 for k in exact}
        d_alpha = {k: float(mp.diff(lambda x: _square_ridge_closed_form(x, mp.mpf(lam))[k], mp.mpf(alpha)))
                   for k in exact}
    for name in exact:
        assert s.of(name, "lam") == pytest.approx(d_lam[name], rel=1e-8, abs=1e-11), name
        assert s.of(name, "alpha") == pytest.approx(d_alpha[name], rel=1e-8, abs=1e-11), name


# ---- against re-solved fixed points ---------------------------------------------------------------------------------

def test_derivatives_match_resolved_fixed_points_logistic_linf():
    s, bad = disagreements_with_resolves(dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2"),
                                         ("lam", "eps_test"))
    assert bad == []
    assert s.of("m", "eps_test") == 0.0 and s.of("adv_error", "eps_test") > 0     # eps_test: the error formula only


@pytest.mark.slow
def test_differences_route_equals_closed_form_channel_route():
    fp = solve(alpha=0.7, eps=0.2, lam=0.03, attack="l1.5", reg="l1.5", loss="exponential", tol=1e-13)
    auto = sensitivities(fp, wrt=("alpha", "eps", "lam", "r"))
    diff = sensitivities(fp, wrt=("alpha", "eps", "lam", "r"), jacobian="differences")
    for p in ("alpha", "eps", "lam", "r"):
        for k in OBSERVABLES:
            assert auto.of(k, p) == pytest.approx(diff.of(k, p), rel=1e-7, abs=1e-10), (p, k)


@pytest.mark.slow
@pytest.mark.parametrize("point,wrt", [
    (dict(alpha=0.5, eps=0.2, lam=0.1, attack="l2", reg="l1.5", loss="hinge"), ("lam", "eps", "alpha", "r")),
    (dict(alpha=2.0, eps=0.1, lam=0.01, attack="l1", reg="l1", loss="exponential"), ("lam", "eps", "alpha")),
    (dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2.5", data=dict(rho=1.5, tau=0.3)),
     ("r", "tau", "rho", "eps_test")),
    (dict(alpha=1.0, eps=0.0, lam=0.05, attack="linf", reg="l2"), ("eps",)),              # one-sided at eps = 0
    (dict(alpha=1.0, eps=0.2, lam=0.05, attack="l2", reg="l2", loss="square"), ("lam", "eps", "alpha")),
    (dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l1.03", loss="logistic"), ("r",)),   # r near 1
])
def test_derivatives_match_resolved_fixed_points(point, wrt):
    _, bad = disagreements_with_resolves(point, wrt)
    assert bad == [], f"{point}: (parameter, observable, implicit, re-solved) {bad}"


@pytest.mark.slow
def test_r_derivative_at_r_equal_one_is_the_right_limit():
    # At r = 1 the solver's prior is the soft-threshold closed form and just above it a quadrature accurate to only
    # 1e-4 (for 1 < r < 1.03: a jump of 3.6e-4 in m), so no small-step difference exists there. Oracle: the
    # derivative at 1 of the quartic through re-solved fixed points at r = 1, 1.05, ..., 1.2 (the quadrature is
    # accurate to ~1e-7 from 1.05 on); it moves by 0.1% from h = 0.05 to 0.04, and the one-sided scheme (step 0.1)
    # agrees with it to ~0.2%: tolerance 1e-2.
    point = dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l1")
    s = sensitivities(solve(**point, tol=1e-13), wrt="r")
    nodes = 1.0 + 0.05 * np.arange(5)
    values = np.array([[getattr(solve(**_moved(point, "r", r), tol=1e-13), k) for k in OBSERVABLES] for r in nodes])
    weights = np.array([-25.0, 48.0, -36.0, 16.0, -3.0]) / (12 * 0.05)    # d/dr at the first of 5 equispaced nodes
    ref = weights @ values
    # absolute 5e-5: the training error is ~1e-7 here (nearly separable) and its derivative at the level of the
    # quadrature's error near r = 1
    bad = [(k, s.of(k, "r"), v) for k, v in zip(OBSERVABLES, ref) if not abs(s.of(k, "r") - v) <= 1e-2 * abs(v) + 5e-5]
    assert not bad, bad


def test_mahalanobis_objects_are_passed_and_r_is_refused_naming_wrt():
    A, R = Attack.mahalanobis([1.0, 2.0]), Regularizer.mahalanobis([1.0, 0.5])
    fp = solve(1.0, 0.3, 0.05, attack=A, reg=R, tol=1e-13)
    with pytest.raises(InvalidParameter, match="attack"):
        sensitivities(fp, wrt="lam")                       # the point cannot carry the matrix
    with pytest.raises(InvalidParameter) as info:
        sensitivities(fp, wrt=("lam", "r"), attack=A, reg=R)
    assert info.value.parameter == "wrt" and "'r'" in str(info.value)
    s = sensitivities(fp, wrt="lam", attack=A, reg=R)
    h = 1e-5
    lo, hi = (solve(1.0, 0.3, 0.05 + d, attack=A, reg=R, tol=1e-13) for d in (-h, h))
    assert s.of("adv_error", "lam") == pytest.approx((hi.adv_error - lo.adv_error) / (2 * h), rel=1e-5)


def test_bad_requests_raise_invalid_parameter():
    fp = solve(1.0, 0.3, 0.05, tol=1e-12)
    for wrt in ("gamma", (), ("lam", "lam")):
        with pytest.raises(InvalidParameter, match="wrt"):
            sensitivities(fp, wrt=wrt)
    with pytest.raises(InvalidParameter, match="scheme"):
        sensitivities(fp, wrt="lam", scheme="spline")
    with pytest.raises(InvalidParameter, match="fp"):
        sensitivities(fp, wrt="lam", loss="hinge")         # not the fixed point of the hinge problem
    s = sensitivities(fp, wrt="lam")
    with pytest.raises(InvalidParameter, match="observable"):
        s.of("accuracy", "lam")
    with pytest.raises(InvalidParameter, match="parameter"):
        s.of("m", "eps")


def test_singular_jacobian_raises_singular_point(monkeypatch):
    fp = solve(1.0, 0.3, 0.05, tol=1e-12)
    s = sensitivities(fp, wrt="lam")
    monkeypatch.setattr(sensitivity, "CONDITION_MAX", 0.5 * s.condition)
    with pytest.raises(SingularPoint) as info:
        sensitivities(fp, wrt="lam")
    assert isinstance(info.value, ConvergenceError)
    assert info.value.diagnostics["condition"] == pytest.approx(s.condition, rel=1e-9)


# ---- the collapsed solution w = 0 ----------------------------------------------------------------------------------

def test_collapsed_solution_has_zero_derivatives_inside_the_zero_test_region():
    point = dict(alpha=0.5, eps=1.0, lam=1.0, attack="l2", reg="l1")
    fp = solve(**point)
    assert fp.trivial and fp.certificate["zero_test"]["verdict"] == "exact"
    s = sensitivities(fp, wrt=("lam", "eps", "alpha", "rho", "tau"))
    for p in s.parameters:
        for k in OBSERVABLES:
            v = s.of(k, p)
            if k.endswith("_hat"):
                assert math.isnan(v)                       # the conjugates are undefined at w = 0
            elif k == "estimation_error" and p == "rho":
                assert v == pytest.approx(1.0)             # rho_x - 2 m + q = rho at w = 0
            else:
                assert v == 0.0, (k, p)
    # oracle: the re-solved neighbours are collapsed too, with the same errors
    for name in ("lam", "eps", "alpha"):
        for f in (0.99, 1.01):
            other = solve(**{**point, name: point[name] * f})
            assert other.trivial and other.adv_error == fp.adv_error


def test_collapsed_solution_on_the_edge_of_its_region_raises_singular_point():
    # eps at which the exact zero test holds with equality: one step below, w != 0
    base = dict(alpha=0.5, lam=1.0, attack="l2", reg="l1")
    z = zero_test(asymptotics.Problem.from_point(eps=1.0, **base))
    eps_edge = z.lhs / (base["alpha"] * 0.5)               # rhs = alpha |l'(0)| eps, |l'(0)| = 1/2 (logistic)
    fp = solve(eps=eps_edge * (1 + 1e-12), **base)
    assert fp.trivial
    with pytest.raises(SingularPoint, match="edge"):
        sensitivities(fp, wrt="eps")
    inside = solve(eps=eps_edge * 1.01, **base)             # 1% inside the region: derivatives exist (zero)
    assert sensitivities(inside, wrt="eps").of("adv_error", "eps") == 0.0


# ---- property test over the domain (slow) ---------------------------------------------------------------------------

@st.composite
def domain_points(draw):
    loss = draw(st.sampled_from(["logistic", "hinge", "square", "exponential"]))
    attack = draw(st.sampled_from(["linf", "l2", "l1", "l1.5", "l3"]))
    reg = draw(st.sampled_from(["l1", "l1.5", "l2", "l3"]))
    point = dict(alpha=10 ** draw(st.floats(-1.0, 1.0)), eps=draw(st.floats(0.02, 0.8)),
                 lam=10 ** draw(st.floats(-2.5, 0.0)), attack=attack, reg=reg, loss=loss)
    if draw(st.booleans()):
        point["data"] = dict(tau=draw(st.floats(0.0, 0.5)), rho=draw(st.floats(0.5, 2.0)))
    wrt = draw(st.lists(st.sampled_from(["alpha", "eps", "lam", "r", "eps_test", "tau"]), min_size=1, max_size=2,
                        unique=True))
    if "r" in wrt and reg == "l1":
        wrt.remove("r")                 # the one-sided r-derivative at r = 1 has its own (looser) test above
    return point, tuple(wrt) or ("lam",)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=domain_points())
def test_derivatives_match_resolved_fixed_points_over_the_domain(case):
    point, wrt = case
    try:
        fp = solve(**point, tol=1e-13)
    except ConvergenceError:
        return                          # not solvable here: nothing to differentiate (the solver's own tests)
    if fp.trivial:
        return                          # covered by the collapsed-solution tests
    try:
        s = sensitivities(fp, wrt=wrt)
    except SingularPoint:
        return
    for name in wrt:
        ref = resolved_derivative(point, name, s.steps[name][1])
        bad = mismatches([s.of(k, name) for k in OBSERVABLES], ref)
        assert bad == [], f"{point} d/d{name} (condition {s.condition:.3g}): (observable, implicit, re-solved) {bad}"
