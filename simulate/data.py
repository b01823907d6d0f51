"""Finite-d data models: the Gaussian teacher-student model of the theory and the sparse model of the implicit-bias spec.

Gaussian model (conventions of ``docs/conventions.md``)
------------------------------------------------------
``x ~ N(0, Sigma_x)`` in R^d, teacher ``theta ~ N(0, rho Sigma_theta)``, labels
``y = sign(theta.x / sqrt(d) + tau z)`` with ``z ~ N(0, 1)``. A covariance given as a spectrum of length k is
tiled to d coordinates (k equal blocks, :func:`asymptotics.geometry.expand_spectrum`); a matrix must be d x d.
The teacher field is exactly zero with probability 0; for definiteness a zero field gets the label -1 (the same
tie rule as the sparse model) and the number of ties is reported.

Sparse model (spec implicit_bias_robust.md §1.3)
------------------------------------------------
Teacher entries i.i.d. in {-1, c, +1} with P(+-1) = k_w/(2d) each and P(c) = 1 - k_w/d (``fill`` c, default 0),
redrawn while the teacher is all zero; inputs likewise with k_x, all-zero rows redrawn. Labels
``y = +1 if <w*, x> > 0`` and, by default, **ties <w*, x> = 0 get the label -1** (``tie="negative"``, the spec's
rule; ``"positive"`` or ``"random"`` (a fair coin from the train/test stream) are available). With the spec's
defaults (d = 512, k_w = 23, k_x = 4) about 84% of the points are ties, so the classes are very unbalanced: the
fraction of +1 labels and of ties is reported on every data set. Optional margin injection
``x <- x + margin * y * (||w*||_1 / ||w*||_2^2) w*`` raises every ``y <w*, x>`` by ``margin ||w*||_1``.

Randomness: the teacher, the training set and the test set come from the independent streams of
:mod:`simulate.streams` (roles "teacher", "train", "test").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asymptotics import Problem
from asymptotics import validation as V
from asymptotics.errors import InvalidParameter
from asymptotics.geometry import expand_spectrum

from .objective import product

TIE_RULES = ("negative", "positive", "random")


@dataclass(frozen=True)
class Dataset:
    """One labelled sample. ``field`` is the noiseless teacher field theta.x/sqrt(d) (Gaussian) or <w*, x> (sparse)."""

    X: np.ndarray
    y: np.ndarray
    field: np.ndarray
    ties: int

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def positive_fraction(self) -> float:
        """Class balance: the fraction of +1 labels."""
        return float(np.mean(self.y > 0))

    @property
    def tie_fraction(self) -> float:
        return self.ties / max(1, self.n)


def _labels(field: np.ndarray, tie: str, rng: np.random.Generator) -> np.ndarray:
    y = np.where(field > 0, 1.0, -1.0)
    zero = field == 0
    if tie == "positive":
        y[zero] = 1.0
    elif tie == "random" and np.any(zero):
        y[zero] = np.where(rng.random(int(zero.sum())) < 0.5, 1.0, -1.0)
    return y


# ---------------------------------------------------------------- Gaussian teacher-student ----------------------
def _covariance(cov, d: int) -> np.ndarray:
    return np.ones(d) if cov is None else expand_spectrum(cov, d)


def _sqrt_cov(cov: np.ndarray) -> np.ndarray:
    """Symmetric square root of a spectrum (elementwise) or a PSD matrix (eigendecomposition)."""
    if cov.ndim == 1:
        return np.sqrt(cov)
    vals, vecs = np.linalg.eigh(cov)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def _apply(root: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Rows z -> root z (root is 1-D for a diagonal covariance)."""
    return Z * root if root.ndim == 1 else Z @ root


def check_dimension(pb: Problem, d) -> int:
    """Validate d against the problem's spectra (a spectrum of length k needs k | d; a matrix needs its size)."""
    d = V.integer("d", d, low=2)
    for name, cov in (("Sigma_x", pb.data.cov_x), ("Sigma_theta", pb.data.cov_teacher),
                      ("Sigma_w", pb.reg.covariance), ("Sigma_delta", pb.attack.covariance),
                      ("Sigma_delta_test", pb.attack_test.covariance)):
        if cov is None:
            continue
        if cov.ndim == 2 and cov.shape[0] != d:
            raise InvalidParameter("d", f"{name} is a {cov.shape[0]}x{cov.shape[0]} matrix: d must be {cov.shape[0]}")
        if cov.ndim == 1 and d % cov.size:
            raise InvalidParameter("d", f"{name} has {cov.size} blocks: d must be a multiple of {cov.size}, got {d}")
    return d


