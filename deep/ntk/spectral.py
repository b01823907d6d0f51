r"""Lecture-note objects (Les Houches "Kernels, Data & Physics", spec deep_robustness_ntk.md §5): spectral bias on the
circle and kernel-regression learning curves.

On ``n`` equispaced points of the circle ``x_j = sqrt(2) (cos t_j, sin t_j)`` (``||x|| = sqrt(d)``, ``d = 2``) any
dot-product kernel has a circulant Gram matrix, whose eigenvectors are the Fourier modes ``cos(k t)``, ``sin(k t)``
with eigenvalue ``lambda_k = sum_j K(x_0, x_j) cos(k t_j)``. Under kernel gradient flow on
``(1/2n) sum (f - y)^2`` with learning rate ``eta`` the residual of mode ``k`` decays exactly as
``exp(-eta lambda_k t / n)``: low frequencies (large ``lambda_k``) are learned first.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from asymptotics.validation import integer, nonnegative, positive

from .analytic import relu_ntk


def circle_inputs(n: int, dtype=torch.float64, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Equispaced angles ``t_j = 2 pi j / n`` and points ``sqrt(2) (cos t_j, sin t_j)`` (on ``device``).

    Parameters
    ----------
    n : int
        Number of points.
    dtype : torch.dtype, default torch.float64
        Dtype.
    device : str or torch.device, optional
        Device.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        Angles (n,) and points (n, 2) (norm sqrt(2), so ``||x||^2/d = 1``).

    Examples
    --------
    >>> from deep.ntk import circle_inputs
    >>> t, x = circle_inputs(4)
    >>> t.tolist()[:2], x.norm(dim=1).round(decimals=6).tolist()
    ([0.0, 1.5707963267948966], [1.414214, 1.414214, 1.414214, 1.414214])
    """
    integer("n", n, low=3)
    t = torch.arange(n, dtype=dtype, device=device) * (2 * math.pi / n)
    return t, math.sqrt(2.0) * torch.stack([torch.cos(t), torch.sin(t)], 1)


def spectral_bias_circle(n: int = 64, frequencies=(1, 3, 6), depth: int = 1, sigma_w: float = math.sqrt(2.0),
                         sigma_b: float = 0.1, lr: float = 1.0, steps: int = 2000, width: int = 0,
                         record=50, seed: int = 0, device=None) -> dict:
    """Residual of each Fourier mode of ``y(t) = sum_k cos(k t)`` under kernel gradient flow (exact) and, if
    ``width > 0``, under gradient descent of an NTK-parameterised MLP (:class:`~deep.ntk.model.NTKMLP`) from
    its (random) initial function ``f_0``; both report ``v_k^T (f_t - y) / v_k^T (f_0 - y)`` for the unit mode ``v_k``.

    Theory residuals are ``exp(-lr lambda_k t / n)`` (normalised to 1 at t = 0). Everything is computed on
    ``device`` (``None``: :func:`deep.device.default_device`); the network's initialisation is drawn on the CPU
    (the same network on every device).

    Parameters
    ----------
    n : int, default 64
        Points on the circle.
    frequencies : sequence of int, default (1, 3, 6)
        The Fourier modes k.
    depth, sigma_w, sigma_b : int, float, float
        The ReLU kernel's architecture.
    lr : float, default 1.0
        Step size.
    steps : int, default 2000
        Gradient steps.
    width : int, default 0
        Width of the network trained alongside (0: theory only).
    record : int or sequence of int, default 50
        Record every ``record`` steps, or at these steps.
    seed : int, default 0
        Seed of the network.
    device : str or torch.device, optional
        Device.

    Returns
    -------
    dict
        ``steps``, ``frequencies``, ``eigenvalues``, ``theory`` (K x T), ``network`` (K x T or None), numpy arrays.

    Examples
    --------
    >>> from deep.ntk import spectral_bias_circle
    >>> out = spectral_bias_circle(n=16, frequencies=(1, 3), steps=100, record=50)
    >>> out["steps"], out["theory"].round(3).tolist()          # the low frequency is learned first
    ([0, 50, 100], [[1.0, 0.0, 0.0], [1.0, 0.744, 0.554]])
    """
    from ..device import default_device
    from .model import NTKMLP

    integer("steps", steps, low=1)
    positive("lr", lr)
    integer("width", width, low=0)
    device = default_device(device)
    t, X = circle_inputs(n, device=device)
    K = relu_ntk(X, X, depth, sigma_w, sigma_b)
    freqs = [integer("frequencies", k, low=0) for k in frequencies]
    modes = torch.stack([torch.cos(k * t) for k in freqs])                 # (K, n)
    modes = modes / modes.norm(dim=1, keepdim=True)
    lam = torch.stack([(K[0] * torch.cos(k * t)).sum() for k in freqs])
    y = sum(torch.cos(k * t) for k in freqs)
    times = np.unique(np.r_[np.arange(0, steps + 1, record), steps])
    theory = torch.exp(-lr * torch.as_tensor(times, dtype=torch.float64, device=device)[None, :] * lam[:, None] / n)
    network = None
    if width:
        gen = torch.Generator().manual_seed(int(seed))
        net = NTKMLP(2, [width] * depth, sigma_w=sigma_w, sigma_b=sigma_b, generator=gen, dtype=torch.float64,
                     device=device)
        with torch.no_grad():
            f0 = net(X).clone()
        r0 = modes @ (f0 - y)
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        cols, rec = [], set(times.tolist())
        for step in range(steps + 1):
            out = net(X)
            if step in rec:
                cols.append((modes @ (out.detach() - y)) / r0)
            if step == steps:
                break
            opt.zero_grad()
            (0.5 * ((out - y) ** 2).mean()).backward()
            opt.step()
        network = torch.stack(cols, 1).abs().cpu().numpy()
    return {"steps": times.tolist(), "frequencies": freqs, "eigenvalues": lam.cpu().numpy(),
            "theory": theory.cpu().numpy(),
            "network": network}


