"""Clean and robust accuracy under a named attack, batched, plus the attack registry."""
from __future__ import annotations

import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer

from ..margins.margins import output_margins
from .gradient import apgd, fgsm, pgd
from .search import random_search

ATTACKS = {"fgsm": fgsm, "pgd": pgd, "apgd": apgd, "random_search": random_search}


def accuracy(model, x, y, batch_size: int | None = None) -> float:
    """Fraction of samples with a positive margin (binary output 0 counts as an error).

    Parameters
    ----------
    model : callable
        Outputs (n,) or logits (n, C).
    x : torch.Tensor
        Inputs.
    y : torch.Tensor
        Labels +-1 or class indices.
    batch_size : int, optional
        Evaluate in batches (None: all at once).

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> import torch
    >>> from deep.attacks import accuracy
    >>> accuracy(lambda z: z.sum(1) - 1.0, torch.tensor([[0.7, 0.7], [0.2, 0.2]]), torch.tensor([1.0, 1.0]))
    0.5
    """
    correct = 0
    with torch.no_grad():
        for xb, yb in _batches(x, y, batch_size):
            correct += int((output_margins(model(xb), yb) > 0).sum())
    return correct / x.shape[0]


def _batches(x, y, batch_size):
    if batch_size is None:
        yield x, y
        return
    integer("batch_size", batch_size, low=1)
    for start in range(0, x.shape[0], batch_size):
        yield x[start:start + batch_size], y[start:start + batch_size]


def robust_accuracy(model, x, y, eps: float, attack: str = "pgd", batch_size: int | None = None, **options) -> float:
    """Accuracy on ``attack(model, x, y, eps, **options)`` (``attack`` in ``fgsm``, ``pgd``, ``apgd``,
    ``random_search``). At ``eps = 0`` this is the clean accuracy.

    Parameters
    ----------
    model : callable
        Outputs (n,) for labels +-1, or logits (n, C) for class indices.
    x : torch.Tensor
        Inputs in the box, shape (n, ...).
    y : torch.Tensor
        Labels.
    eps : float
        Radius in input units.
    attack : {"pgd", "fgsm", "apgd", "random_search"}, default "pgd"
        The attack (registry :data:`deep.attacks.ATTACKS`).
    batch_size : int, optional
        Attack in batches.
    **options
        Keyword arguments of the attack (``norm``, ``steps``, ``generator``, ...).

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> import torch
    >>> from deep.attacks import robust_accuracy
    >>> model = lambda z: z.sum(1) - 1.0
    >>> x = torch.full((1, 2), 0.7); y = torch.tensor([1.0])          # f(x) = 0.4
    >>> robust_accuracy(model, x, y, eps=0.1), robust_accuracy(model, x, y, eps=0.3)
    (1.0, 0.0)
    """
    if attack not in ATTACKS:
        raise InvalidParameter("attack", f"must be one of {sorted(ATTACKS)}, got {attack!r}")
    if eps == 0:
        return accuracy(model, x, y, batch_size)
    correct = 0
    for xb, yb in _batches(x, y, batch_size):
        x_adv = ATTACKS[attack](model, xb, yb, eps, **options)
        with torch.no_grad():
            correct += int((output_margins(model(x_adv), yb) > 0).sum())
    return correct / x.shape[0]