def gaussian_teacher(pb: Problem, d: int, rng: np.random.Generator) -> np.ndarray:
    """theta ~ N(0, rho Sigma_theta) in R^d (so ||theta||^2/d -> rho for Sigma_theta = I)."""
    root = _sqrt_cov(_covariance(pb.data.cov_teacher, d))
    return math.sqrt(pb.data.rho) * _apply(root, rng.standard_normal(d))


def gaussian_sample(pb: Problem, theta: np.ndarray, n: int, rng: np.random.Generator) -> Dataset:
    """n points x ~ N(0, Sigma_x), y = sign(theta.x/sqrt(d) + tau z) (a zero field gets -1)."""
    d = theta.size
    root = _sqrt_cov(_covariance(pb.data.cov_x, d))
    X = _apply(root, rng.standard_normal((n, d)))
    X = np.ascontiguousarray(X)
    field = product(X, theta) / math.sqrt(d)
    noise = pb.data.tau * rng.standard_normal(n) if pb.data.tau > 0 else 0.0
    noisy = field + noise
    return Dataset(X, _labels(noisy, "negative", rng), field, int(np.sum(noisy == 0)))


def teacher_field_variance(pb: Problem, theta: np.ndarray) -> float:
    """rho_x(theta) = theta^T Sigma_x theta / d of the drawn teacher: the exact variance of its test field."""
    cov = _covariance(pb.data.cov_x, theta.size)
    return float(theta @ (cov * theta if cov.ndim == 1 else cov @ theta)) / theta.size


# ---------------------------------------------------------------- sparse teacher / sparse data ------------------
def _ternary(shape, k: float, d: int, fill: float, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(shape)
    half = k / (2.0 * d)
    return np.where(u < half, -1.0, np.where(u < 2.0 * half, 1.0, fill))


def sparse_teacher(d: int, k_w: float, rng: np.random.Generator, fill: float = 0.0) -> np.ndarray:
    """w* with i.i.d. entries in {-1, fill, +1}, P(+-1) = k_w/(2d) each (expected k_w nonzeros); redrawn if zero."""
    d = V.integer("d", d, low=1)
    k_w = V.real("k_w", k_w, low=0.0, high=float(d), low_open=True)
    fill = V.real("fill", fill)
    for _ in range(10_000):
        w = _ternary(d, k_w, d, fill, rng)
        if np.any(w != 0):
            return w
    raise InvalidParameter("k_w", f"the teacher stayed zero in 10000 draws (k_w = {k_w} is too small for d = {d})")


def sparse_sample(w_star: np.ndarray, n: int, k_x: float, rng: np.random.Generator, *, fill: float = 0.0,
                  tie: str = "negative", margin: float = 0.0) -> Dataset:
    """n sparse inputs (entries in {-1, fill, +1}, P(+-1) = k_x/(2d)), labels sign(<w*, x>) with the tie rule.

    Parameters
    ----------
    w_star : teacher (from :func:`sparse_teacher`)
    n : number of points
    k_x : expected number of nonzeros per input
    fill : the value c of the "zero" entries (spec ``precision``, default 0)
    tie : "negative" (spec: <w*, x> = 0 gets -1), "positive" or "random"
    margin : margin injection rho >= 0 (x <- x + rho y ||w*||_1/||w*||_2^2 w*)

    Returns
    -------
    Dataset with ``field = <w*, x>`` before margin injection and the class balance in ``positive_fraction``.
    """
    d = w_star.size
    n = V.integer("n", n, low=1)
    k_x = V.real("k_x", k_x, low=0.0, high=float(d), low_open=True)
    margin = V.nonnegative("margin", margin)
    if tie not in TIE_RULES:
        raise InvalidParameter("tie", f"must be one of {TIE_RULES}, got {tie!r}")
    X = _ternary((n, d), k_x, d, fill, rng)
    for _ in range(10_000):
        zero_rows = ~np.any(X != 0, axis=1)
        if not np.any(zero_rows):
            break
        X[zero_rows] = _ternary((int(zero_rows.sum()), d), k_x, d, fill, rng)
    field = product(X, w_star)
    y = _labels(field, tie, rng)
    if margin > 0:
        X = X + (margin * np.abs(w_star).sum() / (w_star @ w_star)) * y[:, None] * w_star[None, :]
    return Dataset(np.ascontiguousarray(X), y, field, int(np.sum(field == 0)))
