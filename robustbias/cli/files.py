"""Files the command line reads and writes, checked before any work: a bad one is an ``InvalidParameter`` naming the
option and the path (the CLI prints it as one line and exits with status 2).

* :func:`load_labelled_data` — an ``.npz`` archive with a real, finite matrix ``X`` (n, d) and labels ``y`` (n,)
  in {-1, +1};
* :func:`output_folder` — a folder to create or reuse (``--cache``, ``--out``);
* :func:`output_file` — a file to write (``--plot``): not a folder, in a folder that can be written, a known image
  format.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from asymptotics.cache import usable_folder
from asymptotics.errors import InvalidParameter

#: image formats matplotlib writes without extra packages (an empty suffix means png)
IMAGE_SUFFIXES = frozenset({"", ".png", ".pdf", ".svg", ".svgz", ".jpg", ".jpeg", ".eps", ".ps", ".tif",
                            ".tiff", ".webp", ".pgf", ".raw", ".rgba"})


def load_labelled_data(option: str, path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``X`` (n, d) and ``y`` (n,) from the ``.npz`` file ``path``.

    Returns
    -------
    X, y : float64 arrays, X C-contiguous, y in {-1.0, +1.0}

    Raises
    ------
    InvalidParameter(option) : the file is missing or unreadable, not an npz archive (empty, truncated, a bare
        ``.npy`` array, pickled objects), lacks ``X`` or ``y``, or holds arrays of the wrong type (complex, strings),
        shape (X not 2-D, y not (n,), no rows or columns), with NaN/inf, or labels outside {-1, +1}.
    """
    name = str(path)

    def bad(message):
        return InvalidParameter(option, f"{name!r}: {message}")

    try:
        archive = np.load(name, allow_pickle=False)
    except FileNotFoundError:
        raise bad("no such file") from None
    except IsADirectoryError:
        raise bad("is a folder, not an .npz file") from None
    except OSError as exc:
        raise bad(f"cannot read it ({exc.strerror or exc})") from None
    except Exception as exc:                      # numpy/zipfile report a malformed file in many ways
        raise bad(f"not a readable .npz archive ({_reason(exc)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise bad("holds a single array (.npy format); save X and y with numpy.savez")
    with archive:
        missing = [k for k in ("X", "y") if k not in archive.files]
        if missing:
            raise bad(f"must hold arrays 'X' and 'y'; missing {missing}, found {sorted(archive.files)}")
        X, y = (_member(archive, key, bad) for key in ("X", "y"))
    X = _real(X, "X", bad)
    y = _real(y, "y", bad)
    if X.ndim != 2 or 0 in X.shape:
        raise bad(f"X must be a non-empty 2-D array (n, d), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise bad(f"y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
    if not np.all(np.isfinite(X)):
        raise bad("X contains NaN or inf")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        odd = np.unique(y[~np.isin(y, (-1.0, 1.0))])[:3]
        raise bad(f"labels y must be -1 or +1, found {odd.tolist()}")
    return np.ascontiguousarray(X), y


def _member(archive, key, bad) -> np.ndarray:
    try:
        value = archive[key]
    except Exception as exc:                      # truncated member, object array, bad header...
        raise bad(f"cannot read array {key!r} ({_reason(exc)})") from None
    if not isinstance(value, np.ndarray):         # numpy hands back raw bytes for a member that is not .npy
        raise bad(f"member {key!r} is not a numpy array")
    return value


def _real(a: np.ndarray, key: str, bad) -> np.ndarray:
    if np.iscomplexobj(a):
        raise bad(f"{key} must be real, got complex values ({a.dtype})")
    if a.dtype.kind not in "biuf":
        raise bad(f"{key} must be numeric, got dtype {a.dtype}")
    return np.asarray(a, dtype=np.float64)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:100]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def output_folder(option: str, path) -> str:
    """Create or reuse a folder for output; see :func:`asymptotics.cache.usable_folder`."""
    return str(usable_folder(option, path))


def output_file(option: str, path) -> str:
    """Check that ``path`` can be written as an image: a known suffix, not a folder, in a writable folder, a valid
    name (a probe file is created and removed when none exists yet)."""
    p = Path(path)
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise InvalidParameter(option, f"{str(p)!r}: unknown image format {p.suffix!r}; use .png, .pdf or .svg")
    if p.name in ("", ".", ".."):
        raise InvalidParameter(option, f"{str(p)!r} does not name a file")
    usable_folder(option, p.parent if str(p.parent) else ".")
    try:
        if p.is_dir():
            raise InvalidParameter(option, f"{str(p)!r} is a folder, not a file")
        if not p.exists():
            with open(p, "xb"):
                pass
            p.unlink()
    except (OSError, ValueError) as exc:
        if isinstance(exc, InvalidParameter):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidParameter(option, f"{str(p)!r} cannot be written ({reason})") from None
    return str(p)
