"""Regularizers: lr (any r >= 1), Mahalanobis, and separable penalties written as formulas.

Conventions: ``R(w) = sum_j |w_j|^r`` for lr (no 1/r factor: r = 2 is lam*||w||^2, not lam/2*||w||^2) and
``R(w) = w^T Sigma_w w`` for Mahalanobis (no 1/2), so ``Regularizer.mahalanobis(I)`` and ``"l2"`` are the same problem.
A formula penalty (``Regularizer.from_sympy(f)``) is ``R(w) = sum_j f(w_j)`` exactly as written (no factor added), for
an even convex ``f``; ``Regularizer.from_sympy(abs(x)**1.5)`` is the same problem as ``"l1.5"`` (tested).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from . import validation as V
from .errors import InvalidParameter


class FormulaPenalty:
    """An even convex penalty ``f`` given by a sympy formula (build it with :meth:`Regularizer.from_sympy`).

    What the prior needs (:mod:`asymptotics.priors`): the scalar problem
    ``argmin_x (V_hat s/2) x^2 - G x + lam a f(x) + attack term`` is solved for ``x >= 0`` by the generated kernel
    ``prior_prox`` (see :mod:`asymptotics.formula_codegen`); ``kink = f'(0+)`` enters the soft threshold
    (``tau += lam a f'(0+)``) and the zero test; ``slope_excess(x) = f'(x-) - f'(0+)`` the stationarity map used by
    the l1 attack's box. What the finite-d solvers need: ``values`` (``f(w_j)``) and ``smooth_value_grad`` (value
    and gradient of ``f(w) - f'(0+)|w|``, differentiable when ``f'`` has no jump away from 0; the ``f'(0+)|w|`` part
    is a soft threshold in FISTA).
    """

    def __init__(self, formula):
        self.formula = formula
        self.name = formula.name
        self.expr = formula.expr
        self.kink = float(formula.d1_at_zero)
        self.smooth_away_from_zero = formula.smooth
        self.checks = dict(formula.checks)
        self._module = None

    @property
    def kernels(self):
        if self._module is None:
            from . import formula_codegen

            self._module = formula_codegen.load(self.formula)
        return self._module

    def prior_prox(self, y, c, kf, k2, e2):
        """Root x >= 0 of ``c x + kf (f'(x) - f'(0+)) + k2 e2 x^(e2-1) = y`` elementwise (0 for y <= 0)."""
        out = np.empty_like(y)
        self.kernels.prox(np.ascontiguousarray(y, dtype=np.float64), np.ascontiguousarray(c, dtype=np.float64),
                          np.ascontiguousarray(kf, dtype=np.float64), np.ascontiguousarray(k2, dtype=np.float64),
                          float(e2), out)
        return out

    def slope_excess(self, x):
        """f'(x-) - f'(0+) for x >= 0 (0 at x = 0), elementwise."""
        x = np.asarray(x, dtype=np.float64)
        flat = np.ascontiguousarray(x).ravel()
        out = np.empty_like(flat)
        self.kernels.slope_excess(flat, out)
        return out.reshape(x.shape)

    def values(self, w):
        """f(w_j) elementwise."""
        w = np.asarray(w, dtype=np.float64)
        flat = np.ascontiguousarray(w).ravel()
        out = np.empty_like(flat)
        self.kernels.values(flat, out)
        return out.reshape(w.shape)

    def smooth_value_grad(self, w):
        """(sum_j g(w_j), grad) for ``g(w) = f(w) - f'(0+)|w|``."""
        w = np.ascontiguousarray(w, dtype=np.float64)
        grad = np.empty_like(w)
        return float(self.kernels.smooth_value_grad(w, grad)), grad

    def __eq__(self, other):
        return isinstance(other, FormulaPenalty) and other.name == self.name and other.formula.key == self.formula.key

    def __hash__(self):
        return hash((self.name, self.formula.key))

    def __reduce__(self):
        return _formula_penalty, (self.expr, self.name)

    def __repr__(self):
        return f"FormulaPenalty({self.expr}, name={self.name!r})"


FORMULA_PENALTIES: dict[str, FormulaPenalty] = {}


