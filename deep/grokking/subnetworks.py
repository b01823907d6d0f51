r"""Sparse and dense subnetworks of a one-hidden-layer parity network.

For f(x) = sum_i u_i relu(W_i x + b_i) let f_K keep only the units in K (the others' activations zeroed).

* neuron norm: ||W_i||_2 (incoming weights, bias excluded);
* active subnetwork (Merrill et al. 2023, Sec. 2.1, "exact-sign criterion"): rank units by decreasing ||W_i||
  (ties by index), K_m = top m; the active subnetwork is K_m with the **smallest m** such that
  sgn f_{K_m}(x) = sgn f(x) for **every** x of the given (training) inputs. Here sgn is three-valued (an output of
  exactly 0 is an abstention, not a +1 vote): a pruned network that outputs exactly 0 where the full one does not has
  not reproduced its prediction. (With sgn 0 = +1 the Prop. 2 network would shrink to 5 units, because two of its
  units are the only active ones on their patterns and pruning them leaves f = 0.) Effective sparsity = m.
  All m are checked at once with a cumulative sum over the ranked contributions (an exact linear search; no
  monotonicity assumption). The authors' code uses the weaker "equal accuracy" criterion (``criterion="accuracy"``);
* faithfulness of K on inputs X: mean_x 1[sgn f_K(x) = sgn f(x)] (full set: 1; empty set: fraction with f(x) >= 0).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from asymptotics.errors import InvalidParameter

CRITERIA = ("exact_sign", "accuracy")


def network_arrays(network) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W (p, n), b (p,), u (p,)) as float64 numpy from a ParityMLP, a snapshot with weight/bias/readout, or a tuple.

    Parameters
    ----------
    network : ParityMLP, snapshot or (W, b, u)
        The network.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.handbuilt import dnf_network
    >>> net = dnf_network(k=3, n_bits=6)                   # 8 AND units that compute the parity exactly
    >>> x = data.x_train.numpy()
    >>> from deep.grokking.subnetworks import network_arrays
    >>> [a.shape for a in network_arrays(net)]
    [(8, 6), (8,), (8,)]
    """
    if isinstance(network, tuple) and len(network) == 3:
        weight, bias, readout = network
    elif hasattr(network, "hidden") and hasattr(network, "readout") and isinstance(network, torch.nn.Module):
        weight, bias, readout = network.hidden.weight, network.hidden.bias, network.readout.weight[0]
    elif all(hasattr(network, a) for a in ("weight", "bias", "readout")):
        weight, bias, readout = network.weight, network.bias, network.readout
    else:
        raise InvalidParameter("network", "must be a ParityMLP, a snapshot (weight, bias, readout) or such a tuple")
    def arr(t):
        return (t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)).astype(np.float64)
    weight, bias, readout = arr(weight), arr(bias).reshape(-1), arr(readout).reshape(-1)
    if weight.ndim != 2 or bias.shape != (weight.shape[0],) or readout.shape != (weight.shape[0],):
        raise InvalidParameter("network", f"inconsistent shapes W {weight.shape}, b {bias.shape}, u {readout.shape}")
    return weight, bias, readout


def _inputs(x) -> np.ndarray:
    arr = (x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)).astype(np.float64)
    if arr.ndim != 2:
        raise InvalidParameter("x", f"must be a 2-D array (N, n), got shape {arr.shape}")
    return arr


def sign(values: np.ndarray) -> np.ndarray:
    """sgn with sgn 0 = +1 (numpy).

    Parameters
    ----------
    values : numpy.ndarray
        Any array.

    Returns
    -------
    numpy.ndarray
        +-1 of the same shape.

    Examples
    --------
    >>> import numpy as np
    >>> from deep.grokking.subnetworks import sign
    >>> sign(np.array([-1.0, 0.0, 2.0]))
    array([-1.,  1.,  1.])
    """
    return np.where(values >= 0, 1.0, -1.0)


def neuron_norms(network) -> np.ndarray:
    """||W_i||_2 per hidden unit, (p,).

    Parameters
    ----------
    network : ParityMLP, snapshot or (W, b, u)
        The network.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.handbuilt import dnf_network
    >>> net = dnf_network(k=3, n_bits=6)                   # 8 AND units that compute the parity exactly
    >>> x = data.x_train.numpy()
    >>> from deep.grokking.subnetworks import neuron_norms
    >>> neuron_norms(net).round(3).tolist()               # each AND unit reads the 3 relevant bits with weight 1
    [1.732, 1.732, 1.732, 1.732, 1.732, 1.732, 1.732, 1.732]
    """
    weight, _, _ = network_arrays(network)
    return np.linalg.norm(weight, axis=1)


