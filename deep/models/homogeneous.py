r"""Bias-free positively homogeneous networks with a known order ``L``: ``f(x; c theta) = c^L f(x; theta)``, c > 0.

* :class:`HomogeneousMLP`: ``L`` weight matrices, ReLU or leaky ReLU between them, no biases -> order ``L``.
* :class:`HomogeneousCNN`: bias-free convolutions, ReLU, max/avg pooling (positively 1-homogeneous in the input and
  free of parameters), a bias-free linear head -> order = number of weight layers.
* :class:`DiagonalNet`: ``f(x) = <w, x>`` with ``w = u^D - v^D`` (``"difference"``) or ``w = prod_k u_k``
  (``"product"``, D factors) -> order ``D``.

Output convention: ``out_features == 1`` gives a tensor of shape ``(n,)`` (binary labels y in {-1, +1}, margin
``y f``); ``out_features = C > 1`` gives logits ``(n, C)`` (labels in {0..C-1}, margin ``f_y - max_{j != y} f_j``).
Inputs of any shape are flattened for the MLP and the diagonal net.

Initialisation: ``init_scale * U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (PyTorch's default scale times ``init_scale``),
drawn from an explicit ``torch.Generator``.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, positive, real

from ..device import draw_device

ACTIVATIONS = ("relu", "leaky_relu")


def _uniform_(weight: torch.Tensor, fan_in: int, scale: float, generator: torch.Generator | None):
    bound = scale / math.sqrt(max(fan_in, 1))
    draw = torch.rand(weight.shape, generator=generator, dtype=weight.dtype,
                      device=draw_device(generator, weight.device)).to(weight.device)
    with torch.no_grad():
        weight.copy_((draw * 2 - 1) * bound)


def _activation(name: str, slope: float) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    return nn.LeakyReLU(slope)


def _squeeze(out: torch.Tensor, out_features: int) -> torch.Tensor:
    return out.reshape(-1) if out_features == 1 else out


class HomogeneousMLP(nn.Module):
    """Bias-free MLP ``W_L s(W_{L-1} ... s(W_1 x))`` of order ``L = len(widths) + 1``.

    Parameters
    ----------
    in_features : int
    widths : sequence of int
        Hidden widths (empty: a linear model, order 1).
    out_features : int
        1 for binary outputs of shape (n,), C for logits (n, C).
    activation : {"relu", "leaky_relu"}
    negative_slope : float
        Leaky ReLU slope.
    init_scale : float
        Multiplies PyTorch's default uniform bound.
    generator : torch.Generator, optional
    dtype : torch.dtype

    Examples
    --------
    >>> net = HomogeneousMLP(4, [8])
    >>> net.order
    2
    """

    def __init__(self, in_features: int, widths: Sequence[int] = (100,), out_features: int = 1,
                 activation: str = "relu", negative_slope: float = 0.01, init_scale: float = 1.0,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32):
        super().__init__()
        integer("in_features", in_features, low=1)
        integer("out_features", out_features, low=1)
        widths = [integer("widths", w, low=1) for w in widths]
        if activation not in ACTIVATIONS:
            raise InvalidParameter("activation", f"must be one of {ACTIVATIONS}, got {activation!r}")
        real("negative_slope", negative_slope, low=0.0, high=1.0)
        positive("init_scale", init_scale)
        sizes = [in_features, *widths, out_features]
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=False, dtype=dtype) for a, b in zip(sizes[:-1], sizes[1:]))
        for layer in self.layers:
            _uniform_(layer.weight, layer.in_features, init_scale, generator)
        self.act = _activation(activation, negative_slope)
        self.out_features = out_features
        self.order = len(self.layers)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (order ``L - 1`` in the parameters of the hidden layers)."""
        h = x.reshape(x.shape[0], -1)
        for layer in self.layers[:-1]:
            h = self.act(layer(h))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _squeeze(self.layers[-1](self.features(x)), self.out_features)


