r"""Stochastic networks whose randomness comes only from an explicit ``torch.Generator``.

* :class:`DropoutMLP`: bias-free ReLU MLP with inverted dropout after every hidden activation,
  ``h <- h * m / (1 - p)``, ``m_j ~ Bernoulli(1 - p)``; masks are drawn when ``model.training`` or ``mc=True``
  (MC dropout keeps them at test time, Gal & Ghahramani 2016).
* :class:`BayesMLP`: mean-field Gaussian weights (Bayes by backprop, Blundell et al. 2015),
  ``w = mu + softplus(rho) * z``, ``z ~ N(0, I)``, one weight draw per forward call; prior ``N(0, prior_std^2)``;
  ``kl()`` = ``sum KL(N(mu, s^2) || N(0, s0^2)) = sum [log(s0/s) + (s^2 + mu^2)/(2 s0^2) - 1/2]``.

Both take ``forward(x, generator=None)``; initial means follow ``deep.models`` (``U(+-1/sqrt(fan_in))``).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, positive, real

from ..device import draw_device


def _init(shape, fan_in, generator):
    """``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` drawn on the generator's device (the CPU), on torch's default device
    (where the module's parameters are built; move the module with ``.to(device)``)."""
    bound = 1.0 / math.sqrt(fan_in)
    home = torch.get_default_device()
    return (torch.rand(shape, generator=generator, device=draw_device(generator, home)).to(home) * 2 - 1) * bound


class DropoutMLP(nn.Module):
    """Bias-free ReLU MLP with (MC) dropout of rate ``p`` after each hidden layer (see the module docstring).

    Called as ``model(x, generator)``; masks are drawn from ``generator`` when training or when ``mc``.

    Parameters
    ----------
    in_features : int
        Input dimension.
    widths : sequence of int, default (128, 128)
        Hidden widths.
    out_features : int, default 10
        Classes.
    p : float, default 0.1
        Dropout rate.
    mc : bool, default True
        Keep dropout at test time (MC dropout).
    generator : torch.Generator, optional
        Generator of the initial weights.

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import DropoutMLP
    >>> net = DropoutMLP(4, widths=(16,), out_features=2, p=0.2, generator=torch.Generator().manual_seed(1))
    >>> x = torch.ones(2, 4)
    >>> bool(torch.equal(net(x, torch.Generator().manual_seed(3)), net(x, torch.Generator().manual_seed(3))))   # same masks
    True
    """

    def __init__(self, in_features: int, widths: Sequence[int] = (128, 128), out_features: int = 10, p: float = 0.1,
                 mc: bool = True, generator: torch.Generator | None = None):
        super().__init__()
        integer("in_features", in_features, low=1)
        real("p", p, low=0.0, high=1.0, high_open=True)
        sizes = [in_features, *[integer("widths", w, low=1) for w in widths], integer("out_features", out_features,
                                                                                        low=1)]
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes[:-1], sizes[1:]))
        with torch.no_grad():
            for layer in self.layers:
                layer.weight.copy_(_init(layer.weight.shape, layer.in_features, generator))
        self.p, self.mc = float(p), bool(mc)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        h = x.reshape(x.shape[0], -1)
        drop = (self.training or self.mc) and self.p > 0
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h))
            if drop:
                keep = torch.rand(h.shape, generator=generator, device=draw_device(generator, h.device),
                                  dtype=h.dtype).to(h.device) >= self.p
                h = h * keep / (1.0 - self.p)
        return self.layers[-1](h)


class BayesLinear(nn.Module):
    """Bias-free linear layer with a mean-field Gaussian posterior over its weights, ``w = mu + softplus(rho) z``.

    Parameters
    ----------
    in_features, out_features : int
        Shape of the layer.
    prior_std : float, default 1.0
        Standard deviation s0 of the Gaussian prior.
    init_rho : float, default -6.0
        Initial rho (posterior std ``softplus(rho)``).
    generator : torch.Generator, optional
        Generator of the initial means.

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import BayesLinear
    >>> layer = BayesLinear(4, 2, generator=torch.Generator().manual_seed(0))
    >>> layer(torch.ones(3, 4), torch.Generator().manual_seed(1)).shape, bool(layer.kl().detach() > 0)
    (torch.Size([3, 2]), True)
    """

    def __init__(self, in_features: int, out_features: int, prior_std: float = 1.0, init_rho: float = -6.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.mu = nn.Parameter(_init((out_features, in_features), in_features, generator))
        self.rho = nn.Parameter(torch.full((out_features, in_features), float(init_rho)))
        self.prior_std = positive("prior_std", prior_std)
        self.in_features, self.out_features = in_features, out_features

    @property
    def std(self) -> torch.Tensor:
        return F.softplus(self.rho)

    def forward(self, x, generator=None):
        z = torch.randn(self.mu.shape, generator=generator, device=draw_device(generator, self.mu.device),
                        dtype=self.mu.dtype).to(self.mu.device)
        return x @ (self.mu + self.std * z).T

    def kl(self) -> torch.Tensor:
        s, s0 = self.std, self.prior_std
        return (math.log(s0) - torch.log(s) + (s ** 2 + self.mu ** 2) / (2 * s0 ** 2) - 0.5).sum()


class BayesMLP(nn.Module):
    """Bias-free ReLU MLP of :class:`BayesLinear` layers (one weight draw per forward call); ``kl()`` sums the layers'.

    Parameters
    ----------
    in_features : int
        Input dimension.
    widths : sequence of int, default (128, 128)
        Hidden widths.
    out_features : int, default 10
        Classes.
    prior_std : float, default 1.0
        Prior standard deviation.
    init_rho : float, default -6.0
        Initial rho.
    generator : torch.Generator, optional
        Generator of the initial means.

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import BayesMLP
    >>> net = BayesMLP(4, widths=(8,), out_features=2, generator=torch.Generator().manual_seed(0))
    >>> net(torch.ones(3, 4), torch.Generator().manual_seed(1)).shape
    torch.Size([3, 2])
    """

    def __init__(self, in_features: int, widths: Sequence[int] = (128, 128), out_features: int = 10,
                 prior_std: float = 1.0, init_rho: float = -6.0, generator: torch.Generator | None = None):
        super().__init__()
        integer("in_features", in_features, low=1)
        sizes = [in_features, *[integer("widths", w, low=1) for w in widths], integer("out_features", out_features,
                                                                                        low=1)]
        if not math.isfinite(init_rho):
            raise InvalidParameter("init_rho", f"must be finite, got {init_rho!r}")
        self.layers = nn.ModuleList(BayesLinear(a, b, prior_std, init_rho, generator)
                                    for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x, generator=None):
        h = x.reshape(x.shape[0], -1)
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h, generator))
        return self.layers[-1](h, generator)

    def kl(self) -> torch.Tensor:
        return sum(layer.kl() for layer in self.layers)