def unit_contributions(network, x) -> np.ndarray:
    """u_i relu(W_i x + b_i), shape (N, p), float64; f(x) is the row sum.

    Parameters
    ----------
    network : ParityMLP, snapshot or (W, b, u)
        The network.
    x : array_like
        Inputs (N, n).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.handbuilt import dnf_network
    >>> net = dnf_network(k=3, n_bits=6)                   # 8 AND units that compute the parity exactly
    >>> x = data.x_train.numpy()
    >>> import numpy as np
    >>> from deep.grokking.subnetworks import unit_contributions
    >>> bool(np.allclose(unit_contributions(net, x).sum(1), net(data.x_train).detach().numpy()))
    True
    """
    weight, bias, readout = network_arrays(network)
    x = _inputs(x)
    if x.shape[1] != weight.shape[1]:
        raise InvalidParameter("x", f"has {x.shape[1]} columns, the network expects {weight.shape[1]}")
    return np.maximum(x @ weight.T + bias, 0.0) * readout


def subnetwork_output(network, x, units) -> np.ndarray:
    """f_K(x) for the units K (indices or a boolean mask), (N,).

    Parameters
    ----------
    network : ParityMLP, snapshot or (W, b, u)
        The network.
    x : array_like
        Inputs (N, n).
    units : array_like
        Indices or a boolean mask of the units K.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.handbuilt import dnf_network
    >>> net = dnf_network(k=3, n_bits=6)                   # 8 AND units that compute the parity exactly
    >>> x = data.x_train.numpy()
    >>> from deep.grokking.subnetworks import subnetwork_output
    >>> subnetwork_output(net, x[:2], [0, 1])
    array([ 0., -1.])
    """
    contrib = unit_contributions(network, x)
    mask = _mask(units, contrib.shape[1])
    return contrib[:, mask].sum(1)


def _mask(units, width: int) -> np.ndarray:
    units = np.asarray(units)
    if units.dtype == bool:
        if units.shape != (width,):
            raise InvalidParameter("units", f"boolean mask must have length {width}")
        return units
    mask = np.zeros(width, dtype=bool)
    if units.size:
        if units.min() < 0 or units.max() >= width:
            raise InvalidParameter("units", f"indices must lie in [0, {width})")
        mask[units.astype(int)] = True
    return mask


@dataclass(frozen=True)
class ActiveSubnetwork:
    """The active subnetwork (returned by :func:`active_subnetwork`).

    Attributes
    ----------
    indices : numpy.ndarray
        Its units, ranked by decreasing norm.
    size : int
        Their number (the effective sparsity).
    criterion : str
        The agreement criterion used.

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.handbuilt import dnf_network
    >>> net = dnf_network(k=3, n_bits=6)                   # 8 AND units that compute the parity exactly
    >>> x = data.x_train.numpy()
    >>> from deep.grokking.subnetworks import active_subnetwork
    >>> active_subnetwork(net, x).size                     # the DNF needs all its 8 units
    8
    """

    indices: np.ndarray
    size: int
    criterion: str

    def to_dict(self) -> dict:
        return {"indices": self.indices, "size": self.size, "criterion": self.criterion}


def active_subnetwork(network, x, criterion: str = "exact_sign", y=None) -> ActiveSubnetwork:
    """Smallest top-norm set of units whose network agrees with the full one (see module docstring).

    Parameters
    ----------
    network : ParityMLP, snapshot or (W, b, u)
        The network.
    x : array (N, n)
        Inputs on which agreement is required (the training inputs in the paper).
    criterion : {"exact_sign", "accuracy"}
        "exact_sign": sgn f_K = sgn f on every x, three-valued sgn (the paper's definition). "accuracy": equal accuracy against ``y``
        (the authors' code; weaker).
    y : array (N,), optional
        Labels, required for "accuracy".

    Returns
    -------
    ActiveSubnetwork

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.handbuilt import dnf_network
    >>> net = dnf_network(k=3, n_bits=6)                   # 8 AND units that compute the parity exactly
    >>> x = data.x_train.numpy()
    >>> from deep.grokking.subnetworks import active_subnetwork
    >>> active_subnetwork(net, x).criterion
    'exact_sign'
    """
    if criterion not in CRITERIA:
        raise InvalidParameter("criterion", f"must be one of {CRITERIA}, got {criterion!r}")
    if criterion == "accuracy" and y is None:
        raise InvalidParameter("y", "labels are required for criterion='accuracy'")
    contrib = unit_contributions(network, x)
    norms = neuron_norms(network)
    order = np.argsort(-norms, kind="stable")
    partial = np.zeros((contrib.shape[0], contrib.shape[1] + 1))
    np.cumsum(contrib[:, order], axis=1, out=partial[:, 1:])                # f_{K_m}, m = 0..p
    if criterion == "exact_sign":
        ok = (np.sign(partial) == np.sign(partial[:, -1])[:, None]).all(0)
    else:
        labels = _inputs(np.asarray(y).reshape(-1, 1))[:, 0]
        acc = (sign(partial) == labels[:, None]).mean(0)
        ok = acc == acc[-1]
    size = int(np.argmax(ok))                                               # ok[-1] is always True
    return ActiveSubnetwork(indices=order[:size], size=size, criterion=criterion)


