"""An independent baseline of the fixed-point equations, written the way the authors' public code does it.

This module shares no formula with ``asymptotics``: it re-derives the channel and prior equations of the spec
(``shared/spec/asymptotics.md`` §2.2, §2.3) and solves them with the numerical recipe of the authors' public code
(§3), so that it serves both as a correctness oracle for ``asymptotics.solve`` and as the timing baseline of
``bench_fixed_point.py``:

* every Gaussian average is one ``scipy.integrate.quad`` call (default tolerances) on a finite window, with a
  numba-jitted integrand;
* every proximal evaluation (the logistic Moreau envelope of the channel, the scalar problem of the prior) is a
  Brent scalar minimisation (a numba implementation, as the public ``utils/minimizers.py``);
* derivatives of the proximal maps come from the implicit-function formulas;
* the outer loop is plain damped iteration ``x <- blend F(x) + (1 - blend) x`` with blend 0.4.

Package conventions (not the public code's): isotropic data, rho = 1, no label noise, sign teacher, logistic loss;
attack term ``g(P) = eps * P^{1/p*}`` (``eps * P`` with ``P = ||w||_1 / d`` for the linf attack, p* = 1) and the
regularizer ``lam * sum |w_j|^r`` (no 1/r: r = 2 means curvature 2 lam).

Channel (xi ~ N(0, 1) on [-35, 35], omega = sqrt(q) xi, eta = m^2/q)::

    z*          = argmin_z (z - omega)^2 / (2V) + l(y z - g(P))
    f_out       = (z* - omega) / V,      d_omega f_out = (1 / (1 + V l''(y z* - g)) - 1) / V
    Z0(y, xi)   = 1/2 erfc(-y sqrt(eta) xi / sqrt(2 (1 - eta)))
    dZ0(y, xi)  = y exp(-eta xi^2 / (2 (1 - eta))) / sqrt(2 pi (1 - eta))
    m_hat = alpha sum_y E[dZ0 f_out]            q_hat = alpha sum_y E[Z0 f_out^2]
    V_hat = -alpha sum_y E[Z0 d_omega f_out]    P_hat = alpha g'(P) sum_y E[Z0 y f_out]

Prior (xi ~ N(0, 1 + eta_hat) on [-55, 55], eta_hat = m_hat^2 / q_hat, Gamma = sqrt(q_hat) xi)::

    w~(Gamma) = argmin_x (V_hat / 2) x^2 - Gamma x + lam |x|^r + P_hat |x|^{p*}
    m = E[(m_hat Gamma / (m_hat^2 + q_hat)) w~]    q = E[w~^2]
    V = E[d w~ / d Gamma]                          P = E[|w~|^{p*}]

with ``d w~ / d Gamma = 1 / (V_hat + lam r (r - 1) |w~|^{r-2} + P_hat p* (p* - 1) |w~|^{p*-2})`` (0 where
``|w~| < 1e-15``). Exponents equal to 1 give a dead zone ``|Gamma| <= lam [r = 1] + P_hat [p* = 1]`` where w~ = 0;
it is split out of the quad domain.

Two deliberate departures from the public code, neither of which changes the equations: the Brent searches use
the tight brackets the problems provide (``z* - omega`` lies between 0 and ``y V`` because ``|l'| < 1``, and
``|w~| <= (|Gamma| - threshold) / V_hat``) instead of ``+-5e8``; and each Brent minimum is polished by two guarded
Newton steps on the stationarity condition, because a minimiser alone locates its argument only to
``sqrt(machine eps)`` relative, which is too coarse for a 1e-8 comparison (``polish=False`` turns this off).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numba
import numpy as np
from scipy.integrate import quad

CHANNEL_WINDOW = 35.0           # xi in [-35, 35] (public HEAD)
PRIOR_WINDOW = 55.0             # xi in [-55, 55] (public code)
BRENT_TOL = 1e-10               # public utils/minimizers.py
BRENT_MAX_ITER = 1000
ZERO_GUARD = 1e-15              # |w~| below this: derivative set to 0 (public code)
_GOLDEN = 0.5 * (3.0 - math.sqrt(5.0))
_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)

# objective codes for the jitted Brent minimiser
_LOGISTIC_ENVELOPE = 0
_SCALAR_PRIOR = 1


# ---------------------------------------------------------------------------------------------------------------
# logistic loss
# ---------------------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def logistic_loss(u):
    """log(1 + exp(-u)), evaluated without overflow."""
    if u > 0.0:
        return math.log1p(math.exp(-u))
    return -u + math.log1p(math.exp(u))


@numba.njit(cache=True)
def logistic_d1(u):
    """l'(u) = -1 / (1 + exp(u))."""
    if u > 0.0:
        e = math.exp(-u)
        return -e / (1.0 + e)
    return -1.0 / (1.0 + math.exp(u))


