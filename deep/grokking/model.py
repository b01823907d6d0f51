r"""One-hidden-layer ReLU network for sparse parity: f(x) = u^T relu(W x + b), prediction sgn f(x) (sgn 0 = +1).

W in R^{p x n}, b in R^p, u in R^p (no output bias); PyTorch's default init made explicit and seeded:
W, b ~ U(-1/sqrt(n), 1/sqrt(n)), u ~ U(-1/sqrt(p), 1/sqrt(p)). p = 1000, n = 40 gives 42,000 parameters.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer

from ..device import draw_device


def sign(values: torch.Tensor) -> torch.Tensor:
    """sgn with sgn 0 = +1 (the convention used for predictions and faithfulness).

    Parameters
    ----------
    values : torch.Tensor
        Any tensor.

    Returns
    -------
    torch.Tensor
        +-1 of the same shape.

    Examples
    --------
    >>> import torch
    >>> from deep.grokking.model import sign
    >>> sign(torch.tensor([-1.0, 0.0, 2.0]))
    tensor([-1.,  1.,  1.])
    """
    return torch.where(values >= 0, torch.ones_like(values), -torch.ones_like(values))


class ParityMLP(nn.Module):
    """f(x) = u^T relu(W x + b).

    Parameters
    ----------
    n_bits : int
        Input dimension n.
    width : int
        Hidden width p.
    generator : torch.Generator, optional
        Seeds the initialisation (draws on the generator's device, the CPU). Build the model on the CPU and move it
        with ``.to(device)``: built under ``with torch.device(device):`` ``nn.Linear``'s own (overwritten)
        initialisation would draw on the device's global RNG.

    Examples
    --------
    >>> sum(p.numel() for p in ParityMLP(40, 1000).parameters())
    42000
    """

    def __init__(self, n_bits: int, width: int, generator: torch.Generator | None = None):
        super().__init__()
        integer("n_bits", n_bits, low=1)
        integer("width", width, low=1)
        self.hidden = nn.Linear(n_bits, width)
        self.readout = nn.Linear(width, 1, bias=False)
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        n, p = self.hidden.in_features, self.hidden.out_features
        for param, bound in ((self.hidden.weight, 1 / math.sqrt(n)), (self.hidden.bias, 1 / math.sqrt(n)),
                             (self.readout.weight, 1 / math.sqrt(p))):
            draw = torch.rand(param.shape, generator=generator, device=draw_device(generator, param.device))
            param.copy_((draw.to(param.device) * 2 - 1) * bound)

    @property
    def width(self) -> int:
        return self.hidden.out_features

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden activations relu(W x + b), (N, p)."""
        return torch.relu(self.hidden(x))

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """f(x), shape (N,); ``keep`` (bool or 0/1 mask of length p) zeroes the other units' contributions."""
        act = self.activations(x)
        u = self.readout.weight[0]
        if keep is not None:
            if keep.shape != (self.width,):
                raise InvalidParameter("keep", f"must have shape ({self.width},), got {tuple(keep.shape)}")
            u = u * keep.to(u.dtype)
        return act @ u

    def neuron_norms(self) -> torch.Tensor:
        """||W_i||_2 of the incoming weights of each hidden unit (bias excluded), (p,)."""
        return self.hidden.weight.detach().norm(dim=1)

    def load_parameters(self, weight, bias, readout) -> "ParityMLP":
        """Set W (p, n), b (p,), u (p,) in place; returns self."""
        with torch.no_grad():
            self.hidden.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            self.hidden.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
            self.readout.weight.copy_(torch.as_tensor(readout, dtype=torch.float32).reshape(1, -1))
        return self
