r"""Datasets for the network experiments -- nothing is ever downloaded.

* :func:`digits_binary`, :func:`digits_multiclass`: scikit-learn's bundled 8 x 8 digits (1797 images, pixel values
  0..16 scaled to [0, 1]); binary pairs get labels ``-1`` (first digit) / ``+1`` (second digit).
* :func:`gaussian_binary`: ``x ~ N(0, I_d)``, teacher ``w* ~ N(0, I_d)`` (or given), ``y = sign(<w*, x>)`` (ties -> +1),
  optionally only points with ``|<w*, x>| / ||w*|| >= margin`` kept (rejection sampling).
* :func:`load_mnist`, :func:`load_cifar10`: local copies in their standard formats (MNIST idx-ubyte files, optionally
  gzipped; CIFAR-10 python pickle batches), pixels scaled to [0, 1].

Splits and samples use an explicit ``torch.Generator`` (seeded through ``seed``). Every loader returns a
:class:`Dataset` of tensors on ``device`` with the requested dtype.
"""
from __future__ import annotations

import gzip
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative, real

from ..device import default_device


@dataclass(frozen=True)
class Dataset:
    """Train/test tensors of one data set.

    Attributes
    ----------
    X_train, y_train : torch.Tensor
        Training inputs and labels.
    X_test, y_test : torch.Tensor
        Test inputs and labels.
    labels : {"pm1", "index"}
        Binary labels +-1 (float) or class indices (int64).
    name : str
        A short description (e.g. "digits2v7").
    n_features : int
        Input dimension (elements per sample).

    Examples
    --------
    >>> from deep.data import gaussian_binary
    >>> data = gaussian_binary(20, 5, n_test=10, seed=0)
    >>> data.X_train.shape, data.X_test.shape, data.labels, data.n_features
    (torch.Size([20, 5]), torch.Size([10, 5]), 'pm1', 5)
    """

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    labels: str
    name: str

    @property
    def n_features(self) -> int:
        return int(self.X_train[0].numel())

    def to(self, device=None, dtype=None) -> "Dataset":
        conv = lambda t, floating: t.to(device=device, dtype=dtype if floating else None)  # noqa: E731
        return Dataset(conv(self.X_train, True), conv(self.y_train, self.labels == "pm1"), conv(self.X_test, True),
                       conv(self.y_test, self.labels == "pm1"), self.labels, self.name)


def _split(X: np.ndarray, y: np.ndarray, n_train, n_test, seed: int, shuffle: bool = True):
    n = X.shape[0]
    order = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed))).cpu().numpy() if shuffle else np.arange(n)
    n_train = n if n_train is None else integer("n_train", n_train, low=1)
    if n_train > n:
        raise InvalidParameter("n_train", f"only {n} samples available, got {n_train}")
    rest = n - n_train
    n_test = rest if n_test is None else integer("n_test", n_test, low=0)
    if n_test > rest:
        raise InvalidParameter("n_test", f"only {rest} samples left after n_train = {n_train}, got {n_test}")
    tr, te = order[:n_train], order[n_train:n_train + n_test]
    return X[tr], y[tr], X[te], y[te]


def _tensors(parts, labels, name, device, dtype):
    device = default_device(device)
    X_tr, y_tr, X_te, y_te = parts
    ydt = dtype if labels == "pm1" else torch.long
    mk = lambda a, dt: torch.as_tensor(np.ascontiguousarray(a)).to(device=device, dtype=dt)  # noqa: E731
    return Dataset(mk(X_tr, dtype), mk(y_tr, ydt), mk(X_te, dtype), mk(y_te, ydt), labels, name)


def _digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the deep extra
        raise ImportError("the digits data needs scikit-learn: pip install 'robustbias[deep]'") from exc
    bunch = load_digits()
    return bunch.data.astype(np.float64) / 16.0, bunch.target.astype(np.int64)


