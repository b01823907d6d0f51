"""Attack geometries: lp balls (any p in [1, inf]) and Mahalanobis ellipsoids.

Conventions (package-wide)
--------------------------
For a linear model the worst case of a non-increasing margin loss over the attack ball is the loss at the
margin shifted by ``eps * A(w)``, where ``A`` is the (dimension-normalised) dual norm of the attack norm:

* lp attack, ``1/p + 1/p* = 1``:  ``A(w) = ||w||_{p*} / d^{1/p*}``  (``||w||_1/d`` for linf, ``||w||_2/sqrt(d)`` for l2),
  i.e. ``A = P^{1/p*}`` with the order parameter ``P = ||w||_{p*}^{p*} / d``.  In input units the attack ball is
  ``||delta||_p <= eps * d^{1/p - 1/2}`` (``eps/sqrt(d)`` per coordinate for linf, ``eps`` for l2).
* l1 attack (``p* = inf``): ``A(w) = ||w||_inf`` and the order parameter is ``P = ||w||_inf`` itself (``A = P``).
* Mahalanobis attack ``{delta: delta^T Sigma_delta^{-1} delta <= eps^2}``: ``A(w) = sqrt(w^T Sigma_delta w / d)``,
  ``P = w^T Sigma_delta w / d`` and ``A = sqrt(P)``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from . import validation as V
from .errors import InvalidParameter


def dual_exponent(p: float) -> float:
    """q with 1/p + 1/q = 1 (inf for p = 1, 1 for p = inf); an involution, so it also maps q back to p."""
    if math.isinf(p):
        return 1.0
    if p == 1.0:
        return math.inf
    return p / (p - 1.0)


@dataclass(frozen=True)
class Attack:
    """An attack geometry: the set ``{delta : ||delta||_p <= eps}`` (lp) or ``{delta : delta^T Sigma_delta^{-1} delta <= eps^2}``
    (Mahalanobis) and the attack term it adds to the margin.

    Build one with :meth:`lp`, :meth:`mahalanobis` or :func:`parse_attack` (strings "linf", "l2", "l1", "l1.5").
    In the training objective ``sum_i loss(y_i w.x_i/sqrt(d) - eps A(w)) + lam R(w)`` the attack term is
    ``A(w) = ||w||_{p*} / d^{1/p*}`` for an lp attack (``1/p + 1/p* = 1``; ``||w||_1/d`` for linf, ``||w||_2/sqrt(d)``
    for l2) and ``sqrt(w^T Sigma_delta w / d)`` for a Mahalanobis attack. In order parameters ``A = P^{1/p*}`` with
    ``P = ||w||_{p*}^{p*}/d`` (lp) or ``P = w^T Sigma_delta w/d`` (Mahalanobis, ``A = sqrt(P)``); see
    ``docs/conventions.md``.

    Parameters
    ----------
    kind : {"lp", "mahalanobis"}
        The family.
    p : float
        The attack norm's exponent, in [1, inf] (``inf`` for linf; 2 for Mahalanobis).
    covariance : numpy.ndarray, optional
        Sigma_delta of a Mahalanobis attack: a spectrum (1-D, positive) or a symmetric positive-definite matrix.

    Attributes
    ----------
    dual_exponent : float
        ``p* = p/(p-1)`` (1 for linf, inf for l1).
    name : str
        "linf", "l2", "l1.5", ... or "mahalanobis".

    Examples
    --------
    >>> import math
    >>> from asymptotics import Attack
    >>> a = Attack.lp(math.inf)
    >>> a.name, a.dual_exponent
    ('linf', 1.0)
    >>> a.term(4.0)          # A = P^{1/p*} = P for linf
    4.0
    """

    kind: str                      # "lp" or "mahalanobis"
    p: float                       # the attack norm's exponent (inf for linf; 2 for Mahalanobis)
    covariance: np.ndarray | None = field(default=None, compare=False, repr=False)  # Sigma_delta (spectrum or matrix)

    # ---- constructors -------------------------------------------------------------------------------------
    @staticmethod
    def lp(p: float) -> "Attack":
        p = V.real("p", p, low=1.0, allow_inf=True)
        return Attack("lp", p)

    @staticmethod
    def mahalanobis(covariance) -> "Attack":
        cov = V.spectrum_or_matrix("Sigma_delta", covariance, positive_definite=True)
        return Attack("mahalanobis", 2.0, cov)

    # ---- maths ----------------------------------------------------------------------------------------------
    @property
    def dual_exponent(self) -> float:
        """p* with 1/p + 1/p* = 1 (inf for p = 1, 1 for p = inf)."""
        return 2.0 if self.kind == "mahalanobis" else dual_exponent(self.p)

    @property
    def name(self) -> str:
        if self.kind == "mahalanobis":
            return "mahalanobis"
        if math.isinf(self.p):
            return "linf"
        return f"l{self.p:g}"

    def term(self, P: float) -> float:
        """Eps-free attack term A as a function of the order parameter P (A = P^{1/p*}; P for p* = inf)."""
        ps = self.dual_exponent
        return float(P) if math.isinf(ps) else float(P) ** (1.0 / ps)

    def term_derivative(self, P: float) -> float:
        """dA/dP."""
        ps = self.dual_exponent
        if math.isinf(ps):
            return 1.0
        return (1.0 / ps) * float(P) ** (1.0 / ps - 1.0)

    def functional(self, w) -> float:
        """The order parameter P of a finite-d vector w (see module docstring)."""
        w = np.asarray(w, dtype=np.float64)
        d = w.shape[-1]
        if self.kind == "mahalanobis":
            return float(w @ _apply(self.covariance, w)) / d
        ps = self.dual_exponent
        if math.isinf(ps):
            return float(np.max(np.abs(w)))
        return float(np.sum(np.abs(w) ** ps)) / d

    def dual_norm(self, w) -> float:
        """Unnormalised dual norm ||w||_{p*} (or sqrt(w^T Sigma_delta w))."""
        w = np.asarray(w, dtype=np.float64)
        if self.kind == "mahalanobis":
            return math.sqrt(float(w @ _apply(self.covariance, w)))
        ps = self.dual_exponent
        return float(np.linalg.norm(w, ord=np.inf if math.isinf(ps) else ps))

    def margin_shift(self, w) -> float:
        """A(w) = normalised dual norm, the amount eps multiplies in the robust margin y w.x/sqrt(d) - eps A(w)."""
        return self.term(self.functional(w))

    def radius(self, eps: float, d: int) -> float:
        """Attack radius in input units: eps * d^{1/p - 1/2} (lp), eps (Mahalanobis)."""
        if self.kind == "mahalanobis":
            return float(eps)
        inv_p = 0.0 if math.isinf(self.p) else 1.0 / self.p
        return float(eps) * d ** (inv_p - 0.5)


def expand_spectrum(cov, d: int):
    """A spectrum of length k describes k classes of equal size: tile it to dimension d (k must divide d)."""
    if cov.ndim == 2:
        if cov.shape[0] != d:
            raise InvalidParameter("covariance", f"matrix of size {cov.shape[0]} does not match dimension {d}")
        return cov
    if d % cov.size:
        raise InvalidParameter("covariance", f"a spectrum of length {cov.size} needs d divisible by it, got d = {d}")
    return np.tile(cov, d // cov.size)


def _apply(cov, w):
    cov = expand_spectrum(cov, w.shape[-1])
    return cov * w if cov.ndim == 1 else cov @ w


_LP_PATTERN = re.compile(r"^l(inf|\d+(\.\d+)?)$")


def parse_attack(attack) -> Attack:
    """Parse an attack given as a string, a number or an :class:`Attack` (the API's one place that reads strings).

    Parameters
    ----------
    attack : str, float or Attack
        "linf", "l2", "l1", "l<p>" with p >= 1 (e.g. "l1.5"), a float p >= 1 (``math.inf`` for linf), or an
        :class:`Attack` (returned as is). A Mahalanobis attack needs its covariance: ``Attack.mahalanobis(S)``.

    Returns
    -------
    Attack

    Raises
    ------
    InvalidParameter
        An unknown name, p < 1, or "mahalanobis" without a covariance.

    Examples
    --------
    >>> from asymptotics import parse_attack
    >>> parse_attack("l2")
    Attack(kind='lp', p=2.0)
    >>> parse_attack(1.5).dual_exponent
    3.0
    """
    if isinstance(attack, Attack):
        return attack
    if isinstance(attack, str):
        s = attack.strip().lower()
        if s in ("mahalanobis", "maha"):
            raise InvalidParameter("attack", "a Mahalanobis attack needs its covariance: use Attack.mahalanobis(S)")
        match = _LP_PATTERN.match(s)
        if not match:
            raise InvalidParameter("attack", f"expected 'linf', 'l2', 'l1', 'l<p>' with p >= 1 or an Attack, got {attack!r}")
        p = math.inf if match.group(1) == "inf" else float(match.group(1))
        if p < 1:
            raise InvalidParameter("attack", f"p must be >= 1, got {p}")
        return Attack.lp(p)
    if isinstance(attack, (int, float)) and not isinstance(attack, bool):
        return Attack.lp(attack)
    raise InvalidParameter("attack", f"expected a string like 'linf' or an Attack, got {attack!r}")
