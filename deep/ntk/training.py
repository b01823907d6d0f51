r"""Training in the lazy (NTK) regime, the closed-form NTK dynamics, and empirical-NTK tracking during standard vs
adversarial training.

* :func:`train_mse` -- full-batch gradient descent on ``(1/2n) sum_i ||f(x_i) - y_i||^2``; for an
  :class:`~deep.ntk.model.NTKMLP` of large width the function follows ``d f/dt = -(eta/n) Theta (f - y)``.
* :func:`ntk_mse_dynamics` -- ``f_t(X) = Y + exp(-eta t Theta/n) (f_0(X) - Y)`` on the training points, expressed
  per eigen-mode: ``v_i^T (f_t - Y) = exp(-eta lambda_i t / n) v_i^T (f_0 - Y)`` (spectral bias, spec §0.1).
* :func:`track_ntk` -- empirical NTK of a probe set after each epoch of clean / FGSM / PGD adversarial training
  (:func:`deep.attacks.adversarial_training`), probe kernels always on the clean probe inputs.
"""
from __future__ import annotations

import numpy as np
import torch

from asymptotics.validation import choice, integer, nonnegative, positive

from .empirical import empirical_ntk


def train_mse(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, lr: float, steps: int,
              record_every: int = 0) -> list:
    """Full-batch GD on the mean squared error (halved); returns the recorded ``(step, loss)`` pairs.

    Parameters
    ----------
    model : torch.nn.Module
        The network (trained in place).
    X, Y : torch.Tensor
        Inputs and targets.
    lr : float
        Step size.
    steps : int
        Gradient steps.
    record_every : int, default 0
        Record the loss every that many steps (0: never).

    Returns
    -------
    list of (int, float)

    Examples
    --------
    >>> import torch
    >>> from deep.ntk import train_mse
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0)).double()
    >>> X = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> trace = train_mse(net, X, torch.zeros(4, dtype=torch.float64), lr=0.1, steps=3, record_every=1)
    >>> [step for step, _ in trace], trace[-1][1] < trace[0][1]
    ([0, 1, 2], True)
    """
    positive("lr", lr)
    integer("steps", steps, low=0)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    trace = []
    for step in range(steps):
        opt.zero_grad()
        out = model(X)
        loss = 0.5 * ((out - Y) ** 2).reshape(X.shape[0], -1).sum(1).mean()
        if record_every and step % record_every == 0:
            trace.append((step, float(loss)))
        loss.backward()
        opt.step()
    return trace


def ntk_mse_dynamics(K: torch.Tensor, Y: torch.Tensor, times, lr: float, f0: torch.Tensor | None = None) -> dict:
    """Kernel gradient-flow residuals on the training set, mode by mode: ``residual[t, i] = |v_i^T (f_t - Y)|`` for
    ``f_t - Y = exp(-lr t K / n) (f_0 - Y)`` (``f_0 = 0`` by default).

    Parameters
    ----------
    K : torch.Tensor
        The kernel on the training set (n, n).
    Y : torch.Tensor
        Targets (n,).
    times : sequence of float
        The times t.
    lr : float
        Step size (the flow's time scale).
    f0 : torch.Tensor, optional
        Initial function values.

    Returns
    -------
    dict
        ``eigenvalues`` (n,), decreasing, and ``residual`` (T, n).

    Examples
    --------
    >>> import torch
    >>> from deep.ntk import ntk_mse_dynamics
    >>> K = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    >>> out = ntk_mse_dynamics(K, torch.tensor([1.0, -1.0], dtype=torch.float64), [0, 10], lr=1.0)
    >>> out["eigenvalues"].tolist(), out["residual"].round(decimals=4).tolist()
    ([3.0, 1.0], [[0.0, 1.4142], [0.0, 0.0095]])
    """
    positive("lr", lr)
    lam, V = torch.linalg.eigh(K.to(torch.float64))
    lam, V = lam.flip(0), V.flip(1)
    r0 = (torch.zeros_like(Y) if f0 is None else f0) - Y
    proj = V.T @ r0.to(torch.float64)
    t = torch.as_tensor(np.asarray(times, dtype=np.float64), device=lam.device)
    decay = torch.exp(-lr * t[:, None] * lam[None, :] / K.shape[0])
    res = decay * proj.reshape(1, -1).abs() if proj.ndim == 1 else decay * proj.norm(dim=1)[None, :]
    return {"eigenvalues": lam, "residual": res}


def track_ntk(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, X_probe: torch.Tensor, epochs: int,
              lr: float, method: str = "clean", eps: float = 0.1, attack_steps: int = 10,
              batch_size: int | None = None, mode: str = "full", generator=None, every: int = 1) -> dict:
    r"""Train ``model`` with SGD (``method`` in ``clean``, ``fgsm``, ``pgd``) and record the empirical NTK of
    ``X_probe`` at epoch 0 and after every ``every`` epochs.

    FGSM-AT = one PGD step of size ``eps`` without random start; PGD-AT = ``attack_steps`` steps of size
    ``2.5 eps / steps`` with random start (Madry et al.).

    Parameters
    ----------
    model : torch.nn.Module
        The network (trained in place).
    X, y : torch.Tensor
        Training data (+-1 labels or class indices).
    X_probe : torch.Tensor
        Inputs on which the NTK is recorded.
    epochs : int
        Training epochs.
    lr : float
        SGD step size.
    method : {"clean", "fgsm", "pgd"}, default "clean"
        Standard or adversarial training.
    eps : float, default 0.1
        linf radius of adversarial training.
    attack_steps : int, default 10
        PGD steps.
    batch_size : int, optional
        Minibatch size (None: full batch).
    mode : {"mean", "trace", "full"}, default "full"
        See :func:`deep.ntk.empirical_ntk`.
    generator : torch.Generator, optional
        Minibatch order and random starts.
    every : int, default 1
        Epochs between two recorded kernels.

    Returns
    -------
    dict
        ``epochs``, ``kernels`` and ``train_acc`` (clean training accuracy, a fraction).

    Examples
    --------
    >>> import torch
    >>> from deep.ntk import NTKMLP, track_ntk
    >>> X = torch.rand(8, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> y = torch.where(X[:, 0] > 0.5, 1.0, -1.0).double()
    >>> net = NTKMLP(3, [16], generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> out = track_ntk(net, X, y, X[:4], epochs=2, lr=0.1, mode="trace", generator=torch.Generator().manual_seed(0))
    >>> out["epochs"], tuple(out["kernels"][0].shape)
    ([0, 1, 2], (4, 4))
    """
    from deep.attacks import accuracy, adversarial_training

    choice("method", method, ("clean", "fgsm", "pgd"))
    integer("epochs", epochs, low=1)
    nonnegative("eps", eps)
    opt = torch.optim.SGD(model.parameters(), lr=positive("lr", lr))
    kernels, recorded, acc = [empirical_ntk(model, X_probe, mode=mode)], [0], [accuracy(model, X, y)]
    train_eps = 0.0 if method == "clean" else eps
    steps = 1 if method == "fgsm" else attack_steps
    options = dict(step_size=eps, random_start=False) if method == "fgsm" else dict(random_start=True)
    for epoch in range(1, epochs + 1):
        adversarial_training(model, opt, X, y, train_eps, epochs=1, batch_size=batch_size, attack_steps=steps,
                             generator=generator, **options)
        if epoch % every == 0 or epoch == epochs:
            kernels.append(empirical_ntk(model, X_probe, mode=mode))
            recorded.append(epoch)
            acc.append(accuracy(model, X, y))
    return {"epochs": recorded, "kernels": kernels, "train_acc": acc}

