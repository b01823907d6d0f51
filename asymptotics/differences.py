"""Difference schemes on the fixed-point map (where no analytic derivative is coded).

The map of ``fixed_point`` is a smooth function of its input and of the problem's parameters: its quadrature rules
have a fixed number of nodes on panels whose ends move smoothly, and its inner solves (proximal maps, the l1-attack
box level) converge to ~1e-15. Measured: the map's values deviate from a smooth curve by <= 6e-15 in the y
coordinates of ``fixed_point`` (second differences at steps 1e-7), so difference quotients are accurate to
``truncation + noise / step`` with noise ~1e-15.

Schemes (``f`` vector-valued, ``h`` the step):

* ``"forward"``     D+(h) = (f(t + h) - f(t)) / h                              error O(h) + 2 noise / h (1 new value)
* ``"central"``     D0(h) = (f(t + h) - f(t - h)) / (2 h)                      error O(h^2) + noise / h (2 values)
* ``"richardson"``  (4 D0(h/2) - D0(h)) / 3                                   error O(h^4) + 2 noise / h (4 values)
* one-sided Richardson (at the edge of a parameter's domain, e.g. lam = 0, eps = 0, r = 1):
  R1(h) = 2 D+(h/2) - D+(h) (error O(h^2)), then (4 R1(h/2) - R1(h)) / 3, error O(h^3) (3 new values; ``side`` = +1
  looks right, -1 left).

Default steps (in the unconstrained y coordinates, where every component is O(1)): 2e-3 for Richardson (error
~1e-11: h^4 ~ 1.6e-11 times the fifth derivative, 2e-15 / 2e-3 ~ 1e-12 from noise), 1e-7 for forward differences
(error ~1e-8, enough for a Newton step), 1e-4 for central differences (~1e-9).
"""
from __future__ import annotations

import numpy as np

SCHEMES = ("richardson", "central", "forward")
DEFAULT_STEP = {"richardson": 2e-3, "central": 1e-4, "forward": 1e-7}
ONE_SIDED_STEP = 1e-3      # largest step of the one-sided Richardson scheme (error h^3 ~ 1e-9)


def derivative(f, t: float, h: float, scheme: str = "richardson", *, f0=None, side: int = 0):
    """df/dt at ``t`` for a vector-valued ``f`` (returns an ndarray).

    Parameters
    ----------
    f : callable float -> array
    t, h : the point and the (largest) step
    scheme : "richardson", "central" or "forward" (see the module docstring)
    f0 : f(t) if already known (used by the forward and one-sided schemes)
    side : 0 for a two-sided scheme; +1 / -1 for a one-sided Richardson scheme looking right / left (used at the edge
        of a domain, whatever ``scheme`` says)
    """
    if side:
        s = float(side)
        base = np.asarray(f(t) if f0 is None else f0, dtype=np.float64)
        v1, v2, v4 = (np.asarray(f(t + s * h / k), dtype=np.float64) for k in (4, 2, 1))
        d4, d2, d1 = (v1 - base) / (h / 4), (v2 - base) / (h / 2), (v4 - base) / h
        r_half, r_full = 2 * d4 - d2, 2 * d2 - d1
        return s * (4 * r_half - r_full) / 3
    if scheme == "forward":
        base = np.asarray(f(t) if f0 is None else f0, dtype=np.float64)
        return (np.asarray(f(t + h), dtype=np.float64) - base) / h
    if scheme == "central":
        return (np.asarray(f(t + h), dtype=np.float64) - np.asarray(f(t - h), dtype=np.float64)) / (2 * h)
    if scheme == "richardson":
        big = (np.asarray(f(t + h), dtype=np.float64) - np.asarray(f(t - h), dtype=np.float64)) / (2 * h)
        g = 0.5 * h
        small = (np.asarray(f(t + g), dtype=np.float64) - np.asarray(f(t - g), dtype=np.float64)) / (2 * g)
        return (4 * small - big) / 3
    raise ValueError(f"unknown difference scheme {scheme!r}")


def jacobian(g, y, h: float | None = None, scheme: str = "richardson", *, g0=None) -> np.ndarray:
    """The Jacobian dg/dy (columns by ``derivative`` along each coordinate of ``y``)."""
    y = np.asarray(y, dtype=np.float64)
    h = DEFAULT_STEP[scheme] if h is None else h
    if scheme == "forward" and g0 is None:
        g0 = g(y)
    cols = []
    for j in range(y.size):
        e = np.zeros_like(y)
        e[j] = 1.0
        cols.append(derivative(lambda s: g(y + s * e), 0.0, h, scheme, f0=g0))
    return np.column_stack(cols)
