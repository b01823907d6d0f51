"""On-disk cache of finished sweep points, and seeds derived from a point's parameters.

Each point is one JSON file named by a key: the SHA-256 of the canonical JSON of its parameters together with the
package version, so a new version never reuses old numbers. Files are written atomically (temporary file in the
same folder, fsync, ``os.replace``): a killed process leaves either the complete file or nothing under the final
name (stray ``.tmp`` files are ignored and swept away by the next run).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np


def package_version() -> str:
    try:
        return metadata.version("robustbias")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def canonical(params: dict) -> str:
    """Canonical JSON of a parameter dict (sorted keys, floats as repr, numpy converted)."""
    return json.dumps(_plain(params), sort_keys=True, separators=(",", ":"))


def _plain(obj):
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return repr(obj)
    if hasattr(obj, "to_dict"):                            # DataModel and result objects
        return _plain(obj.to_dict())
    if hasattr(obj, "name") and hasattr(obj, "kind"):      # Attack / Regularizer objects
        cov = getattr(obj, "covariance", None)
        return {"name": obj.name, "covariance": None if cov is None else _plain(cov)}
    return obj


def atomic_write_bytes(path, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` atomically: a temporary file in the same folder, fsync, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def point_key(params: dict, version: str | None = None) -> str:
    text = canonical(params) + "|" + (version or package_version())
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def seed_sequence(params: dict, base_seed: int = 0) -> np.random.SeedSequence:
    """A SeedSequence determined by the point's parameters (and a base seed), not by worker or order."""
    digest = hashlib.sha256(canonical(params).encode()).digest()
    return np.random.SeedSequence([base_seed, *np.frombuffer(digest[:16], dtype=np.uint32).tolist()])


def prepare_folder(cache, version: str) -> str | None:
    """Open (create) the cache folder, sweep stray temporaries of killed runs, and return its path (None: no cache)."""
    if cache is None:
        return None
    store = PointCache(cache, version)
    store.sweep_stray_temporaries()
    return str(store.folder)


class PointCache:
    """A folder of finished points: ``get(params)`` -> record or None, ``put(params, record)`` (atomic)."""

    def __init__(self, folder, version: str | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.version = version or package_version()

    def path(self, params: dict) -> Path:
        return self.folder / f"{point_key(params, self.version)}.json"

    def get(self, params: dict):
        path = self.path(params)
        try:
            with open(path) as fh:
                return json.load(fh)["record"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return None

    def put(self, params: dict, record: dict) -> Path:
        payload = json.dumps({"params": _plain(params), "version": self.version, "record": _plain(record)}).encode()
        return atomic_write_bytes(self.path(params), payload)

    def entries(self) -> list[Path]:
        return sorted(p for p in self.folder.glob("*.json") if not p.name.startswith("."))

    def sweep_stray_temporaries(self) -> int:
        stray = list(self.folder.glob(".*.tmp"))
        for p in stray:
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        return len(stray)
