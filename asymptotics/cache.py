"""On-disk cache of finished sweep points, and seeds derived from a point's parameters.

Each point is one JSON file named by a key: the SHA-256 of the canonical JSON of its parameters together with a
*code version*, ``"<package version>+<fingerprint>"``, where the fingerprint hashes the source files that produce
the numbers (:func:`code_fingerprint`): editing any of them (a fixed bug) changes every key, so a cache never serves
numbers of older code.

Several processes, on one machine or on several sharing a file system, may use one folder at once:

* files are written atomically (a temporary file in the same folder, fsync, ``os.replace``): a reader sees the
  complete file or nothing; two writers of the same point write the same bytes and the last rename wins;
* a temporary is named ``.<key>~<host>~<pid>~<random>.tmp``; a run sweeps only temporaries that are provably
  abandoned: those of a dead process on this host, or (other hosts, unparsable names) older than
  :data:`STALE_SECONDS`. A live writer's temporary is never touched;
* an entry that cannot be used (unreadable, not UTF-8, not JSON, the wrong shape, another point's parameters, a
  directory in place of a file) is reported with a :class:`CacheWarning` naming the file and recomputed (the new
  result replaces it when the path can be written).
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import math
import os
import re
import socket
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

from .errors import InvalidParameter

#: a temporary of another host (or with an unparsable name) older than this is abandoned: an atomic write takes
#: milliseconds, so an hour leaves a wide margin for slow shared file systems
STALE_SECONDS = 3600.0

#: modules of a package that schedule, store or report but compute no numbers: left out of the fingerprint
NON_NUMERICAL = frozenset({"cache.py", "engine.py", "errors.py"})

_TEMP_NAME = re.compile(r"~(?P<host>[^~/]*)~(?P<pid>\d+)~[^/]*\.tmp$")


class CacheWarning(UserWarning):
    """A cache entry could not be used (it is recomputed) or a result could not be stored."""


def package_version() -> str:
    try:
        return metadata.version("robustbias")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@functools.lru_cache(maxsize=None)
def code_fingerprint(*packages: str) -> str:
    """SHA-256 (16 hex digits) of the source of the given packages, computed once per process.

    ``packages``: importable names (``"asymptotics"``, ``"simulate"``) or paths of script files. Every ``*.py``
    file under each package folder (sorted relative paths and contents) enters the hash, except the modules in
    :data:`NON_NUMERICAL`. A package that cannot be located contributes its name only.
    """
    digest = hashlib.sha256()
    for package in sorted(set(packages or ("asymptotics",))):
        digest.update(f"[{package}]".encode())
        if os.path.isfile(package):                         # a script (a task defined in __main__)
            roots = [package]
        else:
            try:
                spec = importlib.util.find_spec(package)
            except (ImportError, ValueError):
                spec = None
            roots = list(spec.submodule_search_locations or []) if spec and spec.submodule_search_locations else []
            if not roots and spec is not None and spec.origin and os.path.isfile(spec.origin):
                roots = [spec.origin]                       # a single-module "package"
        for root in roots:
            root = Path(root)
            files = [root] if root.is_file() else sorted(root.rglob("*.py"))
            for path in files:
                if path.name in NON_NUMERICAL:
                    continue
                rel = path.name if root.is_file() else path.relative_to(root).as_posix()
                digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def code_version(*packages: str) -> str:
    """``"<package version>+<fingerprint of packages>"`` (default: the asymptotics package): the cache's version."""
    return f"{package_version()}+{code_fingerprint(*(packages or ('asymptotics',)))}"


def canonical(params: dict) -> str:
    """Canonical JSON of a parameter dict (sorted keys, floats as repr, numpy converted)."""
    return json.dumps(_plain(params), sort_keys=True, separators=(",", ":"))


def _plain(obj, keep_nonfinite: bool = False):
    """Plain JSON types. Non-finite floats become strings (keys) or stay floats (records, written as NaN/Infinity
    tokens that ``json`` reads back as floats: a cached record equals the fresh one)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v, keep_nonfinite) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, keep_nonfinite) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist(), keep_nonfinite)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (np.floating,)):
        obj = float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return obj if keep_nonfinite else repr(obj)
    if hasattr(obj, "to_dict"):                            # DataModel and result objects
        return _plain(obj.to_dict(), keep_nonfinite)
    if hasattr(obj, "name") and hasattr(obj, "kind"):      # Attack / Regularizer objects
        cov = getattr(obj, "covariance", None)
        return {"name": obj.name, "covariance": None if cov is None else _plain(cov, keep_nonfinite)}
    return obj


def _host() -> str:
    return re.sub(r"[~/\\\s]", "_", socket.gethostname()) or "host"


def _umask() -> int:
    """The process umask, read without changing it where the system says it (Linux ``/proc``)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)      # elsewhere: set and restore (the only portable way to read it)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode of a file created with ``open(path, "w")``: ``0o666 & ~umask`` (0644 with the usual umask 022)."""
    return 0o666 & ~_umask()


