"""Worst-case perturbations of a linear classifier (Hoelder), in input units.

For a non-increasing loss and the attack ball ``B = {delta : ||delta|| <= radius}`` (``radius = eps d^{1/p - 1/2}``
for lp, ``Attack.radius``; ``delta^T Sigma_delta^{-1} delta <= eps^2`` for Mahalanobis),

.. math:: \\max_{\\delta \\in B} \\ell\\big(y\\, w\\cdot(x+\\delta)/\\sqrt d\\big)
          = \\ell\\big(y\\, w\\cdot x/\\sqrt d - \\varepsilon A(w)\\big),

attained at ``delta* = -radius * y * u*`` with the unit-ball maximiser ``u* in argmax_{||u|| <= 1} w.u``:

* p = inf: ``u* = sign(w)``; p = 2: ``u* = w/||w||_2``; p in (1, inf): ``u*_j = sign(w_j) (|w_j|/||w||_{p*})^{p*-1}``;
* p = 1: ``u* = sign(w_j*) e_j*``, ``j* = argmax |w_j|``;
* Mahalanobis: ``u* = Sigma_delta w / sqrt(w^T Sigma_delta w)`` (unit in the ``Sigma_delta^{-1}`` norm).

Then ``w.u* = ||w||_*`` (the attack's dual norm, ``Attack.dual_norm``), and
``radius ||w||_* / sqrt(d) = eps A(w)`` (``Attack.margin_shift``): tested in ``tests/simulate/test_perturbations.py``.
"""
from __future__ import annotations

import math

import numpy as np

from asymptotics import Attack
from asymptotics.geometry import expand_spectrum


def unit_maximiser(attack: Attack, w: np.ndarray) -> np.ndarray:
    """u* with attack-norm 1 maximising w.u (zero vector for w = 0)."""
    w = np.asarray(w, dtype=np.float64)
    if not np.any(w):
        return np.zeros_like(w)
    if attack.kind == "mahalanobis":
        cov = expand_spectrum(attack.covariance, w.size)
        Sw = cov * w if cov.ndim == 1 else cov @ w
        return Sw / math.sqrt(float(w @ Sw))
    p = attack.p
    if math.isinf(p):
        return np.sign(w)
    if p == 1.0:
        u = np.zeros_like(w)
        j = int(np.argmax(np.abs(w)))
        u[j] = math.copysign(1.0, w[j])
        return u
    ps = attack.dual_exponent
    return np.sign(w) * (np.abs(w) / attack.dual_norm(w)) ** (ps - 1.0)


def attack_norm(attack: Attack, delta: np.ndarray) -> np.ndarray:
    """The attack norm of each row of delta (||delta||_p, or sqrt(delta^T Sigma_delta^{-1} delta))."""
    delta = np.atleast_2d(np.asarray(delta, dtype=np.float64))
    if attack.kind == "mahalanobis":
        cov = expand_spectrum(attack.covariance, delta.shape[1])
        solved = delta / cov if cov.ndim == 1 else np.linalg.solve(cov, delta.T).T
        return np.sqrt(np.sum(delta * solved, axis=1))
    return np.linalg.norm(delta, ord=attack.p, axis=1)


def worst_case(attack: Attack, w: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    """delta*_i = -radius y_i u*: the worst-case perturbation of every point (rows), in input units."""
    w = np.asarray(w, dtype=np.float64)
    radius = attack.radius(eps, w.size)
    return -radius * np.asarray(y, dtype=np.float64)[:, None] * unit_maximiser(attack, w)[None, :]


def robust_margins(attack: Attack, w: np.ndarray, field: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    """y w.(x + delta*)/sqrt(d) from the clean fields w.x/sqrt(d), without forming delta*:
    ``y field - radius (w.u*)/sqrt(d)``."""
    w = np.asarray(w, dtype=np.float64)
    shift = attack.radius(eps, w.size) * float(w @ unit_maximiser(attack, w)) / math.sqrt(w.size)
    return y * field - shift
