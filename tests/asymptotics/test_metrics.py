"""Error formulas: Owen's T closed form vs the 1-D integral and vs Tanner et al.'s form; limits."""
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erf, erfc, owens_t
from scipy.stats import norm

from asymptotics import metrics


def integral_margin_cdf(c, m, q, rho):
    """P(y omega < c) = 2 int_{-inf}^{c/sqrt q} phi(x) Phi(a x) dx, by adaptive quadrature."""
    a = m / math.sqrt(rho * q - m * m)
    b = c / math.sqrt(q)
    val, _ = quad(lambda x: norm.pdf(x) * norm.cdf(a * x), -np.inf, b, epsabs=1e-15, epsrel=1e-13)
    return 2.0 * val


def spec_integral_adv(m, q, A):
    """The reference code's integral form of E_adv (spec §2.4), rho = 1."""
    s = math.sqrt(2 * q * (q - m * m))
    f1 = quad(lambda x: math.exp(-x * x / (2 * q)) * 0.5 * erfc(m * x / s), -A, np.inf, epsabs=1e-15)[0]
    f2 = quad(lambda x: math.exp(-x * x / (2 * q)) * 0.5 * (1 + erf(m * x / s)), -np.inf, A, epsabs=1e-15)[0]
    return (f1 + f2) / math.sqrt(2 * math.pi * q)


def tanner_form(m, q, A, rho):
    a = m / math.sqrt(rho * q - m * m)
    b = A / math.sqrt(q)
    return 2 * owens_t(a * b, 1 / a) + 0.5 * erf(b / math.sqrt(2)) * erfc(-a * b / math.sqrt(2))


@pytest.mark.parametrize("m,q,A", [(0.5, 1.0, 0.3), (1.04, 2.29, 0.33), (2.8, 21.4, 0.78), (0.01, 0.5, 0.05),
                                   (0.9, 0.82, 1.2)])
def test_adv_error_owens_t_matches_integrals(m, q, A):
    ours = metrics.adv_error(m, q, A)
    assert ours == pytest.approx(spec_integral_adv(m, q, A), abs=1e-12)      # quad accuracy
    assert ours == pytest.approx(tanner_form(m, q, A, 1.0), abs=1e-14)        # algebraic identity


@pytest.mark.parametrize("c", [-1.5, -0.2, 0.0, 0.4, 2.0])
@pytest.mark.parametrize("rho,tau", [(1.0, 0.0), (2.0, 0.5)])
def test_margin_cdf_any_sign_matches_integral(c, rho, tau):
    m, q = 0.7, 1.3
    assert metrics.margin_cdf(c, m, q, rho, tau) == pytest.approx(integral_margin_cdf(c, m, q, rho + tau ** 2), abs=1e-12)


def test_margin_cdf_matches_monte_carlo():
    rng = np.random.default_rng(0)
    m, q, rho, tau, c = 0.6, 1.5, 1.0, 0.3, 0.25
    n = 400_000
    cov = [[rho, m], [m, q]]
    nu, omega = rng.multivariate_normal([0, 0], cov, size=n).T
    y = np.sign(nu + tau * rng.normal(size=n))
    p = np.mean(y * omega < c)
    se = math.sqrt(p * (1 - p) / n)
    assert abs(metrics.margin_cdf(c, m, q, rho, tau) - p) < 4 * se


@pytest.mark.parametrize("m,q,rho,tau", [(0.3, 1.0, 1.0, 0.0), (1.2, 2.0, 1.0, 0.0), (1.0, 3.0, 2.0, 0.7)])
def test_zero_attack_gives_clean_error(m, q, rho, tau):
    gen = metrics.gen_error(m, q, rho, tau)
    assert metrics.adv_error(m, q, 0.0, rho, tau) == pytest.approx(gen, abs=1e-15)
    assert gen == pytest.approx(math.acos(m / math.sqrt((rho + tau * tau) * q)) / math.pi, abs=1e-15)


def test_robust_error_increases_with_attack_and_boundary_is_difference():
    vals = [metrics.adv_error(1.0, 2.0, A) for A in np.linspace(0, 3, 20)]
    assert np.all(np.diff(vals) > 0)
    assert metrics.boundary_error(1.0, 2.0, 0.5) == pytest.approx(
        metrics.adv_error(1.0, 2.0, 0.5) - metrics.gen_error(1.0, 2.0), abs=1e-15)


def test_invalid_overlaps_raise():
    with pytest.raises(ValueError, match="m"):
        metrics.gen_error(2.0, 1.0)
    with pytest.raises(ValueError, match="q"):
        metrics.adv_error(0.1, -1.0, 0.1)
    with pytest.raises(ValueError, match="attack_term"):
        metrics.adv_error(0.1, 1.0, -0.1)
