r"""Analytic (infinite-width) NNGP and NTK of fully connected ReLU networks in NTK parameterisation.

Network (spec deep_robustness_ntk.md §0.2): ``h^1 = (sigma_w/sqrt(d)) W^1 x + sigma_b b^1`` and, for ``l = 1..L``,
``h^{l+1} = (sigma_w/sqrt(n_l)) W^{l+1} relu(h^l) + sigma_b b^{l+1}``, all entries of ``W, b`` i.i.d. N(0, 1), output
``f = h^{L+1}`` (``L = depth`` hidden ReLU layers, ``L + 1`` dense layers). This is neural-tangents'
``stax.serial(Dense(n, W_std=sigma_w, b_std=sigma_b), Relu(), ..., Dense(C, ...))`` with ``parameterization='ntk'``.

Recursion (arc-cosine kernels of degree 1 and 0, Cho & Saul 2009; Jacot et al. 2018; Arora et al. 2019)::

    Sigma^1 = sigma_w^2 x.x'/d + sigma_b^2,          Theta^1 = Sigma^1
    rho = Sigma^l(x,x') / sqrt(Sigma^l(x,x) Sigma^l(x',x')),  theta = arccos(rho)
    Sigma^{l+1} = sigma_w^2 sqrt(Sigma^l(x,x) Sigma^l(x',x')) (sin theta + (pi - theta) cos theta) / (2 pi) + sigma_b^2
    Theta^{l+1} = sigma_w^2 (pi - theta) / (2 pi) Theta^l + Sigma^{l+1}

and NNGP = ``Sigma^{L+1}``, NTK = ``Theta^{L+1}``; for ``C`` outputs the kernels are these times ``I_C`` (only the
``n1 x n2`` block is returned, as neural-tangents does for analytic kernels). ``rho`` is clipped to
``[-1 + 1e-7, 1 - 1e-7]`` inside ``arccos`` so that the input gradient (``d arccos/d rho = -1/sqrt(1 - rho^2)``)
stays finite when ``x`` equals or is parallel to a training point (spec §0.2 pitfall (i)); beyond the clip the angle is
set to exactly 0 (or pi) with zero gradient, so the diagonal equals the exact recursion
``Sigma^{l+1}(x,x) = sigma_w^2 Sigma^l(x,x)/2 + sigma_b^2`` to rounding (``cos theta`` is the unclipped ``rho``).

The same code runs on numpy arrays and on torch tensors (differentiable in the inputs, used to attack kernel machines).
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative, positive

RHO_CLIP = 1e-7


@dataclass(frozen=True)
class ReLUKernelSpec:
    """Architecture of the fully connected ReLU network whose kernels are computed (NTK parameterisation).

    Attributes
    ----------
    depth : int
        Number of hidden ReLU layers ``L`` (``L + 1`` dense layers); ``depth = 0`` is the linear kernel.
    sigma_w, sigma_b : float
        Weight and bias standard deviations (``W_std``, ``b_std`` of neural-tangents).

    Examples
    --------
    >>> from deep.ntk import ReLUKernelSpec
    >>> ReLUKernelSpec(depth=2)
    ReLUKernelSpec(depth=2, sigma_w=1.4142135623730951, sigma_b=0.1)
    """

    depth: int = 1
    sigma_w: float = math.sqrt(2.0)
    sigma_b: float = 0.1

    def __post_init__(self):
        integer("depth", self.depth, low=0)
        positive("sigma_w", self.sigma_w)
        nonnegative("sigma_b", self.sigma_b)


def _is_torch(x) -> bool:
    """True for any ``torch.Tensor`` (subclasses included), without importing torch for numpy inputs."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _check_pair(x1, x2):
    if x1.ndim != 2:
        raise InvalidParameter("x1", f"must be a 2-d array (n1, d), got shape {tuple(x1.shape)}")
    if x2.ndim != 2 or x2.shape[1] != x1.shape[1]:
        raise InvalidParameter("x2", f"must be (n2, {x1.shape[1]}), got shape {tuple(x2.shape)}")
    if _is_torch(x1) != _is_torch(x2):
        raise InvalidParameter("x2", "x1 and x2 must both be numpy arrays or both torch tensors")