def atomic_write_bytes(path, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` atomically: a temporary file in the same folder, fsync, then ``os.replace``.

    The file gets the mode an ordinary ``open(path, "w")`` would give it (:func:`file_mode`), not ``mkstemp``'s 0600.

    The temporary is named after this host and process (see the module docstring), so that a concurrent run on
    the same folder can tell it from an abandoned one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}~{_host()}~{os.getpid()}~", suffix=".tmp")
    try:
        os.chmod(tmp, file_mode())          # mkstemp makes 0600; the result is an ordinary file (e.g. 0644)
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
    text = canonical(params) + "|" + (version or code_version())
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def seed_sequence(params: dict, base_seed: int = 0) -> np.random.SeedSequence:
    """A ``numpy.random.SeedSequence`` determined by a point's parameters and a base seed, not by worker or order.

    Parameters
    ----------
    params : dict
        The point's parameters (JSON-serialisable); key order does not matter.
    base_seed : int, default 0
        Root entropy mixed with the parameters.

    Returns
    -------
    numpy.random.SeedSequence

    Examples
    --------
    >>> import numpy as np
    >>> from asymptotics import seed_sequence
    >>> a = np.random.default_rng(seed_sequence({"alpha": 1.0, "eps": 0.1})).random()
    >>> b = np.random.default_rng(seed_sequence({"eps": 0.1, "alpha": 1.0})).random()
    >>> a == b
    True
    """
    digest = hashlib.sha256(canonical(params).encode()).digest()
    return np.random.SeedSequence([base_seed, *np.frombuffer(digest[:16], dtype=np.uint32).tolist()])


def usable_folder(name: str, folder) -> Path:
    """Create ``folder`` if needed and check that files can be written in it.

    Raises
    ------
    InvalidParameter(name) : the path is a file, lies under a file, cannot be created or written, or is not a
        valid path (too long, a NUL byte).
    """
    try:
        return _usable_folder(name, Path(folder))
    except (OSError, ValueError) as exc:
        if isinstance(exc, InvalidParameter):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidParameter(name, f"{str(folder)!r} cannot be used as a folder ({reason})") from None


def _usable_folder(name: str, path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise InvalidParameter(name, f"{str(path)!r} is a file, not a folder")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidParameter(name, f"{str(path)!r} lies under {str(parent)!r}, which is a file")
            break
    path.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=path, prefix=f".probe~{_host()}~{os.getpid()}~", suffix=".tmp")
    os.close(fd)
    os.unlink(probe)
    return path


def prepare_folder(cache, version: str) -> str | None:
    """Open (create) the cache folder, sweep abandoned temporaries, and return its path (None: no cache).

    Raises ``InvalidParameter("cache", ...)`` when the folder cannot be used (see :func:`usable_folder`).
    """
    if cache is None:
        return None
    store = PointCache(usable_folder("cache", cache), version)
    store.sweep_stray_temporaries()
    return str(store.folder)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True                  # exists under another user, or cannot tell: keep the file
    return True


def abandoned(path: Path, now: float | None = None) -> bool:
    """Whether a temporary is provably abandoned: its writer (this host) is dead, or it is older than
    :data:`STALE_SECONDS`."""
    match = _TEMP_NAME.search(path.name)
    if match and match["host"] == _host() and not _pid_alive(int(match["pid"])):
        return True
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return False
    return age > STALE_SECONDS


class _CorruptEntry(Exception):
    """Internal: why a cache file cannot be used."""


class PointCache:
    """A folder of finished points: ``get(params)`` -> record or None, ``put(params, record)`` (atomic)."""

    def __init__(self, folder, version: str | None = None):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidParameter("cache", f"cannot create the folder {str(self.folder)!r} "
                                            f"({exc.strerror or exc})") from None
        if not self.folder.is_dir():
            raise InvalidParameter("cache", f"{str(self.folder)!r} is not a folder")
        self.version = version or code_version()

    def path(self, params: dict) -> Path:
        return self.folder / f"{point_key(params, self.version)}.json"

    def get(self, params: dict):
        """The stored record of ``params``, or None (missing, or unusable: then a :class:`CacheWarning`)."""
        path = self.path(params)
        try:
            return self._read(path, params)
        except FileNotFoundError:
            return None
        except _CorruptEntry as exc:
            reason = str(exc)
        except OSError as exc:
            reason = exc.strerror or str(exc)
        warnings.warn(f"cache entry {path} is unusable ({reason}); recomputing the point", CacheWarning,
                      stacklevel=2)
        return None

    def _read(self, path: Path, params: dict):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _CorruptEntry("not UTF-8 text") from None
        try:
            entry = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise _CorruptEntry(f"not complete JSON: {str(exc)[:80]}") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("record"), dict):
            raise _CorruptEntry("not an object with a 'record' object")
        if entry.get("version") != self.version:
            raise _CorruptEntry("written by another code version")
        if "params" not in entry or canonical(entry["params"]) != canonical(params):
            raise _CorruptEntry("holds another point's parameters")
        record = entry["record"]
        if record.get("ok") is not True or not isinstance(record.get("result"), dict):
            raise _CorruptEntry("the record is not a successful result object")     # failures are never stored
        return record

    def put(self, params: dict, record: dict) -> Path | None:
        """Store ``record`` atomically; on a file-system error warn (:class:`CacheWarning`) and return None."""
        payload = json.dumps({"params": _plain(params), "version": self.version,
                              "record": _plain(record, keep_nonfinite=True)}).encode()
        path = self.path(params)
        try:
            return atomic_write_bytes(path, payload)
        except OSError as exc:
            warnings.warn(f"cannot store cache entry {path} ({exc.strerror or exc}); the point is not cached",
                          CacheWarning, stacklevel=2)
            return None

    def entries(self) -> list[Path]:
        return sorted(p for p in self.folder.glob("*.json") if not p.name.startswith("."))

    def sweep_stray_temporaries(self) -> int:
        """Remove the temporaries that are provably abandoned (see :func:`abandoned`); return how many."""
        removed = 0
        now = time.time()
        for p in self.folder.glob(".*.tmp"):
            if not abandoned(p, now):
                continue
            try:
                p.unlink()
                removed += 1
            except (FileNotFoundError, IsADirectoryError, PermissionError):
                pass
        return removed