def learning_curve(kernel, X_pool, Y_pool, X_test, y_test, sizes, seeds=(0,), ridge: float = 1e-8) -> dict:
    r"""Test error of kernel (ridge) regression trained on ``n`` random pool points, for each ``n`` in ``sizes``.

    ``Y_pool``: +-1 labels (binary) or one-hot rows; ``y_test``: +-1 labels or class indices. The ridge is relative
    (``ridge * mean diag K``). Returns ``{"sizes", "error_mean", "error_std", "mse_mean"}`` (classification error,
    and the squared error ``mean ||f(x) - Y||^2`` on the test set). Tensors stay on ``X_pool``'s device; the
    subsets are drawn on the CPU (the same subsets on every device).

    Parameters
    ----------
    kernel : callable
        ``k(x1, x2)`` (e.g. :func:`deep.ntk.kernel_function`).
    X_pool, Y_pool : torch.Tensor
        The pool the training sets are drawn from.
    X_test, y_test : torch.Tensor
        The test set.
    sizes : sequence of int
        Training-set sizes.
    seeds : sequence of int, default (0,)
        One random subset per seed.
    ridge : float, default 1e-8
        Relative ridge.

    Returns
    -------
    dict

    Examples
    --------
    >>> import torch
    >>> from deep.ntk import kernel_function, learning_curve
    >>> X = torch.rand(8, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> y = torch.where(X[:, 0] > 0.5, 1.0, -1.0).double()
    >>> curve = learning_curve(kernel_function("ntk"), X, y, X, y, sizes=[2, 8])
    >>> curve["error_mean"].tolist()                      # trained on the whole pool: no test error on it
    [0.125, 0.0]
    """
    from .regression import KernelMachine, predictions_accuracy

    nonnegative("ridge", ridge)
    X_pool = torch.as_tensor(X_pool, dtype=torch.float64)
    dev = X_pool.device
    Y_pool = torch.as_tensor(Y_pool, dtype=torch.float64, device=dev)
    X_test = torch.as_tensor(X_test, dtype=torch.float64, device=dev)
    y_test = torch.as_tensor(y_test, device=dev)
    if Y_pool.ndim == 1:
        Y_test = y_test.to(torch.float64)
    else:
        Y_test = torch.nn.functional.one_hot(y_test.long(), Y_pool.shape[1]).to(torch.float64)
    errs, mses = [], []
    for n in sizes:
        e_n, m_n = [], []
        for seed in seeds:
            perm = torch.randperm(X_pool.shape[0], generator=torch.Generator().manual_seed(int(seed)))
            idx = perm.to(X_pool.device)[:int(n)]
            km = KernelMachine(X_pool[idx], Y_pool[idx], kernel=kernel, ridge=ridge, relative_ridge=True)
            out = km(X_test)
            e_n.append(1 - predictions_accuracy(out, y_test))
            m_n.append(float(((out - Y_test) ** 2).reshape(out.shape[0], -1).sum(1).mean()))
        errs.append(e_n)
        mses.append(m_n)
    errs, mses = np.asarray(errs), np.asarray(mses)
    return {"sizes": [int(n) for n in sizes], "error_mean": errs.mean(1), "error_std": errs.std(1),
            "mse_mean": mses.mean(1)}