def relu_nngp_diagonal(x, depth: int = 1, sigma_w: float = math.sqrt(2.0), sigma_b: float = 0.1):
    r"""Exact diagonal ``Sigma^l(x, x)`` for ``l = 1..L+1``, shape ``(L + 1, n)``.

    Notes
    -----
    ``Sigma^1(x,x) = sigma_w^2 ||x||^2/d + sigma_b^2`` and ``Sigma^{l+1}(x,x) = sigma_w^2 Sigma^l(x,x)/2 + sigma_b^2``
    (the degree-1 arc-cosine kernel at ``theta = 0`` is ``Sigma/2``).

    Parameters
    ----------
    x : array or tensor, shape (n, d)
        Inputs.
    depth : int, default 1
        Hidden ReLU layers L.
    sigma_w, sigma_b : float
        Weight and bias standard deviations.

    Returns
    -------
    array or tensor
        Shape (L + 1, n).

    Examples
    --------
    >>> import numpy as np
    >>> from deep.ntk import relu_nngp_diagonal
    >>> relu_nngp_diagonal(np.eye(3), depth=1, sigma_b=0.0).round(4)
    array([[0.6667, 0.6667, 0.6667],
           [0.6667, 0.6667, 0.6667]])
    """
    spec = ReLUKernelSpec(depth, sigma_w, sigma_b)
    d = x.shape[-1]
    s = spec.sigma_w ** 2 * (x * x).sum(-1) / d + spec.sigma_b ** 2
    rows = [s]
    for _ in range(spec.depth):
        s = spec.sigma_w ** 2 * s / 2 + spec.sigma_b ** 2
        rows.append(s)
    if _is_torch(x):
        import torch
        return torch.stack(rows)
    return np.stack(rows)


def _block(x1, x2, spec: ReLUKernelSpec, diag1, diag2, want_ntk: bool):
    xp = _namespace(x1)
    d = x1.shape[1]
    sw2, sb2 = spec.sigma_w ** 2, spec.sigma_b ** 2
    sigma = sw2 * (x1 @ x2.T) / d + sb2
    theta_k = sigma
    for layer in range(spec.depth):
        norm = xp.sqrt(diag1[layer][:, None] * diag2[layer][None, :])
        rho = xp.clip(sigma / norm, -1.0, 1.0)
        inner = xp.arccos(xp.clip(rho, -1.0 + RHO_CLIP, 1.0 - RHO_CLIP))
        angle = xp.where(rho >= 1.0 - RHO_CLIP, 0.0, xp.where(rho <= -1.0 + RHO_CLIP, math.pi, inner))
        e_relu = norm * (xp.sin(angle) + (math.pi - angle) * rho) / (2 * math.pi)
        sigma = sw2 * e_relu + sb2
        if want_ntk:
            theta_k = sw2 * (math.pi - angle) / (2 * math.pi) * theta_k + sigma
    return sigma, (theta_k if want_ntk else None)


class _Torch:
    def __init__(self):
        import torch
        self.sqrt, self.arccos, self.sin, self.clip, self.cat = torch.sqrt, torch.arccos, torch.sin, torch.clamp, torch.cat
        self.where = torch.where


class _Numpy:
    sqrt, arccos, sin, clip, where = np.sqrt, np.arccos, np.sin, np.clip, np.where

    @staticmethod
    def cat(parts, dim=0):
        return np.concatenate(parts, axis=dim)


def _namespace(x):
    return _Torch() if _is_torch(x) else _Numpy


def relu_kernels(x1, x2=None, depth: int = 1, sigma_w: float = math.sqrt(2.0), sigma_b: float = 0.1,
                 block_size: int = 4096, ntk: bool = True):
    r"""Analytic NNGP and NTK ``(Sigma^{L+1}(x1, x2), Theta^{L+1}(x1, x2))`` of a deep ReLU network.

    Parameters
    ----------
    x1 : array or tensor (n1, d)
        Inputs (numpy array or torch tensor; use float64). torch inputs give torch outputs that are differentiable in
        ``x1`` and ``x2``.
    x2 : array or tensor (n2, d), optional
        Second set; default ``x1``.
    depth : int
        Hidden ReLU layers ``L``.
    sigma_w, sigma_b : float
        ``W_std`` and ``b_std`` (NTK parameterisation, spec §0.2).
    block_size : int
        Rows of ``x1`` processed at once (bounds memory at about ``8 block_size n2`` temporaries).
    ntk : bool
        If False, only the NNGP is computed and the second output is None.

    Returns
    -------
    nngp, ntk : (n1, n2) arrays or tensors

    Notes
    -----
    The recursion in the module docstring; the exact unrolled form is
    ``Theta^{L+1} = sum_{h=1}^{L+1} Sigma^h prod_{h'=h+1}^{L+1} dotSigma^{h'}``, ``dotSigma = sigma_w^2 (pi-theta)/(2 pi)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.eye(3)
    >>> from deep.ntk import relu_kernels
    >>> K, T = relu_kernels(x, depth=1, sigma_w=2 ** 0.5, sigma_b=0.0)
    >>> bool(np.allclose(np.diag(K), 2 / 3)), bool(np.allclose(np.diag(T), 4 / 3))
    (True, True)
    """
    spec = ReLUKernelSpec(depth, sigma_w, sigma_b)
    x2 = x1 if x2 is None else x2
    _check_pair(x1, x2)
    integer("block_size", block_size, low=1)
    diag1 = relu_nngp_diagonal(x1, spec.depth, spec.sigma_w, spec.sigma_b)
    diag2 = diag1 if x2 is x1 else relu_nngp_diagonal(x2, spec.depth, spec.sigma_w, spec.sigma_b)
    xp = _namespace(x1)
    ks, ts = [], []
    for start in range(0, x1.shape[0], block_size):
        sl = slice(start, start + block_size)
        k, t = _block(x1[sl], x2, spec, diag1[:, sl], diag2, ntk)
        ks.append(k)
        ts.append(t)
    nngp = ks[0] if len(ks) == 1 else xp.cat(ks, 0)
    if not ntk:
        return nngp, None
    return nngp, (ts[0] if len(ts) == 1 else xp.cat(ts, 0))


