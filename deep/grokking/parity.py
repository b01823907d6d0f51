r"""(n, k)-sparse parity data: x uniform on {-1, +1}^n, y = prod_{i in S} x_i with ``|S| = k``.

The training set (``n_train`` points) is drawn from ``seed``, the test set from ``test_seed`` (fixed across seeds as in
the paper, but with 2,000 points by default instead of 100 so that test accuracy is not granular at 1 %).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer


@dataclass(frozen=True)
class SparseParityData:
    """Train and test sets of a sparse parity task (float32 tensors of +-1), from :func:`sparse_parity_dataset`.

    Attributes
    ----------
    x_train, y_train : torch.Tensor
        Training inputs (N, n) and labels (N,).
    x_test, y_test : torch.Tensor
        Test inputs (M, n) and labels (M,).
    relevant : tuple of int
        The k hidden coordinates S.

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> data.x_train.shape, data.relevant
    (torch.Size([64, 6]), (0, 1, 2))
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    relevant: tuple

    @property
    def n_bits(self) -> int:
        return int(self.x_train.shape[1])

    def to(self, device) -> "SparseParityData":
        return SparseParityData(self.x_train.to(device), self.y_train.to(device), self.x_test.to(device),
                                self.y_test.to(device), self.relevant)

    def to_dict(self) -> dict:
        return {"n_bits": self.n_bits, "n_train": int(self.x_train.shape[0]), "n_test": int(self.x_test.shape[0]),
                "relevant": list(self.relevant)}


def parity_labels(x, relevant) -> np.ndarray | torch.Tensor:
    """y = prod_{i in relevant} x_i for x in {-1, +1}^{(N, n)} (numpy or torch, same type back).

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor
        Inputs of +-1, shape (N, n).
    relevant : sequence of int
        The hidden set S.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shape (N,).

    Examples
    --------
    >>> import numpy as np
    >>> from deep.grokking.parity import parity_labels
    >>> parity_labels(np.array([[1.0, -1.0, -1.0], [1.0, 1.0, -1.0]]), [0, 1])
    array([-1.,  1.])
    """
    idx = list(relevant)
    if isinstance(x, torch.Tensor):
        return x[:, idx].prod(dim=1)
    return np.asarray(x)[:, idx].prod(axis=1)


def random_signs(num: int, n_bits: int, rng: np.random.Generator) -> np.ndarray:
    """num x n_bits matrix of independent uniform +-1 (float32).

    Parameters
    ----------
    num : int
        Rows.
    n_bits : int
        Columns.
    rng : numpy.random.Generator
        The source.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from deep.grokking.parity import random_signs
    >>> random_signs(2, 3, np.random.default_rng(0))
    array([[ 1.,  1.,  1.],
           [-1., -1., -1.]], dtype=float32)
    """
    return (2.0 * rng.integers(0, 2, size=(num, n_bits)) - 1.0).astype(np.float32)


def sparse_parity_dataset(n_bits: int = 40, k: int = 3, n_train: int = 1000, n_test: int = 2000, *, seed: int = 0,
                          test_seed: int = 2001, relevant=None) -> SparseParityData:
    """Draw a sparse-parity train set (from ``seed``) and test set (from ``test_seed``).

    Parameters
    ----------
    n_bits, k : int
        Input dimension n and parity size k (1 <= k <= n).
    n_train, n_test : int
        Sizes of the fixed training set and of the test set.
    seed, test_seed : int
        Seeds of ``numpy.random.default_rng`` for the two sets.
    relevant : sequence of int, optional
        The hidden set S; default the first k coordinates, as in the authors' code.

    Returns
    -------
    SparseParityData

    Examples
    --------
    >>> data = sparse_parity_dataset(10, 2, 8, 4, seed=1)
    >>> bool(((data.x_train[:, 0] * data.x_train[:, 1]) == data.y_train).all())
    True
    """
    integer("n_bits", n_bits, low=1)
    integer("k", k, low=1)
    if k > n_bits:
        raise InvalidParameter("k", f"must be <= n_bits = {n_bits}, got {k}")
    integer("n_train", n_train, low=1)
    integer("n_test", n_test, low=1)
    relevant = tuple(range(k)) if relevant is None else tuple(int(i) for i in relevant)
    if len(relevant) != k or len(set(relevant)) != k or not all(0 <= i < n_bits for i in relevant):
        raise InvalidParameter("relevant", f"must be {k} distinct indices in [0, {n_bits}), got {relevant}")
    x_train = random_signs(n_train, n_bits, np.random.default_rng(seed))
    x_test = random_signs(n_test, n_bits, np.random.default_rng(test_seed))
    to_t = torch.from_numpy
    return SparseParityData(to_t(x_train), to_t(parity_labels(x_train, relevant)), to_t(x_test),
                            to_t(parity_labels(x_test, relevant)), relevant)


def sensitivity(predict, x: torch.Tensor) -> float:
    """Average sensitivity n * P(flipping one coordinate changes predict(x)); predict maps (N, n) -> (N,) signs.

    The target k-sparse parity has sensitivity exactly k.

    Parameters
    ----------
    predict : callable
        ``(N, n) -> (N,)`` signs.
    x : torch.Tensor
        Inputs of +-1, shape (N, n).

    Returns
    -------
    float

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.parity import parity_labels, sensitivity
    >>> sensitivity(lambda z: parity_labels(z, data.relevant), data.x_test)
    3.0
    """
    base = predict(x)
    changed = 0.0
    for i in range(x.shape[1]):
        flipped = x.clone()
        flipped[:, i] = -flipped[:, i]
        changed += float((predict(flipped) != base).to(torch.float64).mean())
    return changed
