r"""Hand-built networks computing the 3-sparse parity (Merrill et al. 2023, Sec. 3), embedded in n inputs.

With z = (x_{S_1}, x_{S_2}, x_{S_3}) the relevant bits and sigma = relu:

* DNF (Prop. 1, 2^k units): one AND unit per pattern s in {+-1}^k, h_s = sigma(s . z - (k - 1)) (= 1 iff z = s,
  else 0), output weight prod(s). f(x) = parity exactly.
* Prop. 2 (6 units): h1 = sigma(-z1 - z2 + 10 z3 - 9), h2 = sigma(-z1 - z2 + z3 - 2), h3 = sigma(z1 + z2 + z3 - 2),
  h4 = sigma(z1 - z2 - 10 z3 - 9), h5 = sigma(-z1 + z2 - z3 - 2), h6 = sigma(z1 - z2 - z3 - 2); output
  -h1 + 10 h2 + 10 h3 - h4 + 10 h5 + 10 h6 (-1 on odd patterns, 7 or 10 on even ones).
* Prop. 3 (4 units), X = z1 + z2 + z3: h1 = 1 (zero weights, bias 1), h2 = sigma(X - 1), h3 = sigma(X + 1),
  h4 = sigma(-X - 1); output h1 + 2 h2 - h3 - h4 = parity exactly.

Weights on the irrelevant coordinates are 0.
"""
from __future__ import annotations

import itertools

import numpy as np

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer

from .model import ParityMLP

PROP2_WEIGHTS = np.array([[-1, -1, 10], [-1, -1, 1], [1, 1, 1], [1, -1, -10], [-1, 1, -1], [1, -1, -1]], float)
PROP2_BIAS = np.array([-9, -2, -2, -9, -2, -2], float)
PROP2_READOUT = np.array([-1, 10, 10, -1, 10, 10], float)
PROP3_WEIGHTS = np.array([[0, 0, 0], [1, 1, 1], [1, 1, 1], [-1, -1, -1]], float)
PROP3_BIAS = np.array([1, -1, 1, -1], float)
PROP3_READOUT = np.array([1, 2, -1, -1], float)


def _embed(weights: np.ndarray, bias: np.ndarray, readout: np.ndarray, n_bits: int, relevant) -> ParityMLP:
    k = weights.shape[1]
    integer("n_bits", n_bits, low=k)
    relevant = tuple(range(k)) if relevant is None else tuple(int(i) for i in relevant)
    if len(relevant) != k or len(set(relevant)) != k or not all(0 <= i < n_bits for i in relevant):
        raise InvalidParameter("relevant", f"must be {k} distinct indices in [0, {n_bits}), got {relevant}")
    full = np.zeros((weights.shape[0], n_bits))
    full[:, list(relevant)] = weights
    return ParityMLP(n_bits, weights.shape[0]).load_parameters(full, bias, readout)


def dnf_network(k: int = 3, n_bits: int = 40, relevant=None) -> ParityMLP:
    """The 2^k-unit DNF network (Prop. 1): one AND unit per pattern of the k relevant bits.

    Parameters
    ----------
    k : int, default 3
        Parity size.
    n_bits : int, default 40
        Input dimension n.
    relevant : sequence of int, optional
        The hidden set S (default the first k coordinates).

    Returns
    -------
    ParityMLP

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.handbuilt import dnf_network
    >>> from deep.grokking.model import sign
    >>> net = dnf_network(k=3, n_bits=6)
    >>> bool((sign(net(data.x_test)) == data.y_test).all())
    True
    """
    integer("k", k, low=1)
    patterns = np.array(list(itertools.product((-1.0, 1.0), repeat=k)))
    return _embed(patterns, np.full(len(patterns), -(k - 1.0)), patterns.prod(1), n_bits, relevant)


def prop2_network(n_bits: int = 40, relevant=None) -> ParityMLP:
    """The 6-unit modified DNF of Prop. 2 (3-sparse parity).

    Parameters
    ----------
    n_bits : int, default 40
        Input dimension n.
    relevant : sequence of int, optional
        The hidden set S (default the first k coordinates).

    Returns
    -------
    ParityMLP

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.handbuilt import prop2_network
    >>> from deep.grokking.model import sign
    >>> bool((sign(prop2_network(n_bits=6)(data.x_test)) == data.y_test).all())
    True
    """
    return _embed(PROP2_WEIGHTS, PROP2_BIAS, PROP2_READOUT, n_bits, relevant)


def prop3_network(n_bits: int = 40, relevant=None) -> ParityMLP:
    """The 4-unit network of Prop. 3 (3-sparse parity; not found by SGD in the paper).

    Parameters
    ----------
    n_bits : int, default 40
        Input dimension n.
    relevant : sequence of int, optional
        The hidden set S (default the first k coordinates).

    Returns
    -------
    ParityMLP

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.handbuilt import prop3_network
    >>> from deep.grokking.model import sign
    >>> bool((sign(prop3_network(n_bits=6)(data.x_test)) == data.y_test).all())
    True
    """
    return _embed(PROP3_WEIGHTS, PROP3_BIAS, PROP3_READOUT, n_bits, relevant)