class HomogeneousCNN(nn.Module):
    """Bias-free CNN: ``[conv k x k (padding k//2) -> ReLU -> pool 2]`` per entry of ``channels``, then a bias-free
    linear head. Order ``L = len(channels) + 1``.

    Parameters
    ----------
    in_channels, image_size : int
        Input shape ``(n, in_channels, image_size, image_size)``.
    channels : sequence of int
        Output channels of each convolution.
    kernel_size : int
        Odd kernel size (same padding).
    out_features : int
        Outputs of the head.
    pool : {"max", "avg", "none"}
        Pooling after each ReLU (max and average pooling keep the homogeneity).
    init_scale : float
        Multiplies the default uniform initialisation.
    generator : torch.Generator, optional
        Generator of the initial weights.
    dtype : torch.dtype
        Parameter dtype.

    Examples
    --------
    >>> import torch
    >>> from deep.models import HomogeneousCNN, homogeneity_order
    >>> net = HomogeneousCNN(in_channels=1, image_size=8, channels=(4,), out_features=3,
    ...                      generator=torch.Generator().manual_seed(0))
    >>> x = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    >>> net(x).shape, homogeneity_order(net, x).order
    (torch.Size([5, 3]), 2)
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, channels: Sequence[int] = (16, 32),
                 kernel_size: int = 3, out_features: int = 10, pool: str = "max", init_scale: float = 1.0,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32):
        super().__init__()
        integer("in_channels", in_channels, low=1)
        integer("image_size", image_size, low=1)
        integer("kernel_size", kernel_size, low=1)
        if kernel_size % 2 == 0:
            raise InvalidParameter("kernel_size", f"must be odd (same padding), got {kernel_size}")
        if pool not in ("max", "avg", "none"):
            raise InvalidParameter("pool", f"must be 'max', 'avg' or 'none', got {pool!r}")
        positive("init_scale", init_scale)
        convs, size, c_in = [], image_size, in_channels
        for c in channels:
            integer("channels", c, low=1)
            conv = nn.Conv2d(c_in, c, kernel_size, padding=kernel_size // 2, bias=False, dtype=dtype)
            _uniform_(conv.weight, c_in * kernel_size * kernel_size, init_scale, generator)
            convs.append(conv)
            c_in = c
            if pool != "none":
                if size < 2:
                    raise InvalidParameter("channels", f"too many pooling stages for image_size {image_size}")
                size //= 2
        self.convs = nn.ModuleList(convs)
        self.pool = {"max": nn.MaxPool2d(2), "avg": nn.AvgPool2d(2), "none": nn.Identity()}[pool]
        self.head = nn.Linear(c_in * size * size, out_features, bias=False, dtype=dtype)
        _uniform_(self.head.weight, self.head.in_features, init_scale, generator)
        self.in_channels, self.image_size = in_channels, image_size
        self.out_features = out_features
        self.order = len(self.convs) + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(x.shape[0], self.in_channels, self.image_size, self.image_size)
        for conv in self.convs:
            h = self.pool(torch.relu(conv(h)))
        return _squeeze(self.head(h.reshape(h.shape[0], -1)), self.out_features)


class DiagonalNet(nn.Module):
    """Depth-D diagonal linear network ``f(x) = <w(theta), x>``, order ``D``.

    ``parametrization="difference"``: ``w = u^D - v^D`` (elementwise powers), ``u = v = init_scale`` at init, so
    ``w = 0``. ``"product"``: ``w = u_1 * ... * u_D`` with ``u_1 = init_scale * (+-1)`` random signs from the
    generator and ``u_k = init_scale`` for k >= 2.

    Parameters
    ----------
    in_features : int
        The dimension d of x.
    depth : int, default 2
        D, the order of homogeneity.
    init_scale : float, default 1e-2
        The initial scale (small: the rich regime).
    parametrization : {"difference", "product"}, default "difference"
        The form of ``w(theta)``.
    generator : torch.Generator, optional
        Generator of the random signs of the "product" parametrization.
    dtype : torch.dtype, default torch.float32
        Parameter dtype.

    Examples
    --------
    >>> from deep.models import DiagonalNet
    >>> net = DiagonalNet(3, depth=2, init_scale=0.1)
    >>> net.predictor().tolist()
    [0.0, 0.0, 0.0]
    """

    def __init__(self, in_features: int, depth: int = 2, init_scale: float = 1e-2,
                 parametrization: str = "difference", generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        integer("in_features", in_features, low=1)
        integer("depth", depth, low=1)
        positive("init_scale", init_scale)
        if parametrization not in ("difference", "product"):
            raise InvalidParameter("parametrization", f"must be 'difference' or 'product', got {parametrization!r}")
        self.parametrization = parametrization
        self.depth = depth
        if parametrization == "difference":
            self.u = nn.Parameter(torch.full((in_features,), float(init_scale), dtype=dtype))
            self.v = nn.Parameter(torch.full((in_features,), float(init_scale), dtype=dtype))
        else:
            home = torch.get_default_device()              # where the parameters are built (then .to(device))
            signs = torch.randint(0, 2, (in_features,), generator=generator,
                                  device=draw_device(generator, home)).to(home, dtype) * 2 - 1
            self.factors = nn.ParameterList(
                [nn.Parameter(float(init_scale) * (signs if k == 0 else torch.ones(in_features, dtype=dtype)))
                 for k in range(depth)])
        self.out_features = 1
        self.order = depth

    def predictor(self) -> torch.Tensor:
        """The linear predictor ``w(theta)``."""
        if self.parametrization == "difference":
            return self.u.pow(self.depth) - self.v.pow(self.depth)
        w = self.factors[0]
        for f in self.factors[1:]:
            w = w * f
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1) @ self.predictor()
