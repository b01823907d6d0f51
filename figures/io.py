"""Saving figures and the data behind them (atomic writes, numpy-aware JSON)."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from asymptotics.cache import atomic_write_bytes, file_mode, package_version  # noqa: F401  (re-exported)


def to_jsonable(obj):
    """Convert numpy arrays/scalars and dataclass-like objects to plain JSON types (NaN -> None)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        return None if math.isnan(x) or math.isinf(x) else x
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    return obj


def write_json(path: Path, data) -> Path:
    return atomic_write_bytes(Path(path), json.dumps(to_jsonable(data), indent=1).encode())


#: image formats a figure can be written in (``figures.make(format=...)``, ``robustbias figures make --format``)
FORMATS = ("png", "pdf", "svg")


def parse_formats(format) -> tuple[str, ...]:
    """``"png"``, ``"png,pdf"`` or ``["png", "svg"]`` -> a tuple of distinct formats in :data:`FORMATS`.

    Raises
    ------
    InvalidParameter("format") : empty, not a string or a sequence of strings, or a format not in :data:`FORMATS`.
    """
    from asymptotics.errors import InvalidParameter

    if isinstance(format, str):
        items = format.split(",")
    elif isinstance(format, (list, tuple)) and all(isinstance(f, str) for f in format):
        items = list(format)
    else:
        raise InvalidParameter("format", f"must be a string like 'png,pdf' or a list of formats, got {format!r}")
    items = [f.strip().lower().lstrip(".") for f in items]
    bad = [f for f in items if f not in FORMATS]
    if not items or bad or "" in items:
        raise InvalidParameter("format", f"must be one or more of {', '.join(FORMATS)} (comma-separated), got "
                                         f"{format!r}")
    return tuple(dict.fromkeys(items))


def save_figure(fig, path: Path, dpi: int = 150, *, close: bool = True) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) atomically, readable like any file the user creates
    (mode ``0o666 & ~umask``, e.g. 0644); close the figure unless ``close=False``."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    try:
        os.chmod(tmp, file_mode())
        os.close(fd)
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if close:
            plt.close(fig)
    return path


def save_figures(fig, stem: Path, formats=("png",), dpi: int = 150) -> tuple[Path, ...]:
    """Write ``fig`` as ``stem.<format>`` for each of ``formats`` (see :func:`parse_formats`), then close it."""
    import matplotlib.pyplot as plt

    stem = Path(stem)
    try:
        return tuple(save_figure(fig, stem.with_name(f"{stem.name}.{f}"), dpi=dpi, close=False)
                     for f in parse_formats(formats))
    finally:
        plt.close(fig)