def effective_sparsity(network, x, criterion: str = "exact_sign", y=None) -> int:
    """Size of the active subnetwork.

    Parameters
    ----------
    network : ParityMLP, snapshot or (W, b, u)
        The network.
    x : array_like
        Inputs (N, n).
    criterion : {"exact_sign", "accuracy"}, default "exact_sign"
        See :func:`active_subnetwork`.
    y : array_like, optional
        Labels, for "accuracy".

    Returns
    -------
    int

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.handbuilt import dnf_network
    >>> net = dnf_network(k=3, n_bits=6)                   # 8 AND units that compute the parity exactly
    >>> x = data.x_train.numpy()
    >>> from deep.grokking.subnetworks import effective_sparsity
    >>> effective_sparsity(net, x)
    8
    """
    return active_subnetwork(network, x, criterion, y).size


def faithfulness(network, units, x) -> float:
    """mean_x 1[sgn f_K(x) = sgn f(x)] (sgn 0 = +1).

    Parameters
    ----------
    network : ParityMLP, snapshot or (W, b, u)
        The network.
    units : array_like
        The units K.
    x : array_like
        Inputs (N, n).

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> from deep.grokking.parity import sparse_parity_dataset
    >>> data = sparse_parity_dataset(n_bits=6, k=3, n_train=64, n_test=64, seed=0)
    >>> from deep.grokking.handbuilt import dnf_network
    >>> net = dnf_network(k=3, n_bits=6)                   # 8 AND units that compute the parity exactly
    >>> x = data.x_train.numpy()
    >>> from deep.grokking.subnetworks import faithfulness
    >>> faithfulness(net, range(8), x)
    1.0
    """
    contrib = unit_contributions(network, x)
    mask = _mask(units, contrib.shape[1])
    return float((sign(contrib[:, mask].sum(1)) == sign(contrib.sum(1))).mean())


@dataclass(frozen=True)
class SubnetworkTracking:
    """Norms and faithfulness of three fixed unit sets over snapshots (returned by :func:`track_subnetworks`).

    Attributes
    ----------
    epochs : numpy.ndarray
        The snapshots' epochs.
    sets : dict
        "sparse", "complement", "control" -> index arrays.
    mean_norm : dict
        Set name -> mean neuron norm per epoch.
    faithfulness : dict
        Set name -> faithfulness per epoch.

    Examples
    --------
    >>> from deep.grokking.training import GrokkingConfig, train_parity
    >>> from deep.grokking.subnetworks import track_subnetworks
    >>> run = train_parity(GrokkingConfig(n_bits=8, k=2, n_train=32, n_test=16, width=16, epochs=2, snapshot_every=1))
    >>> tracking = track_subnetworks(run.snapshots, [0, 1, 2], run.data.x_test.numpy())
    >>> tracking.epochs.tolist(), sorted(tracking.sets)
    ([0, 1, 2], ['complement', 'control', 'sparse'])
    """

    epochs: np.ndarray
    sets: dict
    mean_norm: dict
    faithfulness: dict

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "sets": self.sets, "mean_norm": self.mean_norm,
                "faithfulness": self.faithfulness}


def track_subnetworks(snapshots, sparse_units, x, control_seed: int = 0) -> SubnetworkTracking:
    """Mean neuron norm and faithfulness on ``x`` of the sparse set, its complement and a random control.

    Parameters
    ----------
    snapshots : sequence of Snapshot
        Each with ``epoch``, ``weight``, ``bias``, ``readout``.
    sparse_units : array of int
        Usually the active subnetwork of the final model.
    x : array (N, n)
        Inputs for faithfulness (the test set in the paper's Fig. 3).
    control_seed : int
        Seed of the random control set (same size as the sparse set, drawn from all units).

    Returns
    -------
    SubnetworkTracking

    Examples
    --------
    >>> from deep.grokking.training import GrokkingConfig, train_parity
    >>> from deep.grokking.subnetworks import track_subnetworks
    >>> run = train_parity(GrokkingConfig(n_bits=8, k=2, n_train=32, n_test=16, width=16, epochs=2, snapshot_every=1))
    >>> track_subnetworks(run.snapshots, [0, 1, 2], run.data.x_test.numpy()).mean_norm["sparse"].shape
    (3,)
    """
    snapshots = list(snapshots)
    if not snapshots:
        raise InvalidParameter("snapshots", "needs at least one snapshot")
    width = network_arrays(snapshots[0])[0].shape[0]
    sparse = np.asarray(sparse_units, dtype=int)
    mask = _mask(sparse, width)
    control = np.sort(np.random.default_rng(control_seed).choice(width, size=len(sparse), replace=False))
    sets = {"sparse": np.sort(sparse), "complement": np.nonzero(~mask)[0], "control": control}
    norms = {name: [] for name in sets}
    faith = {name: [] for name in sets}
    for snap in snapshots:
        contrib = unit_contributions(snap, x)
        full = sign(contrib.sum(1))
        unit_norms = neuron_norms(snap)
        for name, idx in sets.items():
            norms[name].append(float(unit_norms[idx].mean()) if len(idx) else float("nan"))
            faith[name].append(float((sign(contrib[:, idx].sum(1)) == full).mean()))
    return SubnetworkTracking(epochs=np.array([s.epoch for s in snapshots]), sets=sets,
                              mean_norm={k: np.array(v) for k, v in norms.items()},
                              faithfulness={k: np.array(v) for k, v in faith.items()})
