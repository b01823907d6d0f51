"""Max-margin programs: oracle B table, primal = dual, multiplier identity, robust-spec §5.5 reference values."""
import math

import numpy as np
import pytest

import asymptotics
from asymptotics import InvalidParameter, max_margin

from .conftest import random_separable, robust_reference_data

# oracle B (spec margins §3.4): direction, own-norm margin, KKT multipliers of (P)
ORACLE_B = {
    "l2": ((1.0, 2.0), math.sqrt(5.0), (0.0, 1 / 5)),
    "linf": ((1.0, 1.0), 3.0, (0.0, 1 / 9)),
    "l1": ((1.0, 3.0), 7 / 4, (4 / 49, 12 / 49)),
}
CROSS = {  # (algorithm's limit direction) -> margins in (l2, linf, l1)
    "l2": (math.sqrt(5), 5 / 2, 5 / 3), "linf": (3 / math.sqrt(2), 3.0, 3 / 2), "l1": (7 / math.sqrt(10), 7 / 3, 7 / 4),
}


def _cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_oracle_b_margin_direction_and_multipliers(oracle_b, norm):
    X, y = oracle_b
    direction, gamma, lam = ORACLE_B[norm]
    r = max_margin(X, y, norm=norm)
    # LPs (HiGHS) are exact to rounding; the l2 QP is polished on its active set: 1e-9 leaves room for both
    assert r.margin == pytest.approx(gamma, abs=1e-9)
    assert r.dual_value == pytest.approx(gamma, abs=1e-8)
    np.testing.assert_allclose(r.w / np.linalg.norm(r.w), np.array(direction) / np.linalg.norm(direction), atol=1e-8)
    np.testing.assert_allclose(r.multipliers, lam, atol=1e-8)
    assert np.sum(r.multipliers) == pytest.approx(1 / gamma ** 2, rel=1e-9)   # sum(lambda) = ||w_hat||^2 (L = 1)


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_oracle_b_cross_margins(oracle_b, norm):
    X, y = oracle_b
    w = max_margin(X, y, norm=norm).w
    got = [asymptotics.normalized_margin(w, X, y, q) for q in ("l2", "linf", "l1")]
    np.testing.assert_allclose(got, CROSS[norm], rtol=1e-8)


@pytest.mark.parametrize("norm,gamma", [("l2", math.sqrt(5)), ("linf", 3.0), ("l1", 2.0)])
def test_oracle_a_single_point_margin_is_the_dual_norm(norm, gamma):
    r = max_margin([[1.0, 2.0]], [1.0], norm=norm)
    assert r.margin == pytest.approx(gamma, rel=1e-9)


@pytest.mark.parametrize("norm", ["l1", "l2", "linf", "l3", "l1.5", [1.0, 2.0, 0.5, 3.0, 1.5]])
@pytest.mark.parametrize("eps", [0.0, 0.05])
def test_primal_equals_dual_on_random_data(norm, eps):
    X, y = random_separable(3, m=15, d=10 if isinstance(norm, list) else 30)
    if isinstance(norm, list):
        norm = np.tile(norm, 2)
    r = max_margin(X, y, norm=norm, eps=eps, attack="linf")
    assert r.duality_gap < 1e-7                     # spec margins §7.5 item 3 (HiGHS / Clarabel at tol 1e-10)
    # the KKT identity sum(lambda) = ||w_hat||^2 = 1/gamma*^2 holds by construction of the scaling; check the
    # multipliers are a valid certificate: their simplex weights reach the dual value
    assert np.sum(r.multipliers) == pytest.approx(1 / r.margin ** 2, rel=1e-9)
    assert np.all(r.multipliers >= 0)


def test_mahalanobis_identity_is_l2(oracle_b):
    X, y = oracle_b
    assert max_margin(X, y, norm=np.eye(2)).margin == pytest.approx(max_margin(X, y, norm="l2").margin, rel=1e-9)


def test_robust_reference_values_spec_5_5():
    X, y = robust_reference_data()
    eps_star = asymptotics.robust_separability_radius(X, y, attack="linf")
    assert eps_star == pytest.approx(0.4431, abs=5e-5)                         # quoted to 4 digits
    clean = max_margin(X, y, norm="l1")
    for frac in (0.25, 0.5, 0.9):                                               # fact 1: matched geometry
        r = max_margin(X, y, norm="l1", eps=frac * eps_star, attack="linf")
        assert r.margin == pytest.approx(eps_star - frac * eps_star, abs=1e-10)
        assert _cos(r.w, clean.w) > 1 - 1e-9
    assert max_margin(X, y, norm="l1", eps=0.25 * eps_star).margin == pytest.approx(0.3323, abs=5e-5)
    svm = max_margin(X, y, norm="l2")
    expected = {0.25: (0.973, 0.831), 0.5: (0.878, 0.928)}                      # item 3, 3 digits
    for frac, (to_svm, to_l1) in expected.items():
        r = max_margin(X, y, norm="l2", eps=frac * eps_star, attack="linf")
        v = asymptotics.elastic_net_max_margin(X, y, norm="l2", lam=r.elastic_net_lam, penalty="l1")
        assert _cos(v, r.w) > 1 - 1e-9                                          # fact 2: Dinkelbach
        assert _cos(r.w, svm.w) == pytest.approx(to_svm, abs=5e-4)
        assert _cos(r.w, clean.w) == pytest.approx(to_l1, abs=5e-4)
    assert max_margin(X, y, norm="l2", eps=0.5 * eps_star).margin == pytest.approx(0.5943, abs=5e-5)  # item 4


def test_l2_attack_with_l2_norm_keeps_the_svm_direction():
    X, y = random_separable(5)
    svm = max_margin(X, y, norm="l2")
    r = max_margin(X, y, norm="l2", eps=0.3 * svm.margin, attack="l2")
    assert r.margin == pytest.approx(0.7 * svm.margin, rel=1e-7)
    assert _cos(r.w, svm.w) > 1 - 1e-7


def test_robust_margin_of_solution_equals_program_value():
    X, y = random_separable(6)
    r = max_margin(X, y, norm="linf", eps=0.02, attack="linf")
    got = asymptotics.robust_margin(r.w, X, y, eps=0.02, attack="linf", norm="linf")
    assert got == pytest.approx(r.margin, rel=1e-9)


@pytest.mark.parametrize("kwargs,name", [
    (dict(norm="l0.5"), "norm"), (dict(norm="lfoo"), "norm"), (dict(eps=-1.0), "eps"), (dict(attack="xx"), "attack"),
])
def test_bad_parameters_raise_invalid_parameter(oracle_b, kwargs, name):
    X, y = oracle_b
    with pytest.raises(InvalidParameter) as info:
        max_margin(X, y, **kwargs)
    assert info.value.parameter == name


def test_non_separable_and_beyond_eps_star_are_rejected():
    with pytest.raises(InvalidParameter, match="separable"):
        max_margin([[1.0, 0.0], [1.0, 0.0]], [1.0, -1.0], norm="l2")
    X, y = robust_reference_data()
    with pytest.raises(InvalidParameter, match="eps"):
        max_margin(X, y, norm="l2", eps=0.5, attack="linf")        # eps > eps* = 0.4431
    with pytest.raises(InvalidParameter, match="y"):
        max_margin([[1.0]], [0.5])
