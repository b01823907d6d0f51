"""Sympy derivations of the closed forms used as fast paths (closed_forms.py), so that they can be re-derived
and checked rather than trusted. Each function returns sympy expressions; ``lambdify`` them to compare.

* :func:`soft_threshold_moments` integrates the soft-thresholding map against the Gaussian density
  (linf attack + l1 regularizer: tau = lam + P_hat, c = V_hat; linf + l2: tau = P_hat, c = V_hat + 2 lam).
* :func:`quadratic_prior` solves the all-quadratic scalar problem (l2 attack + ridge: the attack is an extra ridge).
* :func:`square_channel` averages the square-loss channel over the joint Gaussian (teacher, student) fields.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp


def _gaussian(x, sigma):
    return sp.exp(-x ** 2 / (2 * sigma ** 2)) / (sp.sqrt(2 * sp.pi) * sigma)


@lru_cache(maxsize=None)
def soft_threshold_moments():
    """(E[G w~], E[w~^2], E|w~|) for w~ = sign(G)(|G| - tau)_+/c, G ~ N(0, sigma^2); symbols sigma, tau, c > 0."""
    G = sp.Symbol("G", positive=True)
    sigma, tau, c = sp.symbols("sigma tau c", positive=True)
    w = (G - tau) / c                      # G > tau; odd symmetry doubles the half-line integral
    dens = _gaussian(G, sigma)
    moments = [2 * sp.integrate(f * dens, (G, tau, sp.oo)) for f in (G * w, w ** 2, w)]
    return tuple(sp.simplify(m) for m in moments), (sigma, tau, c)


@lru_cache(maxsize=None)
def quadratic_prior():
    """(m, q, V) of argmin (V_hat/2) x^2 - G x + lam x^2 + P_hat x^2 with G = m_hat theta + sqrt(q_hat) z,
    theta ~ N(0, rho): the ridge plus l2-attack case, H = V_hat + 2 lam + 2 P_hat."""
    x, G = sp.symbols("x G", real=True)
    m_hat, q_hat, V_hat, lam, P_hat, rho = sp.symbols("m_hat q_hat V_hat lam P_hat rho", positive=True)
    objective = V_hat / 2 * x ** 2 - G * x + lam * x ** 2 + P_hat * x ** 2
    w = sp.solve(sp.diff(objective, x), x)[0]
    theta, z = sp.symbols("theta z", real=True)
    w_sub = w.subs(G, m_hat * theta + sp.sqrt(q_hat) * z)
    E = lambda f: sp.integrate(sp.integrate(f * _gaussian(theta, sp.sqrt(rho)) * _gaussian(z, 1),  # noqa: E731
                                            (z, -sp.oo, sp.oo)), (theta, -sp.oo, sp.oo))
    m = sp.simplify(E(theta * w_sub))
    q = sp.simplify(E(w_sub ** 2))
    V = sp.simplify(sp.diff(w, G))
    return (m, q, V), (m_hat, q_hat, V_hat, lam, P_hat, rho)


@lru_cache(maxsize=None)
def square_channel():
    """(m_hat, q_hat, V_hat, P_hat) of the margin-shifted square loss (1 - u)^2/2.

    The student field is omega = (m/rho') nu + sqrt(q - m^2/rho') z with teacher field nu ~ N(0, rho') and label
    y = sign(nu); u* = (y omega - g + V)/(1 + V); f_out = y (u* - y omega + g)/V.
    """
    nu, z = sp.symbols("nu z", real=True)
    m, q, V, g, dg, alpha, rho = sp.symbols("m q V g dg alpha rho", positive=True)
    omega = m / rho * nu + sp.sqrt(q - m ** 2 / rho) * z

    def E(f):  # average over nu ~ N(0, rho) (split by the sign of nu = the label) and z ~ N(0, 1)
        # integrands are polynomials in (nu, z): integrate monomial by monomial (fast, exact)
        total = 0
        for y, lo, hi in ((1, 0, sp.oo), (-1, -sp.oo, 0)):
            poly = sp.Poly(sp.expand(f(y)), nu, z)
            for (i, j), coeff in poly.terms():
                z_moment = sp.integrate(z ** j * _gaussian(z, 1), (z, -sp.oo, sp.oo), conds="none")
                nu_moment = sp.integrate(nu ** i * _gaussian(nu, sp.sqrt(rho)), (nu, lo, hi), conds="none")
                total += coeff * z_moment * nu_moment
        return total

    shifted = lambda y: y * omega - g  # noqa: E731
    u = lambda y: (shifted(y) + V) / (1 + V)  # noqa: E731
    f_out = lambda y: y * (u(y) - shifted(y)) / V  # noqa: E731
    # m_hat = alpha E[ d/d omega0 Z0 * f_out ] equals alpha E[ nu f_out ] / rho' ... by Stein on the teacher field:
    # E_nu[dZ0/domega0 F] = Cov(nu, F-weighted)/Var: we use the equivalent form alpha * E[(nu - E[nu|omega]) f_out]/V0.
    V0 = rho - m ** 2 / q
    nu_given_omega = m / q * omega
    m_hat = alpha * E(lambda y: (nu - nu_given_omega) * f_out(y)) / V0
    q_hat = alpha * E(lambda y: f_out(y) ** 2)
    V_hat = alpha / (1 + V)
    P_hat = alpha * dg * E(lambda y: (u(y) - shifted(y)) / V)
    return tuple(sp.simplify(e) for e in (m_hat, q_hat, V_hat, P_hat)), (m, q, V, g, dg, alpha, rho)
