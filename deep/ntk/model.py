r"""A fully connected ReLU network in NTK parameterisation, with an exact layer-wise empirical NTK.

``h^1 = (sigma_w/sqrt(d)) W^1 x + sigma_b b^1``, ``h^{l+1} = (sigma_w/sqrt(n_l)) W^{l+1} relu(h^l) + sigma_b b^{l+1}``,
``W, b ~ N(0, 1)`` (spec deep_robustness_ntk.md §0.2). Its empirical NTK converges to
:func:`deep.ntk.analytic.relu_ntk` as the widths grow (fluctuations ~ width^{-1/2}).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative, positive

from ..device import draw_device


class NTKMLP(nn.Module):
    r"""NTK-parameterised ReLU MLP ``d -> widths... -> out_features``.

    Parameters
    ----------
    in_features : int
    widths : sequence of int
        Hidden widths (``len(widths) = L`` hidden ReLU layers).
    out_features : int
        ``C``; with ``squeeze=True`` and ``C = 1`` the output has shape ``(n,)`` (binary labels +-1).
    sigma_w, sigma_b : float
    generator : torch.Generator, optional
        The only source of randomness (weights and biases i.i.d. N(0, 1)).
    squeeze : bool
    dtype, device : optional

    Notes
    -----
    Parameters are stored unscaled (``N(0,1)``); the forward pass multiplies by ``sigma_w/sqrt(fan_in)`` and
    ``sigma_b``. Gradient descent with learning rate ``eta`` on these parameters is the NTK-regime dynamics
    ``d f/dt = -eta Theta (f - y)`` of spec §0.1 (for the loss ``1/2 sum (f - y)^2``).

    Examples
    --------
    >>> net = NTKMLP(4, [16], generator=torch.Generator().manual_seed(0))
    >>> net(torch.zeros(3, 4)).shape
    torch.Size([3])
    """

    def __init__(self, in_features: int, widths, out_features: int = 1, sigma_w: float = math.sqrt(2.0),
                 sigma_b: float = 0.1, generator: torch.Generator | None = None, squeeze: bool = True,
                 dtype=torch.float32, device=None):
        super().__init__()
        integer("in_features", in_features, low=1)
        integer("out_features", out_features, low=1)
        widths = [integer("widths", w, low=1) for w in widths]
        self.sigma_w, self.sigma_b = positive("sigma_w", sigma_w), nonnegative("sigma_b", sigma_b)
        self.sizes = [in_features, *widths, out_features]
        self.squeeze = bool(squeeze)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            draw = dict(generator=generator, dtype=dtype, device=draw_device(generator, device))
            w = torch.randn(fan_out, fan_in, **draw)
            b = torch.randn(fan_out, **draw)
            self.weights.append(nn.Parameter(w.to(device)))
            self.biases.append(nn.Parameter(b.to(device)))

    def _layers(self, x):
        """Forward pass returning the layer inputs ``a_l`` (x, relu(h^1), ...) and the output."""
        inputs = []
        a = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            inputs.append(a)
            h = a @ w.T * (self.sigma_w / math.sqrt(w.shape[1])) + self.sigma_b * b
            a = torch.relu(h) if i < len(self.weights) - 1 else h
        return inputs, a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.sizes[0]:
            raise InvalidParameter("x", f"last dimension must be {self.sizes[0]}, got {x.shape[-1]}")
        out = self._layers(x)[1]
        return out.squeeze(-1) if self.squeeze and self.sizes[-1] == 1 else out

    def ntk(self, x1: torch.Tensor, x2: torch.Tensor | None = None, output: int | None = None) -> torch.Tensor:
        r"""Exact empirical NTK without Jacobians, summed over parameters, for one output (default: the mean over
        the ``C`` diagonal output blocks, ``Theta = (1/C) sum_c Theta_cc``).

        Notes
        -----
        For a dense layer ``h = s W a + sigma_b b`` (``s = sigma_w/sqrt(fan_in)``), the per-sample gradients are
        ``dF/dW = s g a^T`` and ``dF/db = sigma_b g`` with ``g = dF/dh``, so its NTK contribution is
        ``(s^2 a_i.a_j + sigma_b^2) (g_i.g_j)``. Backpropagated signals ``g`` come from ``torch.func.vmap``-free
        batched backprop through the diagonal ReLU Jacobians; cost ``O(n1 n2 sum_l (fan_in + fan_out))`` instead of
        ``O(n1 n2 P)`` for a Jacobian contraction.
        """
        sym = x2 is None
        x2 = x1 if sym else x2
        C = self.sizes[-1]
        outs = range(C) if output is None else [integer("output", output, low=0)]
        total = None
        with torch.no_grad():
            in1, _ = self._layers(x1)
            in2 = in1 if sym else self._layers(x2)[0]
            for c in outs:
                g1 = self._signals(in1, c)
                g2 = g1 if sym else self._signals(in2, c)
                acc = 0.0
                for l, w in enumerate(self.weights):
                    s2 = self.sigma_w ** 2 / w.shape[1]
                    acc = acc + (s2 * (in1[l] @ in2[l].T) + self.sigma_b ** 2) * (g1[l] @ g2[l].T)
                total = acc if total is None else total + acc
        return total / len(outs)

    def _signals(self, inputs, c):
        """``g_l = dF_c/dh_l`` for every layer, shape ``(n, fan_out_l)``, by batched backprop."""
        n = inputs[0].shape[0]
        g = torch.zeros(n, self.sizes[-1], dtype=inputs[0].dtype, device=inputs[0].device)
        g[:, c] = 1.0
        signals = [g]
        for l in range(len(self.weights) - 1, 0, -1):
            w = self.weights[l]
            g = (g @ w) * (self.sigma_w / math.sqrt(w.shape[1])) * (inputs[l] > 0).to(g.dtype)
            signals.append(g)
        return signals[::-1]