@numba.njit(cache=True)
def logistic_d2(u):
    """l''(u) = 1 / (2 (1 + cosh u))."""
    a = abs(u)
    if a > 700.0:
        return 0.0
    return 1.0 / (2.0 * (1.0 + math.cosh(a)))


# ---------------------------------------------------------------------------------------------------------------
# Brent minimisation of the two scalar objectives
# ---------------------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _objective(kind, x, a0, a1, a2, a3, a4, a5):
    """The scalar objective selected by ``kind``.

    kind 0 (logistic Moreau envelope): a0 = omega, a1 = V, a2 = y, a3 = g;
    value ``(x - omega)^2 / (2V) + l(y x - g)``.
    kind 1 (scalar prior on x >= 0): a0 = |Gamma|, a1 = V_hat, a2 = lam, a3 = r, a4 = P_hat, a5 = p*;
    value ``(V_hat / 2) x^2 - |Gamma| x + lam x^r + P_hat x^{p*}``.
    """
    if kind == 0:
        d = x - a0
        return d * d / (2.0 * a1) + logistic_loss(a2 * x - a3)
    return 0.5 * a1 * x * x - a0 * x + a2 * x ** a3 + a4 * x ** a5


@numba.njit(cache=True)
def brent_minimise(kind, lo, hi, a0, a1, a2, a3, a4, a5):
    """Brent's method (golden section with parabolic steps) for the minimum of ``_objective`` on [lo, hi].

    Parameters
    ----------
    kind : int
        Objective code (see ``_objective``).
    lo, hi : float
        Bracket containing the minimiser.
    a0, ..., a5 : float
        Parameters of the objective.

    Returns
    -------
    float
        The minimiser, to an absolute tolerance ``BRENT_TOL * (1 + |x|)`` or about ``sqrt(eps) |x|``,
        whichever is larger.
    """
    a, b = lo, hi
    x = w = v = a + _GOLDEN * (b - a)
    fx = fw = fv = _objective(kind, x, a0, a1, a2, a3, a4, a5)
    d = e = 0.0
    for _ in range(BRENT_MAX_ITER):
        mid = 0.5 * (a + b)
        tol1 = BRENT_TOL * abs(x) + 1e-12
        tol2 = 2.0 * tol1
        if abs(x - mid) <= tol2 - 0.5 * (b - a):
            break
        parabolic = False
        if abs(e) > tol1:
            # fit a parabola through x, w, v
            r = (x - w) * (fx - fv)
            qq = (x - v) * (fx - fw)
            p = (x - v) * qq - (x - w) * r
            qq = 2.0 * (qq - r)
            if qq > 0.0:
                p = -p
            qq = abs(qq)
            e_old = e
            e = d
            if abs(p) < abs(0.5 * qq * e_old) and p > qq * (a - x) and p < qq * (b - x):
                d = p / qq
                u = x + d
                if (u - a) < tol2 or (b - u) < tol2:
                    d = tol1 if mid >= x else -tol1
                parabolic = True
        if not parabolic:
            e = (a - x) if x >= mid else (b - x)
            d = _GOLDEN * e
        if abs(d) >= tol1:
            u = x + d
        else:
            u = x + (tol1 if d > 0 else -tol1)
        fu = _objective(kind, u, a0, a1, a2, a3, a4, a5)
        if fu <= fx:
            if u >= x:
                a = x
            else:
                b = x
            v, fv = w, fw
            w, fw = x, fx
            x, fx = u, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv = w, fw
                w, fw = u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
    return x


