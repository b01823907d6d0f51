"""Prior ("regularization") side of the fixed point: (m_hat, q_hat, V_hat, P_hat) -> (m, q, V, P).

Coordinates fall in spectral classes j (see ``data.Spectra``: Sigma_x eigenvalue s, teacher variance t,
regularizer weight a, attack weight b). In class j the scalar problem is

    w~(G) = argmin_x  (V_hat s / 2) x^2 - G x + lam a |x|^r + P_hat b |x|^{p*},
    G = m_hat s theta + sqrt(q_hat s) z  ~  N(0, sigma^2),   sigma^2 = m_hat^2 s^2 t + q_hat s,

and (class averages weighted by the class sizes)

    m = < s (m_hat s t / sigma^2) E[G w~] >,  q = < s E[w~^2] >,  V = < s E[G w~] / sigma^2 >,  P = < b E|w~|^{p*} >.

V and m use Stein's lemma (E[G w~] = sigma^2 E[dw~/dG]), exact for the Lipschitz maps here and far more accurate
than averaging dw~/dG where w~ has a kink. Exponents 1 and 2 give soft thresholding: threshold
tau = lam a [r = 1] + P_hat b [p* = 1], curvature c = V_hat s + 2 lam a [r = 2] + 2 P_hat b [p* = 2], and the closed
forms of ``closed_forms.soft_threshold_moments``. Other exponents use Gauss-Legendre in t with G = tau + sigma t^2
(the substitution smooths the x^{1/(r-1)} behaviour at the threshold) and the numba kernel ``power_prox``.

A formula penalty f (``Regularizer.from_sympy``) replaces lam a |x|^r by lam a f(x): its kink f'(0+) joins the
threshold (tau += lam a f'(0+)), and the root of c x + lam a (f'(x) - f'(0+)) + [attack] = |G| - tau comes from the
formula's generated kernel (``FormulaPenalty.prior_prox``) on the same quadrature.

An l1 attack (p* = inf) makes the attack term eps ||w||_inf: its conjugate acts as a box |x| <= B with
P = B = ||w||_inf, fixed by  < E[(|G| - h(B))_+] > = P_hat  where h(B) is the |G| at which the free solution
reaches B (docs/derivations.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

from . import _kernels
from .closed_forms import soft_threshold_moments
from .quadrature import legendre
from .regularizers import FormulaPenalty

T_MAX = 14.0                # integrate G up to tau + T_MAX * sigma (tail mass < 1e-44)
PRIOR_NODES = 96
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class ScalarPenalty:
    """Per-class description of the scalar proximal problem (arrays over classes)."""

    sigma: np.ndarray          # std of G
    c: np.ndarray              # quadratic curvature
    tau: np.ndarray            # soft threshold
    k1: np.ndarray             # coefficient of x^e1 (non-quadratic regularizer term), or zeros
    e1: float
    k2: np.ndarray             # coefficient of x^e2 (non-quadratic attack term), or zeros
    e2: float
    box: float = math.inf      # |x| <= box (l1 attack)
    formula: object = None     # FormulaPenalty: coefficient kf of f(x) (its kink f'(0+) is already in tau)
    kf: np.ndarray | None = None

    @property
    def has_formula(self) -> bool:
        return self.formula is not None and bool(np.any(self.kf))

    @property
    def is_soft_threshold(self) -> bool:
        return not np.any(self.k1) and not np.any(self.k2) and math.isinf(self.box) and not self.has_formula

    def stationarity(self, x):
        """h(x) = |G| at which the free solution equals x >= 0."""
        h = self.tau + self.c * x
        if np.any(self.k1):
            h = h + self.k1 * self.e1 * x ** (self.e1 - 1.0)
        if np.any(self.k2):
            h = h + self.k2 * self.e2 * x ** (self.e2 - 1.0)
        if self.has_formula:
            h = h + self.kf * self.formula.slope_excess(x)
        return h


def scalar_penalty(hats, lam, reg_exponent, dual_exponent, spectra, box=math.inf) -> ScalarPenalty:
    m_hat, q_hat, V_hat, P_hat = hats
    s, t, a, b = spectra.s, spectra.t, spectra.a, spectra.b
    sigma = np.sqrt(m_hat * m_hat * s * s * t + q_hat * s)
    zeros = np.zeros_like(s)
    c = V_hat * s
    tau = zeros.copy()
    k1, k2 = zeros, zeros
    r, ps = reg_exponent, dual_exponent
    formula, kf = None, None
    if isinstance(r, FormulaPenalty):        # Regularizer.from_sympy: r holds the penalty
        formula, kf = r, lam * a
        tau = tau + lam * a * r.kink
        r = 2.0                              # e1: unused (k1 = 0)
    elif r == 1.0:
        tau = tau + lam * a
    elif r == 2.0:
        c = c + 2.0 * lam * a
    else:
        k1 = lam * a
    if ps == 1.0:
        tau = tau + P_hat * b
    elif ps == 2.0:
        c = c + 2.0 * P_hat * b
    elif not math.isinf(ps):
        k2 = P_hat * b
    return ScalarPenalty(sigma, c, tau, k1, r, k2, ps if not math.isinf(ps) else 2.0, box, formula, kf)


@dataclass(frozen=True)
class ClassMoments:
    """E[G w~], E[w~^2] and E|w~|^e for the requested exponents, per class."""

    G_w: np.ndarray
    w2: np.ndarray
    abs_pow: dict


def class_moments(pen: ScalarPenalty, exponents=(), fast_paths=True) -> ClassMoments:
    exponents = tuple(e for e in exponents if e != 2.0)
    if pen.is_soft_threshold and fast_paths:
        G_w, w2, w1 = soft_threshold_moments(pen.sigma, pen.tau, pen.c)
        abs_pow = {}
        for e in exponents:
            if e == 1.0:
                abs_pow[e] = w1
            else:
                abs_pow[e] = _numeric_moments(pen, (e,))[2][e]
        return ClassMoments(G_w, w2, abs_pow)
    G_w, w2, abs_pow = _numeric_moments(pen, exponents)
    return ClassMoments(G_w, w2, abs_pow)


def _numeric_moments(pen: ScalarPenalty, exponents):
    """Gauss-Legendre over G = tau + sigma t^2, t in [0, sqrt(T)], with clipping at the box if any."""
    x_nodes, w_nodes = legendre(PRIOR_NODES)
    sigma = np.maximum(pen.sigma, 1e-300)[:, None]
    tau = pen.tau[:, None]
    if math.isinf(pen.box):
        top = np.full_like(sigma, T_MAX)
        tail = np.zeros_like(sigma[:, 0])
    else:
        hB = pen.stationarity(np.full_like(pen.sigma, pen.box))
        top = np.clip((hB[:, None] - tau) / sigma, 0.0, T_MAX)
        tail = 2.0 * (1.0 - ndtr(hB / np.maximum(pen.sigma, 1e-300)))   # P(|G| > h(B)): clipped at the box
    t_max = np.sqrt(top)
    kinks = _formula_kink_fields(pen)
    if kinks is None:
        t = 0.5 * t_max * (1.0 + x_nodes[None, :])
        wt = 0.5 * t_max * w_nodes[None, :]
    else:   # a formula penalty with breakpoints: w~(G) kinks at those fields, one Gauss-Legendre panel between each
        tk = np.sqrt(np.clip((kinks - tau) / sigma, 0.0, top))
        edges = np.sort(np.concatenate([np.zeros_like(t_max), tk, t_max], axis=1), axis=1)
        half, mid = 0.5 * (edges[:, 1:] - edges[:, :-1]), 0.5 * (edges[:, 1:] + edges[:, :-1])
        t = (mid[:, :, None] + half[:, :, None] * x_nodes[None, None, :]).reshape(len(sigma), -1)
        wt = (half[:, :, None] * w_nodes[None, None, :]).reshape(len(sigma), -1)
    u = tau / sigma + t * t
    G = sigma * u
    dens = 4.0 * t * wt * np.exp(-0.5 * u * u) * _INV_SQRT_2PI      # 2 (both signs) * dG/dt / sigma * phi
    rhs = (G - tau).ravel()
    shape = G.shape
    bc = lambda v: np.broadcast_to(v[:, None], shape).ravel().copy()  # noqa: E731
    if pen.has_formula:
        x = pen.formula.prior_prox(rhs, bc(pen.c), bc(pen.kf), bc(pen.k2), pen.e2).reshape(shape)
    else:
        x = _kernels.power_prox(rhs, bc(pen.c), bc(pen.k1), pen.e1, bc(pen.k2), pen.e2).reshape(shape)
    if not math.isinf(pen.box):
        x = np.minimum(x, pen.box)
    B = pen.box if not math.isinf(pen.box) else 0.0
    G_w = np.sum(dens * G * x, axis=1)
    w2 = np.sum(dens * x * x, axis=1)
    abs_pow = {e: np.sum(dens * x ** e, axis=1) + tail * B ** e for e in exponents}
    if not math.isinf(pen.box):
        # E[|G| 1{|G| > h(B)}] * B for the clipped part of E[G w~]
        hB = pen.stationarity(np.full_like(pen.sigma, pen.box))
        s = np.maximum(pen.sigma, 1e-300)
        G_w = G_w + B * 2.0 * s * np.exp(-0.5 * (hB / s) ** 2) * _INV_SQRT_2PI
        w2 = w2 + tail * B * B
    return G_w, w2, abs_pow


def _formula_kink_fields(pen: ScalarPenalty):
    """(classes, 2K) fields |G| = tau + H(b-) and tau + H(b+) at which w~ reaches or leaves each breakpoint b of a
    formula penalty (H: the stationarity map without tau); None without a formula or breakpoints."""
    if not pen.has_formula or not pen.formula.formula.breaks:
        return None
    f = pen.formula.formula
    b = np.asarray(f.breaks_float)[None, :]
    base = pen.tau[:, None] + pen.c[:, None] * b
    if np.any(pen.k2):
        base = base + pen.k2[:, None] * pen.e2 * b ** (pen.e2 - 1.0)
    kf = pen.kf[:, None]
    left = base + kf * (np.asarray(f.d1_left)[None, :] - f.d1_at_zero)
    right = base + kf * (np.asarray(f.d1_right)[None, :] - f.d1_at_zero)
    return np.concatenate([left, right], axis=1)


def box_level(hats, lam, reg_exponent, spectra) -> float:
    """B = ||w||_inf for an l1 attack: solves < E[(|G| - h(B))_+] > = P_hat (0 if no solution with B > 0)."""
    P_hat = hats[3]
    free = scalar_penalty(hats[:3] + (0.0,), lam, reg_exponent, 2.0, spectra)   # no attack term: P_hat enters as the box

    def excess(B):
        h = free.stationarity(np.full_like(free.sigma, B))
        s = np.maximum(free.sigma, 1e-300)
        val = 2.0 * (s * np.exp(-0.5 * (h / s) ** 2) * _INV_SQRT_2PI - h * (1.0 - ndtr(h / s)))
        return float(np.sum(spectra.weight * val)) - P_hat

    if excess(0.0) <= 0.0:
        return 0.0
    hi = 1.0
    while excess(hi) > 0.0:
        hi *= 2.0
        if hi > 1e12:
            raise FloatingPointError("box level diverged")
    return brentq(excess, 0.0, hi, xtol=1e-15, rtol=1e-14)


def prior_overlaps(hats, lam, reg_exponent, dual_exponent, spectra, fast_paths=True):
    """(m, q, V, P) from the conjugates (see the module docstring)."""
    m_hat = hats[0]
    if math.isinf(dual_exponent):
        B = box_level(hats, lam, reg_exponent, spectra)
        pen = scalar_penalty(hats[:3] + (0.0,), lam, reg_exponent, 2.0, spectra, box=B)
        mom = class_moments(pen, fast_paths=fast_paths)
        P = B
    else:
        pen = scalar_penalty(hats, lam, reg_exponent, dual_exponent, spectra)
        mom = class_moments(pen, (dual_exponent,), fast_paths=fast_paths)
        P = float(np.sum(spectra.weight * spectra.b * (mom.w2 if dual_exponent == 2.0 else mom.abs_pow[dual_exponent])))
    s, t, w = spectra.s, spectra.t, spectra.weight
    sig2 = np.maximum(pen.sigma ** 2, 1e-300)
    V_cls = mom.G_w / sig2
    m = float(np.sum(w * s * m_hat * s * t * V_cls))
    V = float(np.sum(w * s * V_cls))
    q = float(np.sum(w * s * mom.w2))
    return m, q, V, P, pen, mom
