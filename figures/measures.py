"""Small measurements that figures' claims take on their re-read JSON data (lists with ``None`` for NaN).

Each helper turns JSON lists into float arrays (``None`` -> NaN) and returns plain floats, so a claim's
``measure`` stays one readable line: the quantity the paper states and the threshold it is held to.
"""
from __future__ import annotations

import numpy as np


def arr(values) -> np.ndarray:
    """Nested JSON lists (``None`` for NaN) -> a float array."""
    if isinstance(values, (list, tuple)):
        return np.array([arr(v) if isinstance(v, (list, tuple)) else (np.nan if v is None else v) for v in values],
                        dtype=np.float64)
    return np.asarray(np.nan if values is None else values, dtype=np.float64)


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x over the finite, positive points (NaN if fewer than two)."""
    x, y = arr(x), arr(y)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])


def first_index(condition) -> int | None:
    """Index of the first True in a boolean sequence, or None."""
    hits = np.flatnonzero(np.asarray(condition, dtype=bool))
    return int(hits[0]) if hits.size else None
