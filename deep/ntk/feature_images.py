r"""Input gradients of NTK eigen-features as images, and measures of how image-like they are (Tsilivis & Kempe
2022: "robust features look like digits, non-robust ones like noise"; spec deep_robustness_ntk.md §1.3 (ii)).

* :func:`feature_input_gradients`: ``grad_x f_i(x)`` for eigen-features ``f_i(x) = K(x, X) w_i`` of a
  :class:`~deep.ntk.KernelMachine` (binary), by autodiff through the analytic kernel, at every row of ``x``.
* :func:`total_variation`: anisotropic total variation ``sum |g[r+1, c] - g[r, c]| + sum |g[r, c+1] - g[r, c]|`` of
  each image (rows of a flat ``(n, h w)`` array reshaped to ``(h, w)``).
* :func:`roughness`: ``TV(g) / mean_pi TV(g[pi])`` over random pixel permutations ``pi`` — the same pixel values
  scattered at random, a noise image with the same histogram. About 1 for noise, below 1 for a spatially
  coherent (stroke-like) image.
* :func:`span_fraction`: ``||P_B g||^2 / ||g||^2``, the fraction of an image's energy in the span of reference
  images ``B`` (e.g. the class-mean digits); a random image in ``R^d`` has expectation ``rank(B) / d``.

Everything is float64; permutations are drawn from a CPU ``torch.Generator`` and moved to the images' device.
"""
from __future__ import annotations

import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer

from ..device import draw_device
from .regression import KernelMachine, _as64


def feature_input_gradients(machine: KernelMachine, x, indices) -> torch.Tensor:
    r"""``grad_x f_i(x)`` for the eigen-features ``indices`` at every row of ``x``, shape ``(k, m, d)``.

    Parameters
    ----------
    machine : KernelMachine
        A binary (``+-1`` labels) kernel machine whose kernel is differentiable in its first argument.
    x : array or tensor (m, d)
        Points at which the gradients are taken.
    indices : sequence of int
        Eigen-feature indices (0 = largest eigenvalue).

    Returns
    -------
    tensor (k, m, d)
        ``out[j, r] = grad_x f_{indices[j]}(x_r)`` (float64).

    Notes
    -----
    ``f_i(x) = K(x, X) w_i`` with ``w_i`` from :meth:`KernelMachine.feature_weights`; rows of ``x`` do not
    interact, so the gradient of ``sum_r f_i(x_r)`` gives every per-point gradient at once.

    Examples
    --------
    >>> import torch
    >>> X = torch.eye(3, dtype=torch.float64); Y = torch.tensor([1., -1., 1.], dtype=torch.float64)
    >>> km = KernelMachine(X, Y, kernel="linear")
    >>> feature_input_gradients(km, X[:1], [0]).shape          # linear kernel: X^T w_0 / d at every point
    torch.Size([1, 1, 3])
    """
    if machine.Y.ndim != 1:
        raise InvalidParameter("machine", "feature_input_gradients is defined for binary (+-1) kernel machines")
    x = _as64(x, machine.X.device)
    if x.ndim != 2 or x.shape[1] != machine.X.shape[1]:
        raise InvalidParameter("x", f"must be (m, {machine.X.shape[1]}), got {tuple(x.shape)}")
    W = machine.feature_weights(indices)                          # (k, n)
    grads = []
    for w in W:
        xr = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad((machine.kernel(xr, machine.X) @ w).sum(), xr)
        grads.append(g)
    return torch.stack(grads)


def _images(images, shape):
    t = _as64(images)
    h, w = (integer("shape", s, low=1) for s in shape)
    if t.shape[-1] != h * w:
        raise InvalidParameter("images", f"last axis must have {h * w} pixels for shape {tuple(shape)}, "
                                         f"got {t.shape[-1]}")
    return t.reshape(*t.shape[:-1], h, w)


def total_variation(images, shape=(8, 8)) -> torch.Tensor:
    """Anisotropic total variation of each flat image (last axis ``h * w``).

    Parameters
    ----------
    images : array or tensor (..., h * w)
        Flat images (row-major).
    shape : (int, int)
        ``(h, w)``.

    Returns
    -------
    tensor (...)
        ``sum |g[r+1, c] - g[r, c]| + sum |g[r, c+1] - g[r, c]|`` per image (float64).

    Examples
    --------
    >>> import torch
    >>> float(total_variation(torch.tensor([[0.0, 1.0, 1.0, 0.0]]), (2, 2)))
    4.0
    """
    im = _images(images, shape)
    return ((im[..., 1:, :] - im[..., :-1, :]).abs().sum((-1, -2))
            + (im[..., :, 1:] - im[..., :, :-1]).abs().sum((-1, -2)))


def roughness(images, shape=(8, 8), permutations: int = 64, generator: torch.Generator | None = None) -> torch.Tensor:
    """``TV(g) / mean over pixel permutations of TV(permuted g)`` per image (see the module docstring).

    Parameters
    ----------
    images : array or tensor (..., h * w)
        Flat images.
    shape : (int, int)
        ``(h, w)``.
    permutations : int
        Random pixel permutations averaged in the noise baseline (the same ones for every image).
    generator : torch.Generator, optional
        Source of the permutations (drawn on its device, moved to the images').

    Returns
    -------
    tensor (...)
        About 1 for noise, below 1 for spatially coherent images; NaN for constant images.

    Examples
    --------
    >>> import torch
    >>> ramp = torch.arange(64, dtype=torch.float64)[None]           # rows 0..7, 8..15, ...: smooth
    >>> bool(roughness(ramp, (8, 8), generator=torch.Generator().manual_seed(0)) < 0.5)
    True
    """
    integer("permutations", permutations, low=1)
    t = _as64(images)
    tv = total_variation(t, shape)
    d = t.shape[-1]
    perms = torch.stack([torch.randperm(d, generator=generator, device=draw_device(generator, t.device))
                         for _ in range(permutations)]).to(t.device)
    base = torch.stack([total_variation(t[..., p], shape) for p in perms]).mean(0)
    return torch.where(base > 0, tv / base.clamp_min(1e-300), torch.full_like(tv, float("nan")))


def span_fraction(images, basis) -> torch.Tensor:
    """Fraction ``||P_B g||^2 / ||g||^2`` of each flat image's energy in the column span of ``basis``.

    Parameters
    ----------
    images : array or tensor (..., d)
        Flat images.
    basis : array or tensor (d, r)
        Reference images as columns (any rank; directions below 1e-10 of the largest singular value dropped).

    Returns
    -------
    tensor (...)
        In ``[0, 1]``; ``rank / d`` in expectation for an isotropic random image; NaN for a zero image.

    Examples
    --------
    >>> import torch
    >>> B = torch.tensor([[1.0], [0.0]])
    >>> span_fraction(torch.tensor([[3.0, 4.0]]), B)
    tensor([0.3600], dtype=torch.float64)
    """
    t = _as64(images)
    B = _as64(basis, t.device)
    if B.ndim != 2 or B.shape[0] != t.shape[-1]:
        raise InvalidParameter("basis", f"must be (d, r) with d = {t.shape[-1]}, got {tuple(B.shape)}")
    U, S, _ = torch.linalg.svd(B, full_matrices=False)
    U = U[:, S > S.max() * 1e-10]
    energy = (t * t).sum(-1)
    return torch.where(energy > 0, ((t @ U) ** 2).sum(-1) / energy.clamp_min(1e-300),
                       torch.full_like(energy, float("nan")))
