r"""Adversarial training loops: PGD-AT (Madry et al. 2018) and TRADES (Zhang et al. 2019).

* PGD-AT: each step minimizes ``reduce_i loss(f(x'_i), y_i)`` with ``x' = pgd(x)`` at radius ``eps`` (attack on the
  same per-sample loss). ``eps = 0`` is plain ERM.
* TRADES: ``reduce_i loss(f(x_i), y_i) + beta * mean_i KL(p(x_i) || p(x'_i))``, ``x'`` from PGD on the KL started at
  ``x + 0.001 N(0, I)`` (generator). Binary outputs ``f`` are read as the two-class logits ``(0, f)``
  (``p = sigmoid(f)``).

Losses: ``"ce"`` (logits), ``"logistic"`` / ``"exp"`` (margins ``q``), reduced by ``"mean"`` or ``"sum"`` (the Price et
al. nets use the summed exponential loss). Full batch when ``batch_size`` is None; minibatches are drawn without
replacement from ``generator``. The optimizer is any ``torch.optim.Optimizer`` (e.g. ``deep.optim.SignGD``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative, positive

from ..device import draw_device
from .evaluation import accuracy
from .gradient import per_sample_loss, pgd
from .threat import ascent_direction, parse_threat, project

METHODS = ("pgd_at", "trades")


@dataclass
class TrainingHistory:
    """Per-epoch records of :func:`adversarial_training` (``callback`` rows are appended to ``extra``).

    Attributes
    ----------
    epoch : list of int
        Epoch numbers (from 1).
    loss : list of float
        Mean training loss of the epoch (on the adversarial inputs).
    train_accuracy : list of float
        Clean training accuracy after the epoch (a fraction).
    extra : list of dict
        The rows returned by the callback.

    Examples
    --------
    >>> from deep.attacks import TrainingHistory
    >>> TrainingHistory(epoch=[1], loss=[0.5], train_accuracy=[0.9]).to_dict()
    {'epoch': [1], 'loss': [0.5], 'train_accuracy': [0.9], 'extra': []}
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    extra: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "loss": self.loss, "train_accuracy": self.train_accuracy, "extra": self.extra}


def _two_class(outputs):
    return torch.stack([torch.zeros_like(outputs), outputs], 1) if outputs.ndim == 1 else outputs


def kl_per_sample(clean_outputs, adv_outputs) -> torch.Tensor:
    """``KL(p(clean) || p(adv))`` per sample (softmax of logits; binary outputs as logits (0, f)).

    Parameters
    ----------
    clean_outputs : torch.Tensor
        Outputs on the clean inputs, (n,) or (n, C).
    adv_outputs : torch.Tensor
        Outputs on the perturbed inputs.

    Returns
    -------
    torch.Tensor
        Shape (n,), >= 0.

    Examples
    --------
    >>> import torch
    >>> from deep.attacks import kl_per_sample
    >>> kl_per_sample(torch.tensor([2.0]), torch.tensor([2.0])), kl_per_sample(torch.tensor([2.0]), torch.tensor([-2.0]))
    (tensor([0.]), tensor([1.5232]))
    """
    log_p = F.log_softmax(_two_class(clean_outputs), 1)
    log_q = F.log_softmax(_two_class(adv_outputs), 1)
    return (log_p.exp() * (log_p - log_q)).sum(1)


def trades_attack(model, x, eps: float, norm: str = "linf", steps: int = 10, step_size: float | None = None,
                  generator: torch.Generator | None = None, box=(0.0, 1.0)) -> torch.Tensor:
    """PGD on ``KL(p(x) || p(x'))`` from ``x + 0.001 N(0, I)`` (the TRADES inner maximization).

    Parameters
    ----------
    model : callable
        Outputs (n,) or logits (n, C).
    x : torch.Tensor
        Inputs in the box.
    eps : float
        Radius.
    norm : {"linf", "l2", "l1"}, default "linf"
        The threat model.
    steps : int, default 10
        PGD steps.
    step_size : float, optional
        Default ``2.5 eps / steps``.
    generator : torch.Generator, optional
        Source of the starting noise.
    box : (float, float) or None, default (0.0, 1.0)
        Valid input range.

    Returns
    -------
    torch.Tensor
        Detached perturbed inputs.

    Examples
    --------
    >>> import torch
    >>> from deep.attacks import trades_attack
    >>> model = lambda z: 3 * z.sum(1) - 1.0
    >>> x = torch.full((3, 2), 0.5)
    >>> x_adv = trades_attack(model, x, eps=0.1, steps=3, generator=torch.Generator().manual_seed(0))
    >>> bool((x_adv - x).abs().max() <= 0.1 + 1e-7)
    True
    """
    with torch.no_grad():
        clean = model(x).detach()
    alpha = 2.5 * eps / max(steps, 1) if step_size is None else step_size
    noise = 0.001 * torch.randn(x.shape, generator=generator, dtype=x.dtype,
                                device=draw_device(generator, x.device)).to(x.device)
    delta = project(noise, x, eps, norm, box)
    for _ in range(steps):
        delta.requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(kl_per_sample(clean, model(x + delta)).sum(), delta)
        delta = delta.detach()
        delta = project(delta + alpha * ascent_direction(g, norm, x + delta, box), x, eps, norm, box)
    return (x + delta).detach()


