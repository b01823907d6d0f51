"""Parameter validators: every public function checks its inputs here before doing any work."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import InvalidParameter


def real(name: str, value, *, low=None, high=None, low_open=False, high_open=False, allow_inf=False) -> float:
    """Return ``value`` as a float after checking type, finiteness and range."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise InvalidParameter(name, f"must be a real number, got {value!r} ({type(value).__name__})")
    x = float(value)
    if math.isnan(x):
        raise InvalidParameter(name, "must not be NaN")
    if math.isinf(x) and not allow_inf:
        raise InvalidParameter(name, f"must be finite, got {x}")
    if low is not None and (x < low or (low_open and x == low)):
        raise InvalidParameter(name, f"must be {'>' if low_open else '>='} {low}, got {x!r}")
    if high is not None and (x > high or (high_open and x == high)):
        raise InvalidParameter(name, f"must be {'<' if high_open else '<='} {high}, got {x!r}")
    return x


def positive(name: str, value) -> float:
    return real(name, value, low=0.0, low_open=True)


def nonnegative(name: str, value) -> float:
    return real(name, value, low=0.0)


def integer(name: str, value, *, low=None) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise InvalidParameter(name, f"must be an integer, got {value!r}")
    v = int(value)
    if low is not None and v < low:
        raise InvalidParameter(name, f"must be >= {low}, got {v}")
    return v


def spectrum_or_matrix(name: str, value, *, dim: int | None = None, positive_definite=True):
    """Validate a covariance given as a 1-D spectrum (diagonal) or a symmetric PSD/PD matrix.

    Returns a float64 ndarray (1-D or 2-D) unchanged in shape.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(name, f"must be an array of reals ({exc})") from None
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise InvalidParameter(name, f"must be a non-empty 1-D spectrum or a square matrix, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidParameter(name, "contains NaN or inf")
    if arr.ndim == 2:
        if arr.shape[0] != arr.shape[1]:
            raise InvalidParameter(name, f"must be square, got shape {arr.shape}")
        if not np.allclose(arr, arr.T, rtol=1e-10, atol=1e-12):
            raise InvalidParameter(name, "must be symmetric")
        eig = np.linalg.eigvalsh(arr)
    else:
        eig = arr
    tol = 1e-12 * max(1.0, float(np.max(np.abs(eig))))
    if positive_definite and np.min(eig) <= tol:
        raise InvalidParameter(name, f"must be positive definite (smallest eigenvalue {np.min(eig):.3g})")
    if not positive_definite and np.min(eig) < -tol:
        raise InvalidParameter(name, f"must be positive semi-definite (smallest eigenvalue {np.min(eig):.3g})")
    if dim is not None and arr.shape[0] != dim:
        raise InvalidParameter(name, f"must have dimension {dim}, got {arr.shape[0]}")
    return arr


def choice(name: str, value, options) -> str:
    if not isinstance(value, str) or value.lower() not in options:
        raise InvalidParameter(name, f"must be one of {sorted(options)}, got {value!r}")
    return value.lower()
