"""Error metrics from the order parameters (one module: theory, simulate and figures all call these).

Labels ``y = sign(nu + tau z)`` with teacher field ``nu ~ N(0, rho)``; the student field ``omega`` has variance ``q``
and covariance ``m`` with ``nu``. Write ``rho' = rho + tau^2`` and ``a = m / sqrt(rho' q - m^2)``.

* clean error        E_gen = arccos(m / sqrt(rho' q)) / pi
* margin CDF         P(y omega < c) = Phi(b) - 2 T(b, a),  b = c / sqrt(q)   (T: Owen's T; any sign of c)
* robust error       E_adv = P(y omega < A_g), A_g = eps_test * A_test(P_test) the test-time attack term
* boundary error     E_bnd = E_adv - E_gen
* estimation error   rho - 2 m + q  (field mean-square error, in the Sigma_x metric)

The Owen-T form is derived in docs/derivations.md and checked in the tests against the 1-D integral and the form
2 T(ab, 1/a) + 1/2 erf(b/sqrt 2) erfc(-ab/sqrt 2) of Tanner et al.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, owens_t

from . import validation as V


def _check(m, q, rho, tau):
    q = V.positive("q", q)
    rho = V.positive("rho", rho)
    tau = V.nonnegative("tau", tau)
    m = V.real("m", m)
    rho_eff = rho + tau * tau
    if m * m > rho_eff * q * (1 + 1e-12):
        raise V.InvalidParameter("m", f"overlaps violate m^2 <= (rho + tau^2) q: m={m}, q={q}, rho'={rho_eff}")
    return m, q, rho_eff


def gen_error(m, q, rho=1.0, tau=0.0) -> float:
    """Clean test error arccos(m / sqrt((rho + tau^2) q)) / pi, a probability in [0, 1]."""
    m, q, rho_eff = _check(m, q, rho, tau)
    return float(np.arccos(np.clip(m / math.sqrt(rho_eff * q), -1.0, 1.0)) / math.pi)


def margin_cdf(c, m, q, rho=1.0, tau=0.0) -> float:
    """P(y omega < c) for the joint Gaussian (teacher, student) fields; c may have any sign."""
    m, q, rho_eff = _check(m, q, rho, tau)
    c = V.real("c", c, allow_inf=True)
    if math.isinf(c):
        return 1.0 if c > 0 else 0.0
    b = c / math.sqrt(q)
    gap = rho_eff * q - m * m
    if gap <= 0.0:      # student aligned with the (noiseless) teacher: y omega = |omega|
        return float(max(0.0, 2.0 * ndtr(b) - 1.0) if m > 0 else min(1.0, 2.0 * ndtr(b)))
    a = m / math.sqrt(gap)
    return float(min(1.0, max(0.0, ndtr(b) - 2.0 * owens_t(b, a))))


def adv_error(m, q, attack_term, rho=1.0, tau=0.0) -> float:
    """Robust test error P(y omega < A_g) for the test-time attack term A_g = eps_test * A(P_test) >= 0."""
    attack_term = V.nonnegative("attack_term", attack_term)
    return margin_cdf(attack_term, m, q, rho, tau)


def boundary_error(m, q, attack_term, rho=1.0, tau=0.0) -> float:
    return adv_error(m, q, attack_term, rho, tau) - gen_error(m, q, rho, tau)


def estimation_error(m, q, rho=1.0) -> float:
    return float(rho - 2.0 * m + q)
