r"""Training the parity MLP: hinge loss, minibatch SGD with weight decay, per-epoch curves and snapshots.

Objective per minibatch: mean_i max(0, 1 - y_i f(x_i)); ``torch.optim.SGD(lr, weight_decay=lambda)`` adds lambda*theta
to every gradient (penalty (lambda/2)||theta||^2 on W, b and u), as in the authors' code. Batches are reshuffled each
epoch, the last partial batch kept. Metrics of epoch e are measured *before* that epoch's updates (epoch 0 = init),
plus the final model as epoch ``epochs``.

Timings: t_mem = first epoch with train accuracy >= 0.98, t_gen = first epoch with test accuracy >= 0.95.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, positive, real

from ..device import default_device
from .model import ParityMLP, sign
from .parity import SparseParityData, sparse_parity_dataset
from .subnetworks import SubnetworkTracking, active_subnetwork, track_subnetworks


@dataclass(frozen=True)
class GrokkingConfig:
    """One sparse-parity run (defaults: the paper's configuration with a 2,000-point test set).

    Attributes
    ----------
    n_bits, k : int
        Input dimension n and parity size k.
    n_train, n_test : int
        Training and test set sizes.
    width : int
        Hidden width.
    learning_rate, weight_decay : float
        SGD step size and weight decay.
    batch_size : int
        Minibatch size.
    epochs : int
        Training epochs.
    seed, test_seed : int
        Seeds of the training set, the initialisation and shuffling, and of the test set.
    sparsity_every : int
        Epochs between two effective-sparsity measurements.
    snapshot_every : int
        Epochs between two parameter snapshots.
    stop_after_generalisation : int or None
        Stop this many epochs after the generalisation epoch t_gen (first test accuracy >= 0.95); the run then
        ends before ``epochs`` and its last epoch is recorded like the final one. None (default): train all epochs.
    device : str or None
        Where to train (None: :func:`deep.device.default_device`).

    Examples
    --------
    >>> from deep.grokking.training import GrokkingConfig
    >>> GrokkingConfig().width, GrokkingConfig(width=16).k
    (1000, 3)
    """

    n_bits: int = 40
    k: int = 3
    n_train: int = 1000
    n_test: int = 2000
    width: int = 1000
    learning_rate: float = 0.1
    weight_decay: float = 0.01
    batch_size: int = 32
    epochs: int = 300
    seed: int = 0
    test_seed: int = 2001
    sparsity_every: int = 10
    snapshot_every: int = 1
    stop_after_generalisation: int | None = None
    device: str | None = None

    def __post_init__(self):
        integer("n_bits", self.n_bits, low=1)
        integer("k", self.k, low=1)
        if self.k > self.n_bits:
            raise InvalidParameter("k", f"must be <= n_bits = {self.n_bits}")
        integer("n_train", self.n_train, low=1)
        integer("n_test", self.n_test, low=1)
        integer("width", self.width, low=1)
        positive("learning_rate", self.learning_rate)
        real("weight_decay", self.weight_decay, low=0.0)
        integer("batch_size", self.batch_size, low=1)
        integer("epochs", self.epochs, low=1)
        integer("seed", self.seed, low=0)
        integer("sparsity_every", self.sparsity_every, low=1)
        integer("snapshot_every", self.snapshot_every, low=1)
        if self.stop_after_generalisation is not None:
            integer("stop_after_generalisation", self.stop_after_generalisation, low=1)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Snapshot:
    """Parameters of the network at the start of ``epoch`` (float32 numpy).

    Attributes
    ----------
    epoch : int
        The epoch.
    weight, bias : numpy.ndarray
        First-layer W (p, n) and b (p,).
    readout : numpy.ndarray
        Readout u (p,).

    Examples
    --------
    >>> from deep.grokking.training import GrokkingConfig, train_parity
    >>> from deep.grokking.training import GrokkingConfig, train_parity
    >>> run = train_parity(GrokkingConfig(n_bits=8, k=2, n_train=32, n_test=16, width=16, epochs=2, snapshot_every=1))
    >>> [s.epoch for s in run.snapshots], run.snapshots[0].weight.shape
    ([0, 1, 2], (16, 8))
    """

    epoch: int
    weight: np.ndarray
    bias: np.ndarray
    readout: np.ndarray


def hinge_loss(output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """mean max(0, 1 - y f).

    Parameters
    ----------
    output : torch.Tensor
        f, shape (N,).
    labels : torch.Tensor
        y in {-1, +1}.

    Returns
    -------
    torch.Tensor
        A 0-d tensor.

    Examples
    --------
    >>> import torch
    >>> from deep.grokking.training import hinge_loss
    >>> hinge_loss(torch.tensor([2.0, 0.5]), torch.tensor([1.0, 1.0]))
    tensor(0.2500)
    """
    return torch.clamp(1.0 - labels * output, min=0.0).mean()


def first_epoch(epochs: np.ndarray, values: np.ndarray, threshold: float) -> int | None:
    """First epoch whose value is >= threshold (None if never).

    Parameters
    ----------
    epochs : numpy.ndarray
        Epochs.
    values : numpy.ndarray
        A curve over them (e.g. test accuracy).
    threshold : float
        The level.

    Returns
    -------
    int or None

    Examples
    --------
    >>> import numpy as np
    >>> from deep.grokking.training import first_epoch
    >>> first_epoch(np.arange(5), np.array([0.1, 0.5, 0.9, 1.0, 1.0]), 0.9)
    2
    """
    hits = np.nonzero(np.asarray(values) >= threshold)[0]
    return int(epochs[hits[0]]) if hits.size else None


@dataclass(frozen=True)
class GrokkingRun:
    """Per-epoch curves (index = epoch 0..epochs), effective sparsity at ``sparsity_epochs`` and snapshots.

    Attributes
    ----------
    config : GrokkingConfig
        The run's configuration.
    epochs : numpy.ndarray
        0..epochs.
    train_accuracy, test_accuracy : numpy.ndarray
        Accuracies (fractions) per epoch.
    train_loss, test_loss : numpy.ndarray
        Hinge losses per epoch.
    neuron_norms : numpy.ndarray
        ``||W_i||`` per epoch and unit.
    sparsity_epochs, effective_sparsity : numpy.ndarray
        Where the effective sparsity was measured, and its value.
    snapshots : list of Snapshot
        Parameter snapshots.
    data : SparseParityData
        The data.
    seconds : float
        Wall time.

    Examples
    --------
    >>> from deep.grokking.training import GrokkingConfig, train_parity
    >>> run = train_parity(GrokkingConfig(n_bits=8, k=2, n_train=32, n_test=16, width=16, epochs=2, snapshot_every=1))
    >>> run.epochs.tolist(), run.train_accuracy.shape
    ([0, 1, 2], (3,))
    """

    config: GrokkingConfig
    epochs: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    neuron_norms: np.ndarray          # (epochs + 1, p)
    sparsity_epochs: np.ndarray
    effective_sparsity: np.ndarray
    snapshots: tuple
    data: SparseParityData
    seconds: float

    @property
    def memorisation_epoch(self) -> int | None:
        """t_mem: first epoch with train accuracy >= 0.98."""
        return first_epoch(self.epochs, self.train_accuracy, 0.98)

    @property
    def generalisation_epoch(self) -> int | None:
        """t_gen: first epoch with test accuracy >= 0.95."""
        return first_epoch(self.epochs, self.test_accuracy, 0.95)

    def snapshot(self, epoch: int) -> Snapshot:
        """The stored snapshot at ``epoch`` (must be a multiple of snapshot_every, or the last epoch)."""
        for snap in self.snapshots:
            if snap.epoch == epoch:
                return snap
        raise InvalidParameter("epoch", f"no snapshot at epoch {epoch}")

    def final_subnetwork(self, criterion: str = "exact_sign"):
        """Active subnetwork of the final model on the training inputs."""
        return active_subnetwork(self.snapshots[-1], self.data.x_train, criterion, self.data.y_train)

    def subnetwork_tracking(self, control_seed: int = 0, on: str = "test") -> SubnetworkTracking:
        """Sparse (final active subnetwork) / complement / control sets tracked over all snapshots."""
        if on not in ("test", "train"):
            raise InvalidParameter("on", f"must be 'test' or 'train', got {on!r}")
        x = self.data.x_test if on == "test" else self.data.x_train
        return track_subnetworks(self.snapshots, self.final_subnetwork().indices, x, control_seed)

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "epochs": self.epochs, "train_accuracy": self.train_accuracy,
                "test_accuracy": self.test_accuracy, "train_loss": self.train_loss, "test_loss": self.test_loss,
                "sparsity_epochs": self.sparsity_epochs, "effective_sparsity": self.effective_sparsity,
                "memorisation_epoch": self.memorisation_epoch, "generalisation_epoch": self.generalisation_epoch,
                "seconds": self.seconds}


def train_parity(config: GrokkingConfig, progress: bool = False) -> GrokkingRun:
    """Train the parity MLP of ``config`` and record curves, neuron norms, sparsity and snapshots.

    Seeds: training set ``numpy.random.default_rng(seed)``, test set ``test_seed``, initialisation and shuffling from
    two torch generators derived from ``seed``.

    Parameters
    ----------
    config : GrokkingConfig
        The run.
    progress : bool, default False
        Show a progress bar.

    Returns
    -------
    GrokkingRun

    Examples
    --------
    >>> run = train_parity(GrokkingConfig(n_bits=8, k=2, n_train=32, n_test=16, width=16, epochs=2))
    >>> run.epochs.tolist()
    [0, 1, 2]
    """
    if not isinstance(config, GrokkingConfig):
        raise InvalidParameter("config", "must be a GrokkingConfig")
    device = default_device(config.device)
    start = time.perf_counter()
    data = sparse_parity_dataset(config.n_bits, config.k, config.n_train, config.n_test, seed=config.seed,
                                 test_seed=config.test_seed)
    dev_data = data.to(device)
    # built and initialised on the CPU (every draw from a CPU generator, none on the device), then moved
    model = ParityMLP(config.n_bits, config.width,
                      generator=torch.Generator().manual_seed(1_000_003 * config.seed + 5)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    shuffle = torch.Generator().manual_seed(1_000_003 * config.seed + 7)     # CPU: draws are moved to device
    curves = {key: [] for key in ("train_accuracy", "test_accuracy", "train_loss", "test_loss")}
    norms, snapshots, sparsity_epochs, sparsity = [], [], [], []

    def record(epoch: int, is_last: bool = False):
        with torch.no_grad():
            for split, x, y in (("train", dev_data.x_train, dev_data.y_train), ("test", dev_data.x_test, dev_data.y_test)):
                out = model(x)
                curves[f"{split}_accuracy"].append(float((sign(out) == y).float().mean()))
                curves[f"{split}_loss"].append(float(hinge_loss(out, y)))
            norms.append(model.neuron_norms().cpu().numpy().astype(np.float32))
        is_last = is_last or epoch == config.epochs
        if epoch % config.snapshot_every == 0 or is_last:
            snapshots.append(Snapshot(epoch, model.hidden.weight.detach().cpu().numpy().copy(),
                                      model.hidden.bias.detach().cpu().numpy().copy(),
                                      model.readout.weight.detach().cpu().numpy()[0].copy()))
        if epoch % config.sparsity_every == 0 or is_last:
            sparsity_epochs.append(epoch)
            sparsity.append(active_subnetwork(model, data.x_train).size)

    iterator = range(config.epochs)
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(iterator, desc="parity", leave=False)
    n = config.n_train
    last, t_gen = config.epochs, None
    for epoch in iterator:
        if t_gen is not None and epoch - t_gen >= config.stop_after_generalisation:
            last = epoch
            break
        record(epoch)
        if config.stop_after_generalisation is not None and t_gen is None and curves["test_accuracy"][-1] >= 0.95:
            t_gen = epoch
        perm = torch.randperm(n, generator=shuffle).to(device)
        for lo in range(0, n, config.batch_size):
            idx = perm[lo: lo + config.batch_size]
            loss = hinge_loss(model(dev_data.x_train[idx]), dev_data.y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    record(last, is_last=True)
    return GrokkingRun(config=config, epochs=np.arange(last + 1),
                       train_accuracy=np.array(curves["train_accuracy"]), test_accuracy=np.array(curves["test_accuracy"]),
                       train_loss=np.array(curves["train_loss"]), test_loss=np.array(curves["test_loss"]),
                       neuron_norms=np.stack(norms), sparsity_epochs=np.array(sparsity_epochs),
                       effective_sparsity=np.array(sparsity), snapshots=tuple(snapshots), data=data,
                       seconds=time.perf_counter() - start)