# ---------------------------------------------------------------------------------------------------------------
# proximal maps and their implicit derivatives
# ---------------------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def logistic_prox(omega, V, y, g, polish):
    """z* = argmin_z (z - omega)^2/(2V) + l(y z - g) and d z*/d omega = 1/(1 + V l''(y z* - g))."""
    if y > 0.0:
        lo, hi = omega, omega + V
    else:
        lo, hi = omega - V, omega
    z = brent_minimise(_LOGISTIC_ENVELOPE, lo, hi, omega, V, y, g, 0.0, 0.0)
    if polish:
        for _ in range(2):
            grad = (z - omega) / V + y * logistic_d1(y * z - g)
            hess = 1.0 / V + logistic_d2(y * z - g)
            step = grad / hess
            if lo <= z - step <= hi:
                z -= step
    dz = 1.0 / (1.0 + V * logistic_d2(y * z - g))
    return z, dz


@numba.njit(cache=True)
def _prior_gradient(x, G, V_hat, lam, r, P_hat, ps):
    return V_hat * x - G + lam * r * x ** (r - 1.0) + P_hat * ps * x ** (ps - 1.0)


@numba.njit(cache=True)
def _prior_curvature(x, V_hat, lam, r, P_hat, ps):
    c = V_hat
    if r != 1.0:
        c += lam * r * (r - 1.0) * x ** (r - 2.0)
    if ps != 1.0:
        c += P_hat * ps * (ps - 1.0) * x ** (ps - 2.0)
    return c


@numba.njit(cache=True)
def scalar_prior_prox(Gamma, V_hat, lam, r, P_hat, ps, polish):
    """w~ = argmin_x (V_hat/2) x^2 - Gamma x + lam |x|^r + P_hat |x|^{p*} and its derivative in Gamma."""
    G = abs(Gamma)
    threshold = (lam if r == 1.0 else 0.0) + (P_hat if ps == 1.0 else 0.0)
    if G <= threshold:
        return 0.0, 0.0
    hi = G / V_hat            # the minimiser lies inside: every penalty term pushes it towards 0
    x = brent_minimise(_SCALAR_PRIOR, 0.0, hi, G, V_hat, lam, r, P_hat, ps)
    if polish:
        for _ in range(2):
            if x <= 0.0:
                break
            step = _prior_gradient(x, G, V_hat, lam, r, P_hat, ps) / _prior_curvature(x, V_hat, lam, r, P_hat, ps)
            if 0.0 < x - step <= hi:
                x -= step
    if x < ZERO_GUARD:
        return 0.0, 0.0
    dx = 1.0 / _prior_curvature(x, V_hat, lam, r, P_hat, ps)
    return (x if Gamma > 0 else -x), dx


# ---------------------------------------------------------------------------------------------------------------
# integrands (one quad call each, as in the public code)
# ---------------------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _channel_integrand(xi, which, m, q, V, g, polish):
    """sum_y of the integrand of hat ``which`` (0: m_hat, 1: q_hat, 2: V_hat, 3: P_hat) at xi, times N(xi; 0, 1)."""
    eta = m * m / q
    omega = math.sqrt(q) * xi
    gauss = math.exp(-0.5 * xi * xi) / _SQRT_2PI
    total = 0.0
    for k in range(2):
        y = 1.0 if k == 0 else -1.0
        z, dz = logistic_prox(omega, V, y, g, polish)
        f_out = (z - omega) / V
        if which == 0:
            dZ0 = y * math.exp(-eta * xi * xi / (2.0 * (1.0 - eta))) / math.sqrt(2.0 * math.pi * (1.0 - eta))
            total += dZ0 * f_out
        else:
            Z0 = 0.5 * math.erfc(-y * math.sqrt(eta) * xi / math.sqrt(2.0 * (1.0 - eta)))
            if which == 1:
                total += Z0 * f_out * f_out
            elif which == 2:
                total -= Z0 * (dz - 1.0) / V
            else:
                total += Z0 * y * f_out
    return gauss * total


