"""Losses and penalties written as sympy formulas (Loss.from_sympy, Regularizer.from_sympy).

Oracles: the built-in logistic / exponential / hinge losses and lr penalties (the same problems written by hand),
closed forms (the smoothed hinge's proximal map, the elastic net's soft-threshold moments), scipy quadrature and
root finding independent of the generated kernels, finite differences. Every violation of convexity, monotonicity,
evenness or finiteness must raise InvalidParameter naming it.

Timing: the fast tests compile two formulas (logistic, |x|^{3/2}) and the smoothed hinge; numba caches them on disk
(``ROBUSTBIAS_FORMULA_CACHE``), so after the first run they load in tens of milliseconds. Everything else is slow.
"""
import math
import pickle

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad
from scipy.optimize import minimize_scalar

from asymptotics import InvalidParameter, Loss, Regularizer, parse_loss, parse_regularizer, solve
from asymptotics.channels import channel_hats
from asymptotics.closed_forms import soft_threshold_moments
from asymptotics.data import Spectra
from asymptotics.geometry import parse_attack
from asymptotics.losses import Logistic
from asymptotics.priors import class_moments, scalar_penalty

u, x = sp.Symbol("u"), sp.Symbol("x")
OBSERVABLES = ("m", "q", "V", "P", "gen_error", "adv_error", "boundary_error", "train_error", "train_loss")
# the brief's bound; observed agreement is ~1e-13 (same equations, kernels solving the same roots to ~1e-15)
REPRODUCE_TOL = 1e-6


def logistic_formula():
    return Loss.from_sympy(sp.log(1 + sp.exp(-u)), name="logistic_formula")


def power_formula():
    return Regularizer.from_sympy(sp.Abs(x) ** sp.Rational(3, 2), name="l1.5_formula")


def smoothed_hinge():
    """Quadratically smoothed hinge: 0 for u >= 1, (1 - u)^2/2 on (0, 1), 1/2 - u for u <= 0."""
    return Loss.from_sympy(sp.Piecewise((0, u >= 1), ((1 - u) ** 2 / 2, u > 0), (sp.Rational(1, 2) - u, True)),
                           name="smoothed_hinge")


def smoothed_hinge_prox(w, V):
    """Closed form: u* = w + V (w < -V), (w + V)/(1 + V) (-V <= w <= 1), w (w > 1)."""
    w = np.asarray(w, dtype=float)
    return np.where(w < -V, w + V, np.where(w <= 1.0, (w + V) / (1.0 + V), w))


def assert_reproduces(a, b):
    diffs = {k: abs(getattr(a, k) - getattr(b, k)) for k in OBSERVABLES}
    assert max(diffs.values()) < REPRODUCE_TOL, diffs
    assert a.trivial == b.trivial


# ---------------------------------------------------------------- the logistic loss as a formula ------------------
W = np.array([-40.0, -6.0, -1.3, -0.2, 0.0, 0.4, 0.99, 1.7, 6.0, 35.0])


