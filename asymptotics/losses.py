"""Margin losses l(u), u = y * (w.x/sqrt(d)) - eps * A(w), with their derivatives and proximal maps.

Every loss is a class in ``LOSSES`` (the registry). A loss knows

* ``value(u)``, ``d1(u)``, ``d2(u)``  (second derivative; 0 away from kinks for piecewise-linear losses),
* ``prox(w, V) -> (u*, du*/dw)`` with ``u* = argmin_u (u - w)^2 / (2V) + l(u)``,
* ``kinks(V)``: the points in ``w`` where ``u*(w)`` is not smooth (quadrature splits there),
* ``slope_at_zero``: l'(0), so that ``u*(w) < 0  <=>  w < V * l'(0)`` (exact training error).

Conventions: logistic ``log(1 + e^{-u})``; hinge ``max(0, 1 - u)``; square ``(1 - u)^2 / 2`` (the margin-shifted
square loss of Tanner et al., i.e. ``(y - w.x/sqrt(d) + y eps A)^2 / 2``; for this non-monotone loss it is the
robust loss only where the margin is below 1); exponential ``e^{-u}``.
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
    raise InvalidParameter("loss", f"expected one of {sorted(LOSSES)} or a Loss, got {loss!r}")