def relu_ntk(x1, x2=None, depth: int = 1, sigma_w: float = math.sqrt(2.0), sigma_b: float = 0.1,
             block_size: int = 4096):
    """Analytic NTK ``Theta^{L+1}(x1, x2)`` only (see :func:`relu_kernels`).

    Parameters
    ----------
    x1 : array or tensor, shape (n1, d)
        Inputs (float64).
    x2 : array or tensor, shape (n2, d), optional
        Second set; default ``x1``.
    depth : int, default 1
        Hidden ReLU layers L.
    sigma_w, sigma_b : float
        Weight and bias standard deviations (NTK parameterisation).
    block_size : int, default 4096
        Rows of ``x1`` processed at once.

    Returns
    -------
    array or tensor
        Shape (n1, n2).

    Examples
    --------
    >>> import numpy as np
    >>> from deep.ntk import relu_ntk
    >>> relu_ntk(np.eye(3), depth=1, sigma_b=0.0).diagonal().round(4)
    array([1.3333, 1.3333, 1.3333])
    """
    return relu_kernels(x1, x2, depth, sigma_w, sigma_b, block_size)[1]


def relu_nngp(x1, x2=None, depth: int = 1, sigma_w: float = math.sqrt(2.0), sigma_b: float = 0.1,
              block_size: int = 4096):
    """Analytic NNGP ``Sigma^{L+1}(x1, x2)`` only (see :func:`relu_kernels`).

    Parameters
    ----------
    x1 : array or tensor, shape (n1, d)
        Inputs (float64).
    x2 : array or tensor, shape (n2, d), optional
        Second set; default ``x1``.
    depth : int, default 1
        Hidden ReLU layers L.
    sigma_w, sigma_b : float
        Weight and bias standard deviations (NTK parameterisation).
    block_size : int, default 4096
        Rows of ``x1`` processed at once.

    Returns
    -------
    array or tensor
        Shape (n1, n2).

    Examples
    --------
    >>> import numpy as np
    >>> from deep.ntk import relu_nngp
    >>> relu_nngp(np.eye(3), depth=1, sigma_b=0.0).diagonal().round(4)
    array([0.6667, 0.6667, 0.6667])
    """
    return relu_kernels(x1, x2, depth, sigma_w, sigma_b, block_size, ntk=False)[0]


def kernel_function(kind: str = "ntk", depth: int = 1, sigma_w: float = math.sqrt(2.0), sigma_b: float = 0.1):
    """A callable ``k(x1, x2)`` for ``kind`` in ``{"ntk", "nngp", "linear"}`` (``linear``: ``x1 x2^T / d``).

    Parameters
    ----------
    kind : {"ntk", "nngp", "linear"}, default "ntk"
        The kernel.
    depth : int, default 1
        Hidden ReLU layers L.
    sigma_w, sigma_b : float
        Weight and bias standard deviations (NTK parameterisation).

    Returns
    -------
    callable
        ``k(x1, x2) -> (n1, n2)``.

    Examples
    --------
    >>> import numpy as np
    >>> from deep.ntk import kernel_function
    >>> kernel_function("linear")(np.eye(2), np.eye(2))
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    if kind == "ntk":
        return lambda a, b: relu_ntk(a, b, depth, sigma_w, sigma_b)
    if kind == "nngp":
        return lambda a, b: relu_nngp(a, b, depth, sigma_w, sigma_b)
    if kind == "linear":
        return lambda a, b: (a @ b.T) / a.shape[1]
    raise InvalidParameter("kind", f"must be 'ntk', 'nngp' or 'linear', got {kind!r}")