@pytest.mark.parametrize("V", [0.05, 1.0, 7.5, 300.0])
def test_logistic_formula_kernels_match_builtin(V):
    # both solve u - w - V expit(-u) = 0 to ~1e-15 relative; values and derivatives are the same stable formulas
    f, b = logistic_formula(), Logistic()
    uf, duf = f.prox(W, V)
    ub, dub = b.prox(W, V)
    np.testing.assert_allclose(uf, ub, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(duf, dub, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(f.value(W), b.value(W), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(f.d1(W), b.d1(W), rtol=1e-14, atol=1e-300)
    # the built-in l'' = s (1 - s) loses relative accuracy once 1 - s rounds (u > 30); expit(u) expit(-u) does not
    np.testing.assert_allclose(f.d2(W), b.d2(W), rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(f.kinks(V), b.kinks(V), rtol=1e-14)
    assert f.slope_at_zero == b.slope_at_zero and f.smooth
    assert f.checks == {"convex": "symbolic", "non-increasing": "symbolic"}


FAST_POINTS = [dict(alpha=1.2, eps=0.2, lam=0.05, attack="linf", reg="l2"),
               dict(alpha=0.7, eps=0.3, lam=0.1, attack="l2", reg="l1")]
SLOW_POINTS = [dict(alpha=2.0, eps=0.1, lam=0.02, attack="l1", reg="l1.5"),
               dict(alpha=1.0, eps=0.0, lam=0.05, attack="l1.5", reg="l2"),
               dict(alpha=3.0, eps=0.5, lam=0.01, attack="linf", reg="l1"),
               dict(alpha=0.5, eps=0.2, lam=0.1, attack="l3", reg="l3", data=dict(tau=0.3)),
               dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l2", eps_test=0.1, attack_test="l2")]


@pytest.mark.parametrize("point", FAST_POINTS + [pytest.param(p, marks=pytest.mark.slow) for p in SLOW_POINTS])
def test_logistic_formula_reproduces_builtin_fixed_point(point):
    assert_reproduces(solve(**point, tol=1e-11), solve(**point, loss=logistic_formula(), tol=1e-11))


FAST_REG_POINTS = [dict(alpha=1.2, eps=0.2, lam=0.05, attack="linf"), dict(alpha=0.7, eps=0.3, lam=0.1, attack="l2")]
SLOW_REG_POINTS = [dict(alpha=2.0, eps=0.1, lam=0.02, attack="l1"),            # the box: slope_excess in h(B)
                   dict(alpha=1.0, eps=0.2, lam=0.05, attack="l1.5"),
                   dict(alpha=0.5, eps=0.0, lam=0.2, attack="linf"),
                   dict(alpha=3.0, eps=0.4, lam=0.01, attack="linf", data=dict(cov_x=[0.5, 1.5])),
                   dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf", loss="hinge")]


@pytest.mark.parametrize("point", FAST_REG_POINTS + [pytest.param(p, marks=pytest.mark.slow)
                                                     for p in SLOW_REG_POINTS])
def test_power_formula_reproduces_l15(point):
    assert_reproduces(solve(**point, reg="l1.5", tol=1e-11), solve(**point, reg=power_formula(), tol=1e-11))


# ---------------------------------------------------------------- a loss that is not built in ---------------------
@pytest.mark.parametrize("V", [0.05, 1.0, 7.5])
def test_smoothed_hinge_prox_matches_closed_form(V):
    loss = smoothed_hinge()
    w = np.concatenate([W, [-V, -V - 1e-9, -V + 1e-9, 1.0, 1.0 + 1e-9, 0.5 * (1 - V)]])
    ustar, du = loss.prox(w, V)
    np.testing.assert_allclose(ustar, smoothed_hinge_prox(w, V), rtol=1e-14, atol=1e-14)
    inside = (w > -V) & (w < 1.0)
    np.testing.assert_allclose(du[inside], 1.0 / (1.0 + V), rtol=1e-14)
    np.testing.assert_allclose(du[(w < -V) | (w > 1.0)], 1.0, rtol=1e-14)
    assert loss.smooth and loss.slope_at_zero == -1.0 and loss.formula.breaks == (0, 1)
    np.testing.assert_allclose(loss.d2(np.array([-0.5, 0.5, 1.5])), [0.0, 1.0, 0.0])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["logistic", "exponential", "hinge"])
@pytest.mark.parametrize("V", [0.05, 1.0, 7.5, 300.0])
def test_formula_prox_is_the_numerical_argmin(name, V):
    # the conformance suite of the built-in losses, run on formulas (kinked hinge included)
    expr = {"logistic": sp.log(1 + sp.exp(-u)), "exponential": sp.exp(-u), "hinge": sp.Max(0, 1 - u)}[name]
    loss = Loss.from_sympy(expr, name=f"{name}_formula")
    ustar, _ = loss.prox(W, V)
    for wi, ui in zip(W, ustar):
        obj = lambda z: (z - wi) ** 2 / (2 * V) + float(loss.value(z))  # noqa: E731
        ref = minimize_scalar(obj, bracket=(wi - 1, wi + V + 1), tol=1e-12).x
        assert obj(ui) <= obj(ref) + 1e-12
        assert ui == pytest.approx(ref, abs=1e-5 * (1 + V))
    # derivatives against central differences away from kinks
    pts = np.array([-3.0, -0.5, 0.3, 0.8, 1.5, 4.0])
    h = 1e-5
    np.testing.assert_allclose(loss.d1(pts), (loss.value(pts + h) - loss.value(pts - h)) / (2 * h), rtol=1e-6,
                               atol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hinge", "exponential"])
@pytest.mark.parametrize("point", [dict(alpha=1.2, eps=0.2, lam=0.05, attack="linf", reg="l2"),
                                   dict(alpha=0.7, eps=0.3, lam=0.1, attack="l2", reg="l1"),
                                   dict(alpha=2.0, eps=0.1, lam=0.05, attack="l1", reg="l1.5")])
def test_other_formula_losses_reproduce_builtins(name, point):
    expr = {"exponential": sp.exp(-u), "hinge": sp.Max(0, 1 - u)}[name]
    loss = Loss.from_sympy(expr, name=f"{name}_formula")
    assert loss.smooth == (name != "hinge")
    assert_reproduces(solve(**point, loss=name, tol=1e-11), solve(**point, loss=loss, tol=1e-11))


@pytest.mark.slow
def test_smoothed_hinge_channel_matches_quadrature():
    # scipy.quad over xi with the closed-form prox, split at the prox's kinks: independent of the generated kernels
    # and of the composite rule. Both are accurate to ~1e-12; 1e-9 leaves room for quad's tolerances.
    loss = smoothed_hinge()
    m, q, V, P = 0.8, 1.3, 2.0, 0.9
    alpha, eps, attack = 1.1, 0.25, parse_attack("linf")
    h = channel_hats(m, q, V, P, alpha=alpha, loss=loss, eps=eps, attack=attack, rho_x=1.0, tau=0.0)
    g, dg = eps * attack.term(P), eps * attack.term_derivative(P)
    V0 = 1.0 - m * m / q
    phi = lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # noqa: E731

    def parts(xi, y):
        w = y * math.sqrt(q) * xi - g
        us = float(smoothed_hinge_prox(w, V))
        minus_dl = (us - w) / V
        curv = 1.0 / (1.0 + V) if -V < w < 1.0 else 0.0
        curv = curv * 1.0           # l''/(1 + V l'') with l'' = 1 on (0, 1), i.e. on w in (-V, 1)
        w0 = m / math.sqrt(q) * xi
        z0 = 0.5 * math.erfc(-y * w0 / math.sqrt(2 * V0))
        dz0 = y * phi(w0 / math.sqrt(V0)) / math.sqrt(V0)
        return dz0 * y * minus_dl, z0 * minus_dl ** 2, z0 * curv, z0 * minus_dl

    def avg(k):
        total = 0.0
        for y in (1.0, -1.0):
            kinks = sorted({y * (b + g) / math.sqrt(q) for b in (-V, 1.0)})
            total += quad(lambda t: phi(t) * parts(t, y)[k], -12, 12, points=kinks, epsabs=1e-14, epsrel=1e-13,
                          limit=400)[0]
        return total

    ref = (alpha * avg(0), alpha * avg(1), alpha * avg(2), alpha * dg * avg(3))
    np.testing.assert_allclose((h.m_hat, h.q_hat, h.V_hat, h.P_hat), ref, rtol=1e-9)


# ---------------------------------------------------------------- penalties with kinks ----------------------------
def _one_class():
    one = np.ones(1)
    return Spectra(one, one, one, one, one, one)


@pytest.mark.slow
@pytest.mark.parametrize("lam", [0.3, 2.0])
def test_elastic_net_formula_prior_matches_soft_threshold_closed_form(lam):
    # f = |x| + x^2: threshold lam f'(0+) = lam, curvature V_hat + 2 lam: the closed-form soft-threshold moments
    reg = Regularizer.from_sympy(sp.Abs(x) + x ** 2, name="elastic_net_formula")
    assert reg.subgradient_at_zero == 1.0
    pen = scalar_penalty((0.8, 1.5, 0.7, 0.0), lam, reg.r, 2.0, _one_class())
    mom = class_moments(pen)
    G_w, w2, _ = soft_threshold_moments(pen.sigma, np.array([lam]), np.array([0.7 + 2 * lam]))
    # numeric quadrature of a soft threshold with the t^2 substitution: ~1e-14 observed
    np.testing.assert_allclose(mom.G_w, G_w, rtol=1e-11)
    np.testing.assert_allclose(mom.w2, w2, rtol=1e-11)


@pytest.mark.slow
@pytest.mark.parametrize("lam", [0.3, 2.0])
@pytest.mark.parametrize("name", ["huber", "max_kink"])
def test_kinked_penalty_prior_matches_quadrature(name, lam):
    # w~ has a kink (Huber: f'' jumps at 1) or a flat stretch (max: f' jumps at 1); the prior splits its quadrature
    # there. Reference: scipy.quad with the kink fields as points and bisection on the subgradient map.
    expr = {"huber": sp.Piecewise((x ** 2 / 2, sp.Abs(x) <= 1), (sp.Abs(x) - sp.Rational(1, 2), True)),
            "max_kink": sp.Max(sp.Abs(x), 2 * sp.Abs(x) - 1)}[name]
    slope = {"huber": lambda z: min(z, 1.0), "max_kink": lambda z: 1.0 if z < 1 else 2.0}[name]   # f'(z-), z > 0
    reg = Regularizer.from_sympy(expr, name=f"{name}_penalty")
    pen = scalar_penalty((0.8, 1.5, 0.7, 0.0), lam, reg.r, 2.0, _one_class())
    mom = class_moments(pen)
    sig, c, tau = pen.sigma[0], pen.c[0], pen.tau[0]
    k0 = reg.subgradient_at_zero

    def w_of(G):
        if G <= tau:
            return 0.0
        lo, hi = 0.0, (G - tau) / c
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if c * mid + lam * (slope(mid) - k0) > G - tau:
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)

    dens = lambda G: math.exp(-G * G / (2 * sig * sig)) / (math.sqrt(2 * math.pi) * sig)  # noqa: E731
    pts = sorted({tau, tau + c + lam * (slope(1.0) - k0), tau + c + lam * (slope(1.0 + 1e-12) - k0)})
    G_w = 2 * quad(lambda G: G * w_of(G) * dens(G), tau, tau + 15 * sig, points=pts, epsabs=1e-14, epsrel=1e-13,
                   limit=400)[0]
    w2 = 2 * quad(lambda G: w_of(G) ** 2 * dens(G), tau, tau + 15 * sig, points=pts, epsabs=1e-14, epsrel=1e-13,
                  limit=400)[0]
    # observed ~1e-14 with the split; an unsplit 96-node rule is off by ~4e-3 at lam = 2
    np.testing.assert_allclose([mom.G_w[0], mom.w2[0]], [G_w, w2], rtol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("point", [dict(alpha=1.0, eps=0.3, lam=0.05, attack="linf"),
                                   dict(alpha=0.5, eps=0.5, lam=0.5, attack="l2"),   # w = 0, zero test 0.121 <= 0.125
                                   dict(alpha=2.0, eps=0.1, lam=0.05, attack="l1")])
def test_abs_formula_reproduces_l1_including_the_zero_test(point):
    # the formula's kink f'(0+) = 1 must reach the zero test: without it the test's lhs grows and w = 0 is missed
    reg = Regularizer.from_sympy(sp.Abs(x), name="l1_formula")
    ref, got = solve(**point, reg="l1", tol=1e-11), solve(**point, reg=reg, tol=1e-11)
    assert got.trivial == (point["attack"] == "l2")
    assert_reproduces(ref, got)


# ---------------------------------------------------------------- validation --------------------------------------
BAD_LOSSES = {
    "sigmoid (not convex)": (sp.exp(-u) / (1 + sp.exp(-u)), "the loss must be convex: l''(u) < 0 at u = "),
    "concave kink": (sp.Min(-u, -2 * u), "the loss must be convex: l' decreases across the kink at u = 0"),
    "square (not monotone)": ((1 - u) ** 2 / 2, "the loss must be non-increasing"),
    "increasing": (sp.exp(u), "l'(u) > 0 at u = "),
    "discontinuous": (sp.Piecewise((1 - u, u < 0), (0, True)), "must be continuous"),
    "two symbols": (sp.Symbol("a") * u, "exactly one free symbol"),
    "constant": (sp.Integer(3), "exactly one free symbol"),
    "infinite at 0": (-sp.log(u + 0), "must be real and finite at u = 0"),
    "not real": (sp.sqrt(1 - u), "must be real-valued"),
    "not compilable": (sp.LambertW(sp.exp(-u)), "cannot be compiled for numba"),
}


@pytest.mark.parametrize("case", list(BAD_LOSSES))
def test_invalid_loss_raises_naming_the_violation(case):
    expr, message = BAD_LOSSES[case]
    with pytest.raises(InvalidParameter, match="^expr: ") as err:
        Loss.from_sympy(expr, name=f"bad {case}")
    assert message in str(err.value)


def test_nonconvex_loss_message_names_a_true_witness():
    # the reported u must really violate convexity: l''(u) = -e^u (1 - e^u)/(1 + e^u)^3 < 0 for u < 0
    with pytest.raises(InvalidParameter) as err:
        Loss.from_sympy(sp.exp(-u) / (1 + sp.exp(-u)), name="sigmoid")
    at = float(str(err.value).split("at u = ")[1].split(" ")[0])
    assert at < 0


BAD_PENALTIES = {
    "sqrt (not convex)": (sp.sqrt(sp.Abs(x)), "the penalty must be convex: f''(x) < 0 at x = "),
    "not even": (x ** 2 + x, "the penalty must be even"),
    "negative slope at 0": (x ** 2 - sp.Abs(x), "f'(0+) = -1 < 0"),
    "concave kink": (sp.Min(sp.Abs(x), (sp.Abs(x) + 1) / 2), "f' decreases across the kink at x = 1"),
    "infinite at 0": (1 / sp.Abs(x), "must be real and finite at x = 0"),
}


@pytest.mark.parametrize("case", list(BAD_PENALTIES))
def test_invalid_penalty_raises_naming_the_violation(case):
    expr, message = BAD_PENALTIES[case]
    with pytest.raises(InvalidParameter, match="^expr: ") as err:
        Regularizer.from_sympy(expr, name=f"bad {case}")
    assert message in str(err.value)


@pytest.mark.parametrize("make, name", [(Loss.from_sympy, "logistic"), (Loss.from_sympy, "Hinge"),
                                        (Regularizer.from_sympy, "l2"), (Regularizer.from_sympy, "ridge"),
                                        (Regularizer.from_sympy, "l1.5")])
def test_builtin_names_are_reserved(make, name):
    expr = sp.exp(-u) if make is Loss.from_sympy else x ** 2
    with pytest.raises(InvalidParameter, match="^name: .*built-in"):
        make(expr, name=name)


def test_numeric_check_is_used_where_sympy_cannot_decide():
    # l'' = e^{-u} - 6u/1000 is negative from u ~ 3.8 on; sympy's assumptions cannot tell, the grid finds it
    with pytest.raises(InvalidParameter, match=r"l''\(u\) < 0 at u = 3\.7"):
        Loss.from_sympy(sp.exp(-u) - u ** 3 / 1000, name="cubic")


# ---------------------------------------------------------------- identity, registry, pickling --------------------
def test_names_registry_and_pickling():
    loss, reg = logistic_formula(), power_formula()
    assert logistic_formula() is loss                     # same (name, formula): the same object
    assert parse_loss("logistic_formula") is loss and parse_regularizer("l1.5_formula") == reg
    assert pickle.loads(pickle.dumps(loss)) is loss and pickle.loads(pickle.dumps(reg)) == reg
    with pytest.raises(InvalidParameter, match="^name: 'logistic_formula' is already"):
        Loss.from_sympy(sp.exp(-u), name="logistic_formula")
    assert reg.name == "l1.5_formula" and reg != parse_regularizer("l1.5") and reg.subgradient_at_zero == 0.0
    assert reg.to_dict()["formula"] != loss.to_dict()["formula"]
    fp = solve(alpha=1.0, eps=0.1, lam=0.1, loss="logistic_formula", reg="l1.5_formula")
    assert fp.point["loss"] == "logistic_formula" and fp.point["reg"] == "l1.5_formula"
