"""Composite Gauss-Legendre rules with breakpoints (kinks and steep regions are split out, never straddled)."""
from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=32)
def legendre(n: int):
    x, w = np.polynomial.legendre.leggauss(n)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def composite(breakpoints, n: int):
    """Nodes and weights of an n-point Gauss-Legendre rule on each interval between sorted breakpoints."""
    b = np.unique(np.asarray(breakpoints, dtype=np.float64))
    x, w = legendre(n)
    lo, hi = b[:-1], b[1:]
    half = 0.5 * (hi - lo)
    mid = 0.5 * (hi + lo)
    nodes = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    weights = (half[:, None] * w[None, :]).ravel()
    return nodes, weights
