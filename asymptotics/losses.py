"""Margin losses l(u), u = y * (w.x/sqrt(d)) - eps * A(w), with their derivatives and proximal maps.

Every loss is a class in ``LOSSES`` (the registry). A loss knows

* ``value(u)``, ``d1(u)``, ``d2(u)``  (second derivative; 0 away from kinks for piecewise-linear losses),
* ``prox(w, V) -> (u*, du*/dw)`` with ``u* = argmin_u (u - w)^2 / (2V) + l(u)``,
* ``kinks(V)``: the points in ``w`` where ``u*(w)`` is not smooth (quadrature splits there),
* ``slope_at_zero``: l'(0), so that ``u*(w) < 0  <=>  w < V * l'(0)`` (exact training error).

Conventions: logistic ``log(1 + e^{-u})``; hinge ``max(0, 1 - u)``; square ``(1 - u)^2 / 2`` (the margin-shifted
square loss of Tanner et al., i.e. ``(y - w.x/sqrt(d) + y eps A)^2 / 2``; for this non-monotone loss it is the
robust loss only where the margin is below 1); exponential ``e^{-u}``.

Any other convex non-increasing loss can be written as a sympy formula: ``Loss.from_sympy(expr, name=...)`` returns
a :class:`FormulaLoss` with the same interface, derived and compiled from the formula (``asymptotics.formula``,
``asymptotics.formula_codegen``; guide: docs/formula_losses.md).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from scipy.special import expit

from . import _kernels
from .errors import InvalidParameter


class Loss(ABC):
    """A margin loss ``l(u)``, applied to the robust margin ``u = y w.x/sqrt(d) - eps A(w)``.

    Subclasses (registry :data:`asymptotics.LOSSES`: logistic ``log(1 + e^{-u})``, hinge ``max(0, 1 - u)``, square
    ``(1 - u)^2/2``, exponential ``e^{-u}``) implement ``value``, the derivatives ``d1`` and ``d2``, and the proximal
    map ``prox(w, V) = argmin_u l(u) + (u - w)^2/(2V)``; :meth:`from_sympy` builds one from a formula. Get one by
    name with :func:`parse_loss`.

    Attributes
    ----------
    name : str
        The registry name.
    smooth : bool
        Whether ``l`` is twice differentiable (False for the hinge).
    slope_at_zero : float
        ``l'(0)``.

    Examples
    --------
    >>> from asymptotics import parse_loss
    >>> hinge = parse_loss("hinge")
    >>> float(hinge.value(0.5)), hinge.smooth
    (0.5, False)
    """
    name: str = ""
    smooth: bool = True
    slope_at_zero: float = 0.0

    @abstractmethod
    def value(self, u):
        """See the module docstring."""

    @abstractmethod
    def d1(self, u):
        """See the module docstring."""

    @abstractmethod
    def d2(self, u):
        """See the module docstring."""

    @abstractmethod
    def prox(self, w, V):
        """See the module docstring."""

    def kinks(self, V) -> tuple:
        return ()

    @staticmethod
    def from_sympy(expr, name: str | None = None) -> "FormulaLoss":
        """A margin loss ``l(u)`` from one sympy expression (see :class:`FormulaLoss`).

        Parameters
        ----------
        expr : sympy expression (or string) in exactly one symbol, the margin ``u``
            ``Piecewise``, ``Abs``, ``Max``/``Min`` are allowed: the formula is split into smooth pieces.
        name : str, optional
            The name used in points, results and caches (default: the formula's text). It must differ from the
            built-in names (``LOSSES``); a name is bound to one formula per process.

        Raises
        ------
        InvalidParameter("expr") : not one free symbol, not real or finite at 0, discontinuous, not convex, or
            increasing somewhere; the message names the violation and where (e.g. ``l''(u) < 0 at u = 0.3``).

        Examples
        --------
        >>> import sympy as sp
        >>> u = sp.Symbol("u")
        >>> loss = Loss.from_sympy(sp.log(1 + sp.exp(-u)), name="logistic_formula")
        >>> float(loss.d1(0.0)), loss.slope_at_zero
        (-0.5, -0.5)
        """
        return formula_loss(expr, name)

    def __repr__(self):
        return f"Loss({self.name!r})"

    def __eq__(self, other):
        return isinstance(other, Loss) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


class Logistic(Loss):
    name = "logistic"
    slope_at_zero = -0.5

    def value(self, u):
        return np.logaddexp(0.0, -np.asarray(u, dtype=np.float64))

    def d1(self, u):
        return -expit(-np.asarray(u, dtype=np.float64))

    def d2(self, u):
        s = expit(np.asarray(u, dtype=np.float64))
        return s * (1.0 - s)

    def prox(self, w, V):
        w = np.ascontiguousarray(w, dtype=np.float64)
        u = _kernels.logistic_prox(w.ravel(), float(V)).reshape(w.shape)
        l2 = self.d2(u)
        return u, 1.0 / (1.0 + V * l2)

    def kinks(self, V):
        # not kinks but the edges of the region where l'' is large: u* in {-6, -2, 0, 2, 6}, mapped to w = u + V l'(u)
        u = np.array([-6.0, -2.0, 0.0, 2.0, 6.0])
        return tuple(u + V * self.d1(u))


class Exponential(Loss):
    name = "exponential"
    slope_at_zero = -1.0

    def value(self, u):
        return np.exp(-np.asarray(u, dtype=np.float64))

    def d1(self, u):
        return -np.exp(-np.asarray(u, dtype=np.float64))

    def d2(self, u):
        return np.exp(-np.asarray(u, dtype=np.float64))

    def prox(self, w, V):
        w = np.ascontiguousarray(w, dtype=np.float64)
        u = _kernels.exponential_prox(w.ravel(), float(V)).reshape(w.shape)
        return u, 1.0 / (1.0 + V * self.d2(u))

    def kinks(self, V):
        u = np.array([-2.0, 0.0, 2.0, 6.0])
        return tuple(u + V * self.d1(u))


class Hinge(Loss):
    name = "hinge"
    smooth = False
    slope_at_zero = -1.0

    def value(self, u):
        return np.maximum(0.0, 1.0 - np.asarray(u, dtype=np.float64))

    def d1(self, u):
        return np.where(np.asarray(u) < 1.0, -1.0, 0.0)

    def d2(self, u):
        return np.zeros_like(np.asarray(u, dtype=np.float64))

    def prox(self, w, V):
        w = np.asarray(w, dtype=np.float64)
        u = np.where(w < 1.0 - V, w + V, np.where(w > 1.0, w, 1.0))
        du = np.where((w >= 1.0 - V) & (w <= 1.0), 0.0, 1.0)
        return u, du

    def kinks(self, V):
        return (1.0 - V, 1.0)


class Square(Loss):
    name = "square"
    slope_at_zero = -1.0

    def value(self, u):
        return 0.5 * (1.0 - np.asarray(u, dtype=np.float64)) ** 2

    def d1(self, u):
        return np.asarray(u, dtype=np.float64) - 1.0

    def d2(self, u):
        return np.ones_like(np.asarray(u, dtype=np.float64))

    def prox(self, w, V):
        w = np.asarray(w, dtype=np.float64)
        return (w + V) / (1.0 + V), np.full_like(w, 1.0 / (1.0 + V))


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (Logistic, Hinge, Square, Exponential)}


class FormulaLoss(Loss):
    """A margin loss ``l(u)`` given by a sympy formula (build it with :meth:`Loss.from_sympy`).

    Everything the theory and the simulation need is derived from the formula (:mod:`asymptotics.formula`,
    :mod:`asymptotics.formula_codegen`): ``value``, ``d1``, ``d2`` (piece by piece, at a breakpoint the piece on its
    right), ``prox`` (Newton with bracketing per piece, exact flat regions ``u* = b`` at kinks, compiled with numba),
    ``kinks(V)`` (the images ``b + V l'(b-)``, ``b + V l'(b+)`` of the breakpoints and of ``u in {-6, -2, 0, 2, 6}``,
    as for the built-in logistic loss, so the channel's quadrature never straddles a kink), ``slope_at_zero =
    l'(0-)`` (``u*(w) < 0  <=>  w < V l'(0-)``) and ``smooth`` (``l'`` continuous: the finite-d solvers L-BFGS and
    FISTA need it; the cvxpy reference supports no formula loss).

    Attributes
    ----------
    expr : the formula in the real symbol ``u``; formula : the analysed :class:`asymptotics.formula.Formula`
    checks : how each condition was verified ("symbolic" or "numeric (grid, tolerance ...)")
    """

    def __init__(self, formula):
        self.formula = formula
        self.name = formula.name
        self.expr = formula.expr
        self.smooth = formula.smooth
        self.slope_at_zero = float(formula.d1_at_zero)
        self.checks = dict(formula.checks)
        self._module = None

    @property
    def kernels(self):
        """The compiled module (generated and loaded on first use)."""
        if self._module is None:
            from . import formula_codegen

            self._module = formula_codegen.load(self.formula)
        return self._module

    def _eval(self, u, order):
        u = np.asarray(u, dtype=np.float64)
        flat = np.ascontiguousarray(u).ravel()
        out = np.empty_like(flat)
        self.kernels.evaluate(flat, order, out)
        return out.reshape(u.shape)

    def value(self, u):
        return self._eval(u, 0)

    def d1(self, u):
        return self._eval(u, 1)

    def d2(self, u):
        return self._eval(u, 2)

    def prox(self, w, V):
        w = np.asarray(w, dtype=np.float64)
        flat = np.ascontiguousarray(w).ravel()
        u, du = np.empty_like(flat), np.empty_like(flat)
        self.kernels.prox(flat, float(V), u, du)
        return u.reshape(w.shape), du.reshape(w.shape)

    def value_d1_sums(self, u, d1_out):
        """(sum_i l(u_i), sum_i l'(u_i)), filling d1_out with l'(u_i): the finite-d objective's loss pass."""
        return self.kernels.value_d1_sums(np.ascontiguousarray(u, dtype=np.float64), d1_out)

    def kinks(self, V):
        f = self.formula
        pts = [b + V * s for b, dl, dr in zip(f.breaks_float, f.d1_left, f.d1_right) for s in (dl, dr)]
        u = np.array([-6.0, -2.0, 0.0, 2.0, 6.0])
        pts += list(u + V * self.d1(u))
        return tuple(sorted(set(float(p) for p in pts if np.isfinite(p))))

    def to_dict(self) -> dict:
        """The name and the formula (srepr): what identifies the loss in cache keys."""
        return {"name": self.name, "formula": self.formula.key}

    def __eq__(self, other):
        return isinstance(other, FormulaLoss) and other.name == self.name and other.formula.key == self.formula.key

    def __hash__(self):
        return hash((self.name, self.formula.key))

    def __reduce__(self):
        return formula_loss, (self.expr, self.name)

    def __repr__(self):
        return f"Loss.from_sympy({self.expr}, name={self.name!r})"


FORMULA_LOSSES: dict[str, FormulaLoss] = {}


def formula_loss(expr, name=None) -> FormulaLoss:
    """:meth:`Loss.from_sympy` (one analysed object per (name, formula) and process, so that repeated calls and
    unpickling in worker processes reuse it)."""
    from .formula import analyse, canonical

    canon, _ = canonical(expr, "loss")
    if name is None:
        name = str(canon)
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise InvalidParameter("name", f"must be a non-empty string without surrounding spaces, got {name!r}")
    if name.lower() in LOSSES:
        raise InvalidParameter("name", f"{name!r} is a built-in loss; choose another name for a formula")
    old = FORMULA_LOSSES.get(name)
    if old is not None:
        import sympy as sp

        if sp.srepr(canon) == old.formula.key:
            return old
        raise InvalidParameter("name", f"{name!r} is already the formula loss {old.expr}; choose another name")
    from . import formula_codegen

    loss = FormulaLoss(analyse(canon, "loss", name))
    loss._module = formula_codegen.load_checked(loss.formula)    # compiles (once per machine: numba's cache)
    FORMULA_LOSSES[name] = loss
    return loss


def parse_loss(loss) -> Loss:
    """Get a :class:`Loss` by name (or return a :class:`Loss` as is).

    Parameters
    ----------
    loss : str or Loss
        "logistic", "hinge", "square", "exponential", the name of a formula loss defined with
        :meth:`Loss.from_sympy`, or a :class:`Loss`.

    Returns
    -------
    Loss

    Raises
    ------
    InvalidParameter
        An unknown name.

    Examples
    --------
    >>> from asymptotics import parse_loss
    >>> parse_loss("logistic").name
    'logistic'
    """
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss.strip().lower() in LOSSES:
        return LOSSES[loss.strip().lower()]()
    if isinstance(loss, str) and loss.strip() in FORMULA_LOSSES:
        return FORMULA_LOSSES[loss.strip()]
    defined = f" (defined: {sorted(FORMULA_LOSSES)})" if FORMULA_LOSSES else ""
    raise InvalidParameter("loss", f"expected one of {sorted(LOSSES)}, the name of a formula loss{defined} or a Loss, "
                                   f"got {loss!r}")
