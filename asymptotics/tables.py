"""Results as tables: the shared code behind ``to_frame()`` (pandas) and ``to_xarray()`` (xarray) of
:class:`~asymptotics.SweepResult`, :class:`~asymptotics.GridResult` and :class:`simulate.ErmResult`.

pandas and xarray are optional (``pip install 'robustbias[tables]'``); they are imported only when a table is asked
for, and a missing one is an ``ImportError`` that says how to install it.
"""
from __future__ import annotations

import json
import math
import numbers

import numpy as np

_INSTALL = "pip install 'robustbias[tables]' (pandas and xarray)"


def require(module: str):
    """Import ``pandas`` or ``xarray``, or raise an ``ImportError`` naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"this export needs {module}: {_INSTALL}") from exc


def is_scalar(value) -> bool:
    """A real number or a bool (numpy scalars included): what a table column of floats can hold."""
    return isinstance(value, (numbers.Real, np.bool_)) and not isinstance(value, (str, bytes))


def scalar_fields(rows) -> list[str]:
    """Keys holding a scalar number or bool in at least one row (``None`` marks a failed row), in first-seen order;
    a key holding anything else (a dict, a string, a list) in some row is left out."""
    keys: dict[str, bool] = {}
    for row in rows:
        if row is None:
            continue
        for k, v in row.items():
            ok = is_scalar(v) or v is None
            keys[k] = keys.get(k, True) and ok
    return [k for k, ok in keys.items() if ok and any(row is not None and is_scalar(row.get(k)) for row in rows)]


def column(rows, key: str) -> np.ndarray:
    """``row[key]`` for every row, NaN where a row is ``None`` (failed) or lacks the key; ints and bools keep their
    dtype when no value is missing."""
    values = [None if row is None else row.get(key) for row in rows]
    if any(v is None for v in values):
        return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    arr = np.asarray(values)
    return arr.astype(np.float64) if arr.dtype.kind not in "biuf" else arr


def json_attr(value) -> str:
    """A JSON string for an xarray attribute (netCDF attributes hold only strings and numbers)."""
    from numpy import ndarray

    def default(obj):
        if isinstance(obj, ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
        return str(obj)

    return json.dumps(value, default=default, sort_keys=True)