@numba.njit(cache=True)
def _prior_integrand(xi, which, m_hat, q_hat, V_hat, P_hat, lam, r, ps, polish):
    """Integrand of overlap ``which`` (0: m, 1: q, 2: V, 3: P) at xi ~ N(0, 1 + eta_hat), density included."""
    var = 1.0 + m_hat * m_hat / q_hat
    dens = math.exp(-0.5 * xi * xi / var) / math.sqrt(2.0 * math.pi * var)
    Gamma = math.sqrt(q_hat) * xi
    w, dw = scalar_prior_prox(Gamma, V_hat, lam, r, P_hat, ps, polish)
    if which == 0:
        return dens * (m_hat * Gamma / (m_hat * m_hat + q_hat)) * w
    if which == 1:
        return dens * w * w
    if which == 2:
        return dens * dw
    return dens * abs(w) ** ps


# ---------------------------------------------------------------------------------------------------------------
# the two halves of the map
# ---------------------------------------------------------------------------------------------------------------
def attack_term(P, eps, ps):
    """g(P) = eps P^{1/p*} and g'(P)."""
    if ps == 1.0:
        return eps * P, eps
    return eps * P ** (1.0 / ps), eps / ps * P ** (1.0 / ps - 1.0)


def channel_conjugates(m, q, V, P, *, alpha, eps, ps=1.0, polish=True, quad_options=None):
    """(m_hat, q_hat, V_hat, P_hat) from (m, q, V, P), one ``quad`` per conjugate over xi in [-35, 35].

    Parameters
    ----------
    m, q, V, P : float
        Order parameters, with q > 0, V > 0 and m^2 < q.
    alpha : float
        Sample ratio n/d.
    eps : float
        Attack size; the attack term is ``g(P) = eps P^{1/p*}``.
    ps : float
        Dual exponent p* of the attack (1 for linf).
    polish : bool
        Newton-polish each Brent minimum (see the module docstring).
    quad_options : dict, optional
        Extra keyword arguments of ``scipy.integrate.quad`` (default: quad's defaults, as the public code).

    Returns
    -------
    tuple of float
        (m_hat, q_hat, V_hat, P_hat).
    """
    if not (q > 0 and V > 0 and m * m < q):
        raise FloatingPointError(f"invalid state m={m}, q={q}, V={V}")
    opts = quad_options or {}
    g, dg = attack_term(P, eps, ps)
    vals = []
    for which in range(4):
        val, _ = quad(_channel_integrand, -CHANNEL_WINDOW, CHANNEL_WINDOW, args=(which, m, q, V, g, polish), **opts)
        vals.append(alpha * val)
    vals[3] *= dg
    return tuple(vals)


def prior_overlaps(m_hat, q_hat, V_hat, P_hat, *, lam, r, ps=1.0, polish=True, quad_options=None):
    """(m, q, V, P) from the conjugates: quad over xi ~ N(0, 1 + eta_hat) on [-55, 55], dead zone split out.

    Parameters
    ----------
    m_hat, q_hat, V_hat, P_hat : float
        Conjugates, with q_hat > 0 and V_hat > 0.
    lam : float
        Regularization strength (penalty ``lam |x|^r``, no 1/r).
    r : float >= 1
        Regularization exponent.
    ps : float >= 1
        Dual exponent p* of the attack (penalty ``P_hat |x|^{p*}``).
    polish, quad_options
        As in :func:`channel_conjugates`.

    Returns
    -------
    tuple of float
        (m, q, V, P).
    """
    if not (q_hat > 0 and V_hat > 0):
        raise FloatingPointError(f"invalid conjugates q_hat={q_hat}, V_hat={V_hat}")
    opts = quad_options or {}
    threshold = (lam if r == 1.0 else 0.0) + (P_hat if ps == 1.0 else 0.0)
    edge = threshold / math.sqrt(q_hat)
    if edge >= PRIOR_WINDOW:
        return 0.0, 0.0, 0.0, 0.0
    pieces = [(-PRIOR_WINDOW, -edge), (edge, PRIOR_WINDOW)] if edge > 0 else [(-PRIOR_WINDOW, PRIOR_WINDOW)]
    out = []
    for which in range(4):
        total = 0.0
        for a, b in pieces:
            val, _ = quad(_prior_integrand, a, b, args=(which, m_hat, q_hat, V_hat, P_hat, lam, r, ps, polish),
                          **opts)
            total += val
        out.append(total)
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------------
# damped fixed-point iteration
# ---------------------------------------------------------------------------------------------------------------
PUBLIC_INITS = {1.0: (0.3488, 9.115, 270.0, 0.6154), 2.0: (0.6766, 5.780, 4442.0, 1.780),
                3.0: (0.3873, 2.571, 1710.0, 1.446), 4.0: (0.3417, 2.140, 822.0, 1.371)}


