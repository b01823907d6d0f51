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
    """Fraction of samples with a positive margin (binary output 0 counts as an error)."""
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
    ``random_search``). At ``eps = 0`` this is the clean accuracy."""
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