def _reduce(values, reduction):
    return values.mean() if reduction == "mean" else values.sum()


def adversarial_training(model, optimizer, X, y, eps: float, norm: str = "linf", method: str = "pgd_at",
                         epochs: int = 1, batch_size: int | None = None, loss: str = "auto",
                         reduction: str = "mean", attack_steps: int = 10, step_size: float | None = None,
                         random_start: bool = True, beta: float = 6.0, box=(0.0, 1.0),
                         generator: torch.Generator | None = None, callback=None) -> TrainingHistory:
    r"""Train ``model`` in place with PGD-AT or TRADES; return per-epoch loss and clean training accuracy.

    Parameters
    ----------
    model : torch.nn.Module
        The network (trained in place).
    optimizer : torch.optim.Optimizer
        Its optimizer.
    X, y : tensors
        Training data (labels +-1 for binary outputs, class indices for logits).
    eps : float
        Training radius (input units; 0 = ERM).
    norm : {"linf", "l2", "l1"}
    method : {"pgd_at", "trades"}
    epochs : int
    batch_size : int, optional
        None for full batch (one step per epoch).
    loss : {"auto", "ce", "logistic", "exp"}
    reduction : {"mean", "sum"}
    attack_steps, step_size, random_start :
        PGD settings (step size default ``2.5 eps / steps``).
    beta : float
        TRADES weight.
    box : (lo, hi) or None
    generator : torch.Generator, optional
        Minibatch order, random starts and TRADES noise.
    callback : callable, optional
        ``callback(epoch, model) -> dict or None`` after every epoch; rows are kept in ``history.extra``.

    Returns
    -------
    TrainingHistory

    Examples
    --------
    >>> import torch
    >>> from deep.attacks import adversarial_training
    >>> torch.manual_seed(0)                                          # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 1, bias=False), torch.nn.Flatten(0))
    >>> X = torch.rand(32, 2, generator=torch.Generator().manual_seed(0))
    >>> y = torch.where(X[:, 0] > X[:, 1], 1.0, -1.0)
    >>> history = adversarial_training(net, torch.optim.SGD(net.parameters(), lr=1.0), X, y, eps=0.05, epochs=3,
    ...                                attack_steps=3, generator=torch.Generator().manual_seed(0))
    >>> history.epoch, history.loss[-1] < history.loss[0]
    ([1, 2, 3], True)
    """
    parse_threat(norm)
    nonnegative("eps", eps)
    if method not in METHODS:
        raise InvalidParameter("method", f"must be one of {METHODS}, got {method!r}")
    if reduction not in ("mean", "sum"):
        raise InvalidParameter("reduction", f"must be 'mean' or 'sum', got {reduction!r}")
    if loss not in ("auto", "ce", "logistic", "exp"):
        raise InvalidParameter("loss", f"must be 'auto', 'ce', 'logistic' or 'exp', got {loss!r}")
    integer("epochs", epochs, low=1)
    integer("attack_steps", attack_steps, low=0)
    nonnegative("beta", beta)
    if step_size is not None:
        positive("step_size", step_size)
    n = X.shape[0]
    history = TrainingHistory()
    for epoch in range(1, epochs + 1):
        order = torch.arange(n, device=X.device) if batch_size is None else \
            torch.randperm(n, generator=generator, device=draw_device(generator, X.device)).to(X.device)
        size = n if batch_size is None else integer("batch_size", batch_size, low=1)
        total = 0.0
        for start in range(0, n, size):
            idx = order[start:start + size]
            xb, yb = X[idx], y[idx]
            if method == "pgd_at":
                xa = xb if eps == 0 else pgd(model, xb, yb, eps, norm, steps=attack_steps, step_size=step_size,
                                              random_start=random_start, loss=loss, generator=generator, box=box)
                optimizer.zero_grad(set_to_none=True)
                value = _reduce(per_sample_loss(model(xa), yb, loss), reduction)
            else:
                xa = xb if eps == 0 else trades_attack(model, xb, eps, norm, attack_steps, step_size, generator, box)
                optimizer.zero_grad(set_to_none=True)
                clean = model(xb)
                value = _reduce(per_sample_loss(clean, yb, loss), reduction) + \
                    beta * kl_per_sample(clean, model(xa)).mean()
            value.backward()
            optimizer.step()
            total += float(value.detach())
        history.epoch.append(epoch)
        history.loss.append(total)
        history.train_accuracy.append(accuracy(model, X, y))
        if callback is not None:
            row = callback(epoch, model)
            if row is not None:
                history.extra.append(row)
        if not math.isfinite(total):
            raise FloatingPointError(f"training loss became {total} at epoch {epoch}; lower the learning rate")
    return history
