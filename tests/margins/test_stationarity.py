"""KKT / Bregman residuals: zero at the computed max-margin solutions, positive away from them."""
import numpy as np
import pytest

import asymptotics
from asymptotics import fenchel_young_gap, kkt_residual, max_margin

from .conftest import random_separable


@pytest.mark.parametrize("norm", ["l2", "linf", "l1", "l3"])
def test_residuals_vanish_at_the_max_margin_solution(norm):
    X, y = random_separable(1)
    r = max_margin(X, y, norm=norm)
    k = kkt_residual(3.7 * r.w, X, y, norm=norm)       # any scale: residuals use w / q_min
    tol = 1e-7 if norm == "l3" else 1e-9               # Clarabel (power cones) vs LP/NNLS exactness
    assert k.stationarity < tol and abs(k.complementary_slackness) < tol and k.gap < tol
    assert k.identity_residual < 1e-6                  # sum(lambda) = ||w_hat||^2 / L, L = 1


def test_oracle_b_multipliers_from_residual_lp(oracle_b):
    X, y = oracle_b
    k = kkt_residual([1.0, 1.0], X, y, norm="linf")
    np.testing.assert_allclose(k.multipliers, [0.0, 1 / 9], atol=1e-12)   # spec §3.4: mu = 1/3 face point


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_residuals_detect_a_non_optimal_separator(oracle_b, norm):
    X, y = oracle_b
    k = kkt_residual([1.0, 0.2], X, y, norm=norm)
    assert k.stationarity + k.complementary_slackness > 0.1


def test_fenchel_young_scale_free_identity():
    # min_c F(w, c v) = 1/2 ||w||^2 (1 - beta^2), attained at c = beta ||w|| / ||v||_* (derived, spec §2.2)
    rng = np.random.default_rng(0)
    for norm in ("l2", "linf", "l1", "l3"):
        w, v = rng.standard_normal(6), rng.standard_normal(6)
        nrm = asymptotics.parse_norm(norm)
        beta = asymptotics.alignment(w, v, norm)
        if beta <= 0:
            v = -v
            beta = -beta
        c = beta * nrm(w) / nrm.dual(v)
        assert fenchel_young_gap(w, c * v, norm) == pytest.approx(0.5 * nrm(w) ** 2 * (1 - beta ** 2), rel=1e-10)
        assert fenchel_young_gap(w, 1.3 * c * v, norm) > fenchel_young_gap(w, c * v, norm)


def test_flow_alignment_is_one_far_out_along_a_single_support_vector_solution(oracle_b):
    # oracle B has one active point for l2 and linf: far along w*, -grad L is a positive multiple of z_2, which lies
    # in the duality-map cone of w* (beta = 1); with several support vectors the equal weights e^{-q_i} would not
    # reproduce the multipliers, so this is a single-support-vector check only
    X, y = oracle_b
    for norm in ("l2", "linf"):
        r = max_margin(X, y, norm=norm)
        assert asymptotics.flow_alignment(1e3 * r.w, X, y, norm=norm) > 1 - 1e-12
        assert asymptotics.stationarity_gap(r.w, X, y, norm=norm) < 1e-12
    assert asymptotics.flow_alignment([1.0, 0.2], X, y, norm="l2") < 0.99
