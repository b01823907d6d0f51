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
    """Parse "l1", "l2", "l1.5", "ridge", a Regularizer, or a float r."""
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