@dataclass
class BaselineResult:
    """A baseline fixed point and the evidence of its convergence."""

    m: float
    q: float
    V: float
    P: float
    m_hat: float
    q_hat: float
    V_hat: float
    P_hat: float
    converged: bool
    iterations: int
    change: float               # the last stopping-rule change
    seconds: float
    history: list = field(default_factory=list, repr=False)   # stopping-rule change per iteration

    @property
    def state(self) -> tuple:
        """(m, q, V, P), the warm start for a neighbouring point."""
        return (self.m, self.q, self.V, self.P)

    @property
    def seconds_per_iteration(self) -> float:
        return self.seconds / max(self.iterations, 1)


def solve_damped(alpha, eps, lam, r, *, ps=1.0, init=None, blend=0.4, tol=1e-8, criterion="abs",
                 max_iter=100_000, min_iter=10, polish=True, quad_options=None) -> BaselineResult:
    """Plain damped iteration ``x <- blend F(x) + (1 - blend) x`` of the public code.

    Parameters
    ----------
    alpha, eps, lam, r, ps : float
        The point (see :func:`channel_conjugates` and :func:`prior_overlaps`).
    init : tuple of 4 floats, optional
        Starting (m, q, V, P); default: the public code's hard-coded start for this r.
    blend : float
        Damping (public adversarial scripts: 0.4).
    tol : float
        Stop when the change of the damped iterate is below tol.
    criterion : {"abs", "rel"}
        Max-abs change (public code) or max relative change over (m, q, V, P).
    max_iter, min_iter : int
        Iteration limits (the public code uses MIN_ITER = 10).
    polish, quad_options
        As in :func:`channel_conjugates`.

    Returns
    -------
    BaselineResult
        ``converged`` is False if max_iter was reached; the state is then the last iterate.
    """
    x = np.array(init if init is not None else PUBLIC_INITS[float(r)], dtype=np.float64)
    history = []
    start = time.perf_counter()
    hats = None
    converged = False
    for it in range(1, max_iter + 1):
        hats = channel_conjugates(*x, alpha=alpha, eps=eps, ps=ps, polish=polish, quad_options=quad_options)
        new = np.array(prior_overlaps(*hats, lam=lam, r=r, ps=ps, polish=polish, quad_options=quad_options))
        x_next = blend * new + (1.0 - blend) * x
        diff = np.abs(x_next - x)
        change = float(np.max(diff if criterion == "abs" else diff / np.abs(x)))
        history.append(change)
        x = x_next
        if change < tol and it >= min_iter:
            converged = True
            break
    seconds = time.perf_counter() - start
    hats = channel_conjugates(*x, alpha=alpha, eps=eps, ps=ps, polish=polish, quad_options=quad_options)
    return BaselineResult(*map(float, x), *map(float, hats), converged=converged, iterations=len(history),
                          change=history[-1], seconds=seconds, history=history)


def warm_up():
    """Compile the jitted kernels (one evaluation of each half of the map)."""
    hats = channel_conjugates(0.5, 1.0, 1.0, 1.0, alpha=1.0, eps=0.3)
    prior_overlaps(*hats, lam=0.05, r=1.0)
    prior_overlaps(*hats, lam=0.05, r=2.0)
