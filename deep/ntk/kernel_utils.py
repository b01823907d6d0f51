"""Small helpers shared by the NTK experiments (label encodings)."""
from __future__ import annotations

import torch

from asymptotics.validation import integer


def one_hot(y: torch.Tensor, classes: int, dtype=torch.float64) -> torch.Tensor:
    """One-hot rows (not centred, as in the authors' notebook) for class-index labels."""
    integer("classes", classes, low=2)
    return torch.nn.functional.one_hot(y.long(), classes).to(dtype)
