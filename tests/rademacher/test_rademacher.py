"""Rademacher complexity of robust linear classes: exact inner suprema, Monte Carlo vs exact enumeration, bounds
bracket the estimate, dimension factors exact."""
import itertools
import math

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import minimize

from asymptotics import dimension_factor, empirical_rademacher, rademacher_bound, robust_margin_bound
from asymptotics.rademacher import BallNorm, _cvx_concave_sup, _inner_sup, dimension_factor_symbolic, \
    expected_abs_rademacher_sum


def data(n=12, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.sign(X @ rng.normal(size=d) + 0.1)


def brute_force_sup(u, c_signed, W, r, ps, samples=20000, seed=1):
    """max over many random points of the r-sphere (and the vertices) of <w,u> - c_signed ||w||_ps."""
    rng = np.random.default_rng(seed)
    d = u.size
    w = rng.normal(size=(samples, d)) * rng.exponential(size=(samples, d)) ** 2
    w = np.vstack([w, np.eye(d), -np.eye(d), np.sign(u)[None, :], u[None, :]])
    w = W * w / np.linalg.norm(w, ord=r, axis=1)[:, None]
    vals = w @ u - c_signed * np.linalg.norm(w, ord=ps, axis=1)
    return max(vals.max(), 0.0 if c_signed > 0 else -np.inf)


@pytest.mark.parametrize("r,ps", [(1.0, 1.0), (2.0, 1.0), (1.5, 1.0), (np.inf, 1.0), (2.0, 2.0), (1.0, 2.0),
                                  (3.0, 1.5), (1.0, 3.0)])
@pytest.mark.parametrize("sign", [+1, -1])
def test_inner_supremum_matches_brute_force(r, ps, sign):
    rng = np.random.default_rng(3)
    u = rng.normal(size=4) * 2
    c = 0.7
    low, high = _inner_sup(u, sign * 3.0, c / 3.0, 1.3, BallNorm(r), ps, None)
    brute = brute_force_sup(u, sign * c, 1.3, r, ps)
    assert low - 1e-6 <= high
    assert brute <= high + 1e-6                     # nothing beats the (upper) value
    assert low >= brute - 2e-2 * (1 + abs(brute))  # and it is attained (random search is only near-optimal)
    if sign > 0:
        assert low == pytest.approx(_cvx_concave_sup(u, c, 1.3, BallNorm(r), ps, None), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("r,p", [(1.0, "linf"), (2.0, "linf"), (2.0, "l2"), (np.inf, "linf")])
def test_monte_carlo_within_its_ci_of_exact_enumeration(r, p):
    X, y = data(n=10, d=5)
    est = empirical_rademacher(X, y, r=r, p=p, eps=0.4, W=1.0, draws=4000, seed=11)
    assert est.exact_inner
    # exact expectation: enumerate all 2^10 sign vectors
    Z = y[:, None] * X
    total = 0.0
    norm = BallNorm(r)
    ps = {"linf": 1.0, "l2": 2.0}[p]
    for signs in itertools.product((-1.0, 1.0), repeat=10):
        sig = np.array(signs)
        low, high = _inner_sup(sig @ Z, sig.sum(), 0.4, 1.0, norm, ps, None)
        total += low
    exact = total / 2 ** 10 / 10
    assert abs(est.estimate - exact) < 3.0 * est.stderr


@pytest.mark.parametrize("r,p", [(1.0, "linf"), (2.0, "linf"), (1.5, "linf"), (2.0, "l2"), (3.0, "l2")])
@pytest.mark.parametrize("eps", [0.0, 0.2, 1.0])
def test_bounds_bracket_the_monte_carlo_estimate(r, p, eps):
    X, y = data(n=40, d=30, seed=2)
    est = empirical_rademacher(X, y, r=r, p=p, eps=eps, W=2.0, draws=300, seed=5)
    bnd = rademacher_bound(X, y, r=r, p=p, eps=eps, W=2.0)
    assert est.ci_high >= est.clean_estimate - 3 * est.stderr      # R_S(F~) >= R_S(F)
    assert bnd.robust_lower <= est.ci_high
    assert est.ci_low <= bnd.robust_upper
    assert est.clean_estimate <= bnd.clean_upper


@pytest.mark.parametrize("d", [1, 2, 7, 50])
@pytest.mark.parametrize("r", [1.0, 1.5, 2.0, 3.0, np.inf])
@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 4.0, np.inf])
def test_dimension_factor_is_exact(d, r, p):
    C = dimension_factor(r, p, d)
    ps = np.inf if p == 1.0 else (1.0 if np.isinf(p) else p / (p - 1.0))
    # attained at e_1 or at the flat vector, and no local maximiser from random starts exceeds it
    flat = np.ones(d) / np.linalg.norm(np.ones(d), ord=r)
    attained = max(1.0, np.linalg.norm(flat, ord=ps))
    assert C == pytest.approx(attained, rel=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x0 = rng.normal(size=d)
        res = minimize(lambda w: -np.linalg.norm(w, ord=ps) / np.linalg.norm(w, ord=r), x0, method="Nelder-Mead",
                       options={"maxiter": 400})
        assert -res.fun <= C * (1 + 1e-9)
    expr, (sd, sr, sps) = dimension_factor_symbolic()
    if np.isfinite(r) and np.isfinite(ps):
        assert float(expr.subs({sd: d, sr: r, sps: ps})) == pytest.approx(C, rel=1e-12)


def test_mahalanobis_dimension_factor_minimised_by_matching():
    rng = np.random.default_rng(0)
    Sd = np.diag(rng.uniform(0.5, 2.0, 5))
    matched = dimension_factor(cov_w=Sd, cov_delta=Sd, d=5)
    assert matched == pytest.approx(1.0)
    for _ in range(5):
        Sw = np.diag(rng.uniform(0.5, 2.0, 5))
        Sw = Sw / np.linalg.det(Sw) ** (1 / 5) * np.linalg.det(Sd) ** (1 / 5)   # same volume as Sd
        assert dimension_factor(cov_w=Sw, cov_delta=Sd, d=5) >= matched - 1e-12


def test_expected_abs_rademacher_sum_exact_small_n():
    for n in (1, 2, 5, 9):
        exact = np.mean([abs(sum(s)) for s in itertools.product((-1, 1), repeat=n)])
        assert expected_abs_rademacher_sum(n) == pytest.approx(exact, rel=1e-12)
        assert math.sqrt(n / 2) <= expected_abs_rademacher_sum(n) <= math.sqrt(n) + 1e-12


def test_robust_margin_bound_terms():
    X, y = data(n=200, d=10, seed=4)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    out = robust_margin_bound(w, X, y, eps=0.05, gamma=0.5, r=2, p="linf")
    margins = y * (X @ w) - 0.05 * np.abs(w).sum()
    assert out["empirical_margin_loss"] == pytest.approx(np.mean(margins <= 0.5))
    assert out["bound"] == pytest.approx(out["empirical_margin_loss"] + out["complexity_term"] + out["confidence_term"])


@pytest.mark.parametrize("kwargs,name", [(dict(eps=-1), "eps"), (dict(W=0), "W"), (dict(r=0.5), "r"),
                                         (dict(p=0.5), "p")])
def test_bad_input(kwargs, name):
    X, y = data()
    with pytest.raises(ValueError) as info:
        rademacher_bound(X, y, **kwargs)
    assert info.value.parameter == name
    with pytest.raises(ValueError, match="labels"):
        empirical_rademacher(X, y * 2, draws=10)


def test_cli_bound_json_equals_python_api(tmp_path, capsys):
    import json

    from robustbias.cli import main

    X, y = data(n=30, d=8, seed=6)
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y)
    assert main(["bound", "--r", "1", "--p", "inf", "--eps", "0.2", "--W", "1.5", "--data", str(path), "--draws", "40",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = empirical_rademacher(X, y, r=1, p=np.inf, eps=0.2, W=1.5, draws=40, seed=0)
    assert out["monte_carlo"]["estimate"] == pytest.approx(ref.estimate, rel=1e-12)
    assert out["bound"]["robust_upper"] == pytest.approx(rademacher_bound(X, y, r=1, p="linf", eps=0.2, W=1.5).robust_upper)
    assert main(["bound", "--data", str(tmp_path / "missing.npz")]) == 2


def test_rademacher_figure_attack_term_flat_for_l1_and_growing_for_l2(tmp_path):
    import json

    import figures

    out = figures.make("rademacher_vs_dimension", "quick", tmp_path, overrides=dict(dims=[8, 32, 128], draws=60))
    rows = json.loads(out.data.read_text())["rows"]
    gap = {(r["d"], r["r"]): r["attack_gap"] for r in rows if r["eps"] == 0.5}
    assert all(abs(gap[(d, 1.0)]) < 2e-3 for d in (8, 32, 128))          # dimension-free for the l1 class
    assert gap[(128, 2.0)] > 2.5 * gap[(8, 2.0)] > 0                       # ~ sqrt(d) for the l2 class
    assert all(r["lower"] <= r["ci_high"] and r["ci_low"] <= r["upper"] for r in rows)