def digits_binary(pair=(2, 7), n_train: int | None = None, n_test: int | None = None, seed: int = 0,
                  flatten: bool = True, device=None, dtype=torch.float32) -> Dataset:
    """Two digits of scikit-learn's digits, labels -1 (``pair[0]``) / +1 (``pair[1]``), pixels in [0, 1].

    ``n_train`` defaults to 70 % of the pair's samples (about 250 of 357 for 2 vs 7), ``n_test`` to the rest.
    Images are ``(n, 64)`` (``flatten``) or ``(n, 1, 8, 8)``.

    Parameters
    ----------
    pair : (int, int), default (2, 7)
        The two digits.
    n_train : int, optional
        Training samples (default 70 % of the pair's).
    n_test : int, optional
        Test samples (default: the rest).
    seed : int, default 0
        Seed of the split.
    flatten : bool, default True
        Images ``(n, 64)`` or ``(n, 1, 8, 8)``.
    device : str or torch.device, optional
        Where the tensors live.
    dtype : torch.dtype, default torch.float32
        Dtype of the inputs and labels.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> from deep.data import digits_binary
    >>> data = digits_binary((0, 1), device="cpu")
    >>> float(data.X_train.max()) <= 1.0, sorted(set(data.y_train.tolist()))
    (True, [-1.0, 1.0])
    """
    a, b = (integer("pair", v, low=0) for v in pair)
    if a == b or max(a, b) > 9:
        raise InvalidParameter("pair", f"must be two different digits in 0..9, got {pair!r}")
    X, t = _digits()
    keep = (t == a) | (t == b)
    X, y = X[keep], np.where(t[keep] == a, -1.0, 1.0)
    if n_train is None:
        n_train = int(round(0.7 * X.shape[0]))
    if not flatten:
        X = X.reshape(-1, 1, 8, 8)
    return _tensors(_split(X, y, n_train, n_test, seed), "pm1", f"digits{a}v{b}", device, dtype)


