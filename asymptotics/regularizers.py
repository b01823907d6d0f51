"""Regularizers: lr (any r >= 1) and Mahalanobis.

Conventions: ``R(w) = sum_j |w_j|^r`` for lr (no 1/r factor: r = 2 is lam*||w||^2, not lam/2*||w||^2) and
``R(w) = w^T Sigma_w w`` for Mahalanobis (no 1/2), so ``Regularizer.mahalanobis(I)`` and ``"l2"`` are the same problem.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from . import validation as V
from .errors import InvalidParameter


@dataclass(frozen=True)
class Regularizer:
    """A regularizer ``R(w)`` of the objective ``... + lam R(w)``.

    ``kind`` "lr": ``R(w) = sum_j |w_j|^r`` (no 1/r factor), r >= 1; "mahalanobis": ``R(w) = w^T Sigma_w w`` (no 1/2,
    so ``Regularizer.mahalanobis(I)`` and l2 are the same problem); "formula": a penalty given as a sympy formula.
    Build one with :meth:`lr`, :meth:`mahalanobis` or :func:`parse_regularizer`.

    For a formula penalty ``r`` holds the :class:`FormulaPenalty` itself (it is what the prior receives in the
    exponent's place: ``priors.prior_overlaps(hats, lam, reg.r, ...)``); it compares unequal to every number, so
    code that tests ``reg.r == 1.0`` or ``reg.r == 2.0`` treats it as a general penalty, and arithmetic on it fails
    loudly.

    Parameters
    ----------
    kind : {"lr", "mahalanobis", "formula"}
        The family.
    r : float
        The exponent of an lr penalty (2 for Mahalanobis; the penalty object for a formula).
    covariance : numpy.ndarray, optional
        Sigma_w of a Mahalanobis regularizer (spectrum or matrix).

    Examples
    --------
    >>> from asymptotics import Regularizer
    >>> Regularizer.lr(1.5)
    Regularizer(kind='lr', r=1.5)
    """
    kind: str                     # "lr" or "mahalanobis"
    r: float                      # exponent (2 for Mahalanobis)
    covariance: np.ndarray | None = field(default=None, compare=False, repr=False)  # Sigma_w

    @staticmethod
    def lr(r: float) -> "Regularizer":
        r = V.real("r", r, low=1.0)
        return Regularizer("lr", r)

    @staticmethod
    def mahalanobis(covariance) -> "Regularizer":
        cov = V.spectrum_or_matrix("Sigma_w", covariance, positive_definite=True)
        return Regularizer("mahalanobis", 2.0, cov)

    @property
    def name(self) -> str:
        return "mahalanobis" if self.kind == "mahalanobis" else f"l{self.r:g}"

    def value(self, w) -> float:
        """R(w) (see module docstring)."""
        w = np.asarray(w, dtype=np.float64)
        if self.kind == "mahalanobis":
            from .geometry import expand_spectrum

            cov = expand_spectrum(self.covariance, w.shape[-1])
            return float(w @ (cov * w if cov.ndim == 1 else cov @ w))
        return float(np.sum(np.abs(w) ** self.r))


_PATTERN = re.compile(r"^l(\d+(\.\d+)?)$")


def parse_regularizer(reg) -> Regularizer:
    """Parse a regularizer given as a string, a number or a :class:`Regularizer`.

    Parameters
    ----------
    reg : str, float or Regularizer
        "l1", "l2", "l<r>" with r >= 1 (e.g. "l1.5"), "ridge" (= l2), a float r >= 1, or a :class:`Regularizer`
        (returned as is).

    Returns
    -------
    Regularizer

    Raises
    ------
    InvalidParameter
        An unknown name or r < 1.

    Examples
    --------
    >>> from asymptotics import parse_regularizer
    >>> parse_regularizer("l1")
    Regularizer(kind='lr', r=1.0)
    """
    if isinstance(reg, Regularizer):
        return reg
    if isinstance(reg, str):
        s = reg.strip().lower()
        if s == "ridge":
            return Regularizer.lr(2.0)
        if s in ("mahalanobis", "maha"):
            raise InvalidParameter("reg", "a Mahalanobis regularizer needs its matrix: use Regularizer.mahalanobis(S)")
        match = _PATTERN.match(s)
        if not match:
            raise InvalidParameter("reg", f"expected 'l1', 'l2', 'l<r>' with r >= 1, 'ridge' or a Regularizer, got {reg!r}")
        r = float(match.group(1))
        if r < 1:
            raise InvalidParameter("reg", f"r must be >= 1 (convex regularizer), got {r}")
        return Regularizer.lr(r)
    if isinstance(reg, (int, float)) and not isinstance(reg, bool):
        return Regularizer.lr(reg)
    raise InvalidParameter("reg", f"expected a string like 'l2' or a Regularizer, got {reg!r}")