def _formula_penalty(expr, name=None) -> FormulaPenalty:
    from .formula import analyse, canonical

    canon, _ = canonical(expr, "penalty")
    if name is None:
        name = str(canon)
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise InvalidParameter("name", f"must be a non-empty string without surrounding spaces, got {name!r}")
    low = name.lower()
    if low in ("ridge", "mahalanobis", "maha") or _PATTERN.match(low):
        raise InvalidParameter("name", f"{name!r} is a built-in regularizer name; choose another name for a formula")
    old = FORMULA_PENALTIES.get(name)
    if old is not None:
        import sympy as sp

        if sp.srepr(canon) == old.formula.key:
            return old
        raise InvalidParameter("name", f"{name!r} is already the formula penalty {old.expr}; choose another name")
    from . import formula_codegen

    pen = FormulaPenalty(analyse(canon, "penalty", name))
    pen._module = formula_codegen.load_checked(pen.formula)      # compiles (once per machine: numba's cache)
    FORMULA_PENALTIES[name] = pen
    return pen


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

    kind: str                     # "lr", "mahalanobis" or "formula"
    r: float                      # exponent (2 for Mahalanobis); the FormulaPenalty for "formula"
    covariance: np.ndarray | None = field(default=None, compare=False, repr=False)  # Sigma_w

    @staticmethod
    def lr(r: float) -> "Regularizer":
        r = V.real("r", r, low=1.0)
        return Regularizer("lr", r)

    @staticmethod
    def mahalanobis(covariance) -> "Regularizer":
        cov = V.spectrum_or_matrix("Sigma_w", covariance, positive_definite=True)
        return Regularizer("mahalanobis", 2.0, cov)

    @staticmethod
    def from_sympy(expr, name: str | None = None) -> "Regularizer":
        """A separable penalty ``R(w) = sum_j f(w_j)`` from one sympy expression ``f`` (see :class:`FormulaPenalty`).

        Parameters
        ----------
        expr : sympy expression (or string) in exactly one symbol; even and convex (``Abs``, ``Piecewise``, ... allowed)
        name : str, optional
            The name used in points, results and caches (default: the formula's text); it must not look like a
            built-in name (``l<r>``, ``ridge``, ``mahalanobis``); a name is bound to one formula per process.

        Raises
        ------
        InvalidParameter("expr") : not one free symbol, not real or finite at 0, not even, discontinuous or not convex
            (the message names the violation and where, e.g. ``f''(x) < 0 at x = 0.5``).

        Examples
        --------
        >>> import sympy as sp
        >>> x = sp.Symbol("x")
        >>> reg = Regularizer.from_sympy(sp.Abs(x) ** sp.Rational(3, 2), name="l1.5_formula")
        >>> reg.name, reg.subgradient_at_zero
        ('l1.5_formula', 0.0)
        """
        return Regularizer("formula", _formula_penalty(expr, name))

    @property
    def penalty(self) -> FormulaPenalty | None:
        """The formula penalty (None for lr and Mahalanobis)."""
        return self.r if self.kind == "formula" else None

    @property
    def subgradient_at_zero(self) -> float:
        """f'(0+): the half-width of the penalty's subdifferential at w_j = 0 (1 for l1, 0 for r > 1 and
        Mahalanobis, f'(0+) for a formula): lam times it is the soft threshold of the prior and the zero test."""
        if self.kind == "formula":
            return self.r.kink
        return 1.0 if (self.kind == "lr" and self.r == 1.0) else 0.0

    @property
    def name(self) -> str:
        if self.kind == "formula":
            return self.r.name
        return "mahalanobis" if self.kind == "mahalanobis" else f"l{self.r:g}"

    def to_dict(self) -> dict:
        """Plain description (cache keys): the name and the covariance, or the formula (srepr)."""
        if self.kind == "formula":
            return {"name": self.name, "formula": self.r.formula.key}
        return {"name": self.name, "covariance": None if self.covariance is None else self.covariance.tolist()}

    def value(self, w) -> float:
        """R(w) (see module docstring)."""
        w = np.asarray(w, dtype=np.float64)
        if self.kind == "formula":
            return float(np.sum(self.r.values(w)))
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
    if isinstance(reg, str) and reg.strip() in FORMULA_PENALTIES:
        return Regularizer("formula", FORMULA_PENALTIES[reg.strip()])
    if isinstance(reg, str):
        s = reg.strip().lower()
        if s == "ridge":
            return Regularizer.lr(2.0)
        if s in ("mahalanobis", "maha"):
            raise InvalidParameter("reg", "a Mahalanobis regularizer needs its matrix: use Regularizer.mahalanobis(S)")
        match = _PATTERN.match(s)
        if not match:
            raise InvalidParameter("reg", f"expected 'l1', 'l2', 'l<r>' with r >= 1, 'ridge', the name of a formula "
                                          f"penalty (Regularizer.from_sympy) or a Regularizer, got {reg!r}")
        r = float(match.group(1))
        if r < 1:
            raise InvalidParameter("reg", f"r must be >= 1 (convex regularizer), got {r}")
        return Regularizer.lr(r)
    if isinstance(reg, (int, float)) and not isinstance(reg, bool):
        return Regularizer.lr(reg)
    raise InvalidParameter("reg", f"expected a string like 'l2' or a Regularizer, got {reg!r}")