def digits_multiclass(n_train: int | None = None, n_test: int | None = None, seed: int = 0, flatten: bool = True,
                      device=None, dtype=torch.float32) -> Dataset:
    """All ten digits of scikit-learn's bundled digits, class-index labels, pixels in [0, 1].

    Parameters
    ----------
    n_train : int, optional
        Training samples (default 70 % of 1797).
    n_test : int, optional
        Test samples (default: the rest).
    seed : int, default 0
        Seed of the split.
    flatten : bool, default True
        Images ``(n, 64)`` or ``(n, 1, 8, 8)``.
    device : str or torch.device, optional
        Where the tensors live (default :func:`deep.device.default_device`).
    dtype : torch.dtype, default torch.float32
        Dtype of the inputs (and of +-1 labels).

    Returns
    -------
    Dataset

    Examples
    --------
    >>> from deep.data import digits_multiclass
    >>> data = digits_multiclass(device="cpu")
    >>> data.X_train.shape, data.labels, sorted(set(data.y_train.tolist()))
    (torch.Size([1258, 64]), 'index', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    X, t = _digits()
    if n_train is None:
        n_train = int(round(0.7 * X.shape[0]))
    if not flatten:
        X = X.reshape(-1, 1, 8, 8)
    return _tensors(_split(X, t, n_train, n_test, seed), "index", "digits10", device, dtype)


def gaussian_binary(n_train: int, d: int, n_test: int = 1000, teacher=None, margin: float = 0.0, seed: int = 0,
                    device=None, dtype=torch.float32) -> Dataset:
    """Gaussian inputs labelled by a linear teacher (see the module docstring); returns train and test sets.

    Parameters
    ----------
    n_train : int
        Training samples.
    d : int
        Dimension.
    n_test : int, default 1000
        Test samples.
    teacher : array_like, optional
        ``w*`` of shape (d,) (default drawn from N(0, I_d)).
    margin : float, default 0.0
        Keep only points with ``|<w*, x>| / ||w*|| >= margin``.
    seed : int, default 0
        Seed of the teacher and the samples.
    device : str or torch.device, optional
        Where the tensors live (default :func:`deep.device.default_device`).
    dtype : torch.dtype, default torch.float32
        Dtype of the inputs (and of +-1 labels).

    Returns
    -------
    Dataset
        Labels +-1.

    Examples
    --------
    >>> import torch
    >>> from deep.data import gaussian_binary
    >>> data = gaussian_binary(50, 3, n_test=10, teacher=[1.0, 0.0, 0.0], margin=0.5, seed=0, device="cpu")
    >>> bool((data.y_train * data.X_train[:, 0] >= 0.5).all())
    True
    """
    integer("n_train", n_train, low=1)
    integer("d", d, low=1)
    integer("n_test", n_test, low=0)
    nonnegative("margin", margin)
    gen = torch.Generator().manual_seed(int(seed))
    if teacher is None:
        w = torch.randn(d, generator=gen, dtype=torch.float64)
    else:
        w = torch.as_tensor(np.asarray(teacher, dtype=np.float64))
        if w.shape != (d,):
            raise InvalidParameter("teacher", f"must have shape ({d},), got {tuple(w.shape)}")
    w_unit = w / w.norm()
    need = n_train + n_test
    xs = []
    got = 0
    for _ in range(1000):
        x = torch.randn(max(need, 64), d, generator=gen, dtype=torch.float64)
        x = x[(x @ w_unit).abs() >= margin]
        xs.append(x)
        got += x.shape[0]
        if got >= need:
            break
    else:
        raise InvalidParameter("margin", f"margin {margin} rejects almost every Gaussian point")
    X = torch.cat(xs)[:need].cpu().numpy()
    y = np.where(X @ w.cpu().numpy() >= 0, 1.0, -1.0)
    parts = (X[:n_train], y[:n_train], X[n_train:], y[n_train:])
    return _tensors(parts, "pm1", f"gaussian{d}", device, dtype)


# ---- local standard formats -------------------------------------------------------------------------------------
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
              0x0E: np.dtype(">f8")}


def read_idx(path) -> np.ndarray:
    """Read an idx file (``.gz`` allowed): magic ``0 0 type ndim``, big-endian int32 sizes, then the data.

    Parameters
    ----------
    path : str or path
        The file.

    Returns
    -------
    numpy.ndarray
        With the shape and dtype of the header.

    Examples
    --------
    >>> import pathlib, struct, tempfile
    >>> import numpy as np
    >>> def write_idx(path, a):                              # the idx format: magic, big-endian sizes, uint8 data
    ...     path.write_bytes(bytes([0, 0, 0x08, a.ndim]) + struct.pack(f">{a.ndim}i", *a.shape) + a.astype(np.uint8).tobytes())
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> write_idx(root / "t10k-images-idx3-ubyte", np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256)
    >>> write_idx(root / "t10k-labels-idx1-ubyte", np.array([7, 2, 1]))
    >>> from deep.data import read_idx
    >>> read_idx(root / "t10k-labels-idx1-ubyte")
    array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise InvalidParameter("path", f"{path} is not an idx file")
    ndim = raw[3]
    shape = struct.unpack(">" + "i" * ndim, raw[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise InvalidParameter("path", f"{path}: header says {shape}, found {data.size} values")
    return data.reshape(shape)


def _find(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (root / name).exists():
            return root / name
    raise FileNotFoundError(f"{stem}[.gz] not found in {root} (no downloads: place the MNIST files there)")


def load_mnist(root, train: bool = True, digits=None, n: int | None = None, flatten: bool = True, device=None,
               dtype=torch.float32):
    """MNIST from ``root`` (files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-...``, optionally
    ``.gz``; also looked up in ``root/MNIST/raw``). Nothing is downloaded. Labels are class indices, or +-1 when
    ``digits=(a, b)`` selects a pair (first ``n`` in file order, as the Price et al. code does).

    Parameters
    ----------
    root : str or path
        Folder of the idx files.
    train : bool, default True
        The training files (else ``t10k``).
    digits : (int, int), optional
        A pair of digits: labels -1 (first) / +1 (second).
    n : int, optional
        Keep the first ``n`` samples.
    flatten : bool, default True
        Images ``(n, 784)`` or ``(n, 1, 28, 28)``.
    device : str or torch.device, optional
        Where the tensors live (default :func:`deep.device.default_device`).
    dtype : torch.dtype, default torch.float32
        Dtype of the inputs (and of +-1 labels).

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        ``X`` (pixels / 255) and ``y``.

    Examples
    --------
    >>> import pathlib, struct, tempfile
    >>> import numpy as np
    >>> def write_idx(path, a):                              # the idx format: magic, big-endian sizes, uint8 data
    ...     path.write_bytes(bytes([0, 0, 0x08, a.ndim]) + struct.pack(f">{a.ndim}i", *a.shape) + a.astype(np.uint8).tobytes())
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> write_idx(root / "t10k-images-idx3-ubyte", np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256)
    >>> write_idx(root / "t10k-labels-idx1-ubyte", np.array([7, 2, 1]))
    >>> from deep.data import load_mnist
    >>> X, y = load_mnist(root, train=False)
    >>> X.shape, y
    (torch.Size([3, 784]), tensor([7, 2, 1]))
    >>> load_mnist(root, train=False, digits=(2, 7))[1]
    tensor([ 1., -1.])
    """
    root = Path(root)
    if not (root / "train-images-idx3-ubyte").exists() and (root / "MNIST" / "raw").is_dir():
        root = root / "MNIST" / "raw"
    prefix = "train" if train else "t10k"
    images = read_idx(_find(root, f"{prefix}-images-idx3-ubyte")).astype(np.float64) / 255.0
    labels = read_idx(_find(root, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise InvalidParameter("root", f"{images.shape[0]} images but {labels.shape[0]} labels")
    return _select(images[:, None], labels, digits, n, flatten, device, dtype)


def load_cifar10(root, train: bool = True, classes=None, n: int | None = None, flatten: bool = False, device=None,
                 dtype=torch.float32):
    """CIFAR-10 from the python pickle batches in ``root`` or ``root/cifar-10-batches-py`` (``data_batch_1..5``,
    ``test_batch``; each a dict with ``b"data"`` (N, 3072) uint8 and ``b"labels"``). Nothing is downloaded.

    Parameters
    ----------
    root : str or path
        Folder of the batches.
    train : bool, default True
        The training batches (else ``test_batch``).
    classes : (int, int), optional
        A pair of classes: labels -1 / +1.
    n : int, optional
        Keep the first ``n`` samples.
    flatten : bool, default False
        Images ``(N, 3072)`` or ``(N, 3, 32, 32)``.
    device : str or torch.device, optional
        Where the tensors live (default :func:`deep.device.default_device`).
    dtype : torch.dtype, default torch.float32
        Dtype of the inputs (and of +-1 labels).

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        ``X`` (pixels / 255) and ``y``.

    Examples
    --------
    >>> import pathlib, pickle, tempfile
    >>> import numpy as np
    >>> from deep.data import load_cifar10
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with open(root / "test_batch", "wb") as fh:
    ...     pickle.dump({b"data": np.zeros((2, 3072), dtype=np.uint8), b"labels": [3, 5]}, fh)
    >>> X, y = load_cifar10(root, train=False)
    >>> X.shape, y
    (torch.Size([2, 3, 32, 32]), tensor([3, 5]))
    """
    root = Path(root)
    if (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    xs, ys = [], []
    for name in names:
        path = root / name
        if not path.exists():
            if train and xs:
                break          # fewer than five training batches present: use those found
            raise FileNotFoundError(f"{path} not found (no downloads: place the CIFAR-10 python batches there)")
        with open(path, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        xs.append(data.reshape(-1, 3, 32, 32).astype(np.float64) / 255.0)
        ys.append(np.asarray(batch[b"labels"], dtype=np.int64))
    return _select(np.concatenate(xs), np.concatenate(ys), classes, n, flatten, device, dtype)


def _select(images, labels, pair, n, flatten, device, dtype):
    device = default_device(device)
    if pair is not None:
        a, b = (int(v) for v in pair)
        keep = (labels == a) | (labels == b)
        images, labels = images[keep], np.where(labels[keep] == a, -1.0, 1.0)
    if n is not None:
        integer("n", n, low=1)
        images, labels = images[:n], labels[:n]
    if flatten:
        images = images.reshape(images.shape[0], -1)
    X = torch.as_tensor(np.ascontiguousarray(images)).to(device=device, dtype=dtype)
    y = torch.as_tensor(labels).to(device=device, dtype=dtype if pair is not None else torch.long)
    return X, y
