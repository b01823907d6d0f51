r"""KIP dataset distillation (Nguyen, Chen & Lee 2021) and its adversarial variant (Tsilivis, Su & Kempe 2022).

Loss (spec deep_robustness_ntk.md §2.2), for a support set ``(X_s, Y_s)`` and a target batch ``(X_t, Y_t)``::

    L(X_s, Y_s; X_t, Y_t) = 1/2 || Y_t - K(X_t, X_s) (K(X_s, X_s) + lambda I)^{-1} Y_s ||_F^2,
    lambda = ridge * Tr(K(X_s, X_s)) / |S|                                  (KIP's scale-free ridge)

Adversarial KIP replaces ``X_t`` by ``X_t + Delta*``, ``Delta* ~ argmax_{||Delta_j||_inf <= eps, X_t + Delta in [0,1]}``
of the same loss, found by ``attack_steps`` steps of linf PGD against the current kernel predictor (no random start;
per target point the iterate with the largest loss is kept, so ``Delta = 0`` is a candidate and the robust loss is never
below the clean one). The outer gradient treats ``Delta*`` as fixed (Danskin). With ``eps = 0`` the objective and its
gradient are exactly KIP's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative, positive

from .analytic import kernel_function


def _kernel(kernel, kernel_options):
    return kernel_function(kernel, **(kernel_options or {})) if isinstance(kernel, str) else kernel


def kip_predict(Xs, Ys, x, kernel, ridge: float = 1e-6):
    """Kernel regression prediction ``K(x, X_s) (K_ss + lambda I)^{-1} Y_s``, ``lambda = ridge Tr(K_ss)/|S|``.

    Parameters
    ----------
    Xs, Ys : torch.Tensor
        Support inputs and targets.
    x : torch.Tensor
        Query inputs.
    kernel : callable
        ``k(x1, x2)``.
    ridge : float, default 1e-6
        Relative ridge.

    Returns
    -------
    torch.Tensor
        Predictions, shape (n,) or (n, C).

    Examples
    --------
    >>> import torch
    >>> Xs = torch.eye(2, 3, dtype=torch.float64); Ys = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> Xt = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> Yt = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    >>> from deep.ntk import kernel_function, kip_predict
    >>> kip_predict(Xs, Ys, Xs, kernel_function("ntk"))          # interpolates the support set
    tensor([ 1.0000, -1.0000], dtype=torch.float64)
    """
    Kss = kernel(Xs, Xs)
    lam = ridge * Kss.diagonal().sum() / Kss.shape[0]
    alpha = torch.linalg.solve(Kss + lam * torch.eye(Kss.shape[0], dtype=Kss.dtype, device=Kss.device), Ys)
    return kernel(x, Xs) @ alpha


def per_target_loss(Xs, Ys, Xt, Yt, kernel, ridge: float = 1e-6):
    """``1/2 ||Y_t[j] - f(X_t[j])||^2`` per target point, shape ``(m,)``.

    Parameters
    ----------
    Xs, Ys : torch.Tensor
        Support inputs (s, d) and targets (s,) or (s, C), float64.
    Xt, Yt : torch.Tensor
        Target inputs and targets.
    kernel : callable
        ``k(x1, x2)``.
    ridge : float, default 1e-6
        Relative ridge.

    Returns
    -------
    torch.Tensor
        Shape (m,).

    Examples
    --------
    >>> import torch
    >>> Xs = torch.eye(2, 3, dtype=torch.float64); Ys = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> Xt = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> Yt = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    >>> from deep.ntk import kernel_function, per_target_loss
    >>> per_target_loss(Xs, Ys, Xt, Yt, kernel_function("ntk")).shape
    torch.Size([4])
    """
    r = Yt - kip_predict(Xs, Ys, Xt, kernel, ridge)
    return 0.5 * (r * r).reshape(r.shape[0], -1).sum(1)


def kip_loss(Xs, Ys, Xt, Yt, kernel="ntk", ridge: float = 1e-6, kernel_options=None):
    """KIP loss (module docstring): the sum of :func:`per_target_loss`; differentiable in ``Xs`` and ``Ys``.

    Parameters
    ----------
    Xs, Ys : torch.Tensor
        Support inputs (s, d) and targets (s,) or (s, C), float64.
    Xt, Yt : torch.Tensor
        Target inputs and targets.
    kernel : str or callable, default "ntk"
        A name for :func:`deep.ntk.kernel_function` ("ntk", "nngp", "linear") or ``k(x1, x2)``.
    ridge : float, default 1e-6
        Relative ridge: ``lambda = ridge Tr(K_ss)/|S|``.
    kernel_options : dict, optional
        ``depth``, ``sigma_w``, ``sigma_b`` of a named kernel.

    Returns
    -------
    torch.Tensor
        A 0-d tensor.

    Examples
    --------
    >>> import torch
    >>> Xs = torch.eye(2, 3, dtype=torch.float64); Ys = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> Xt = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> Yt = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    >>> from deep.ntk import kip_loss
    >>> round(float(kip_loss(Xs, Ys, Xt, Yt)), 4)
    2.0606
    """
    return per_target_loss(Xs, Ys, Xt, Yt, _kernel(kernel, kernel_options), ridge).sum()


def adversarial_targets(Xs, Ys, Xt, Yt, eps: float, kernel="ntk", ridge: float = 1e-6, steps: int = 10,
                        step_size: float | None = None, box=(0.0, 1.0), kernel_options=None) -> torch.Tensor:
    """Inner maximisation: linf PGD on ``X_t`` against the kernel predictor of ``(X_s, Y_s)`` (module docstring).

    ``delta_{k+1} = Proj(delta_k + step_size sign grad_delta L)``, ``Proj`` = linf ball then box
    (:func:`deep.attacks.project`); per point, the iterate of largest loss is kept.

    Parameters
    ----------
    Xs, Ys : torch.Tensor
        Support inputs (s, d) and targets (s,) or (s, C), float64.
    Xt, Yt : torch.Tensor
        Target inputs and targets.
    eps : float
        linf radius of the target perturbations.
    steps : int, default 10
        PGD steps.
    step_size : float, optional
        Default ``eps / 4``.
    box : (float, float) or None, default (0.0, 1.0)
        Valid input range.
    kernel : str or callable, default "ntk"
        A name for :func:`deep.ntk.kernel_function` ("ntk", "nngp", "linear") or ``k(x1, x2)``.
    ridge : float, default 1e-6
        Relative ridge: ``lambda = ridge Tr(K_ss)/|S|``.
    kernel_options : dict, optional
        ``depth``, ``sigma_w``, ``sigma_b`` of a named kernel.

    Returns
    -------
    torch.Tensor
        The detached ``X_t + Delta*``.

    Examples
    --------
    >>> import torch
    >>> Xs = torch.eye(2, 3, dtype=torch.float64); Ys = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> Xt = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> Yt = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    >>> from deep.ntk import adversarial_targets
    >>> X_adv = adversarial_targets(Xs, Ys, Xt, Yt, eps=0.1, steps=3)
    >>> bool((X_adv - Xt).abs().max() <= 0.1)
    True
    """
    from deep.attacks import project

    nonnegative("eps", eps)
    integer("steps", steps, low=0)
    kern = _kernel(kernel, kernel_options)
    Xs, Ys = Xs.detach(), Ys.detach()
    Xt = Xt.detach()
    if eps == 0 or steps == 0:
        return Xt.clone()
    alpha = step_size if step_size is not None else eps / 4
    positive("step_size", alpha)
    best = Xt.clone()
    best_loss = per_target_loss(Xs, Ys, Xt, Yt, kern, ridge).detach()
    delta = torch.zeros_like(Xt)
    for _ in range(steps):
        delta.requires_grad_(True)
        with torch.enable_grad():
            loss = per_target_loss(Xs, Ys, Xt + delta, Yt, kern, ridge)
            (g,) = torch.autograd.grad(loss.sum(), delta)
        delta = project(delta.detach() + alpha * g.sign(), Xt, eps, "linf", box)
        with torch.no_grad():
            cur = per_target_loss(Xs, Ys, Xt + delta, Yt, kern, ridge)
            better = cur > best_loss
            best = torch.where(better[:, None], Xt + delta, best)
            best_loss = torch.where(better, cur, best_loss)
    return best.detach()


def adversarial_kip_loss(Xs, Ys, Xt, Yt, eps: float, kernel="ntk", ridge: float = 1e-6, steps: int = 10,
                         step_size: float | None = None, kernel_options=None):
    """Robust KIP loss at the PGD-perturbed targets (``Delta*`` frozen: its gradient in ``Xs`` is Danskin's).

    Parameters
    ----------
    Xs, Ys : torch.Tensor
        Support inputs (s, d) and targets (s,) or (s, C), float64.
    Xt, Yt : torch.Tensor
        Target inputs and targets.
    eps : float
        linf radius of the target perturbations.
    steps : int, default 10
        PGD steps.
    step_size : float, optional
        Default ``eps / 4``.
    kernel : str or callable, default "ntk"
        A name for :func:`deep.ntk.kernel_function` ("ntk", "nngp", "linear") or ``k(x1, x2)``.
    ridge : float, default 1e-6
        Relative ridge: ``lambda = ridge Tr(K_ss)/|S|``.
    kernel_options : dict, optional
        ``depth``, ``sigma_w``, ``sigma_b`` of a named kernel.

    Returns
    -------
    torch.Tensor
        A 0-d tensor, never below the clean :func:`kip_loss`.

    Examples
    --------
    >>> import torch
    >>> Xs = torch.eye(2, 3, dtype=torch.float64); Ys = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> Xt = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> Yt = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    >>> from deep.ntk import adversarial_kip_loss, kip_loss
    >>> bool(adversarial_kip_loss(Xs, Ys, Xt, Yt, eps=0.1, steps=3) >= kip_loss(Xs, Ys, Xt, Yt))
    True
    """
    kern = _kernel(kernel, kernel_options)
    Xadv = adversarial_targets(Xs, Ys, Xt, Yt, eps, kern, ridge, steps, step_size)
    return per_target_loss(Xs, Ys, Xadv, Yt, kern, ridge).sum()


@dataclass
class KIPResult:
    """Distilled support set and the loss trace (returned by :func:`distill`).

    Attributes
    ----------
    X, Y : torch.Tensor
        The distilled support inputs and labels.
    loss : list of float
        ``loss[k]`` = batch loss before outer step ``k``.
    eps : float
        The radius of the adversarial targets (0: plain KIP).

    Examples
    --------
    >>> import torch
    >>> Xs = torch.eye(2, 3, dtype=torch.float64); Ys = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> Xt = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> Yt = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    >>> from deep.ntk import distill
    >>> result = distill(Xs, Ys, Xt, Yt, steps=3, batch_size=4, generator=torch.Generator().manual_seed(0))
    >>> len(result.loss), result.X.shape, result.loss[-1] < result.loss[0]
    (3, torch.Size([2, 3]), True)
    """

    X: torch.Tensor
    Y: torch.Tensor
    loss: list = field(default_factory=list)
    eps: float = 0.0


def distill(X_init, Y_init, X_train, Y_train, steps: int = 200, lr: float = 1e-2, batch_size: int = 300,
            eps: float = 0.0, attack_steps: int = 10, step_size: float | None = None, kernel="ntk",
            ridge: float = 1e-6, learn_labels: bool = False, clip: bool = True, generator=None,
            kernel_options=None) -> KIPResult:
    r"""(Adversarial) KIP: Adam on the support inputs (and labels if ``learn_labels``) on the loss of random target
    batches of the training set (PGD-perturbed when ``eps > 0``); support inputs clipped to [0, 1] after each step.

    Parameters
    ----------
    X_init, Y_init : tensors (s, d), (s, C) or (s,)
        Initial support set (e.g. class-balanced real images, one-hot labels), float64.
    X_train, Y_train : tensors
        Pool the target batches are drawn from (same label format).
    steps, lr, batch_size : int, float, int
        Outer Adam steps, learning rate, target batch size.
    eps, attack_steps, step_size : float, int, float
        Inner linf PGD (``eps = 0``: plain KIP).
    kernel, ridge, kernel_options
        See :func:`kip_loss`.
    learn_labels : bool, default False
        Optimise the support labels too.
    clip : bool, default True
        Clip the support inputs to [0, 1] after each step.
    generator : torch.Generator, optional
        Target-batch sampling; a CPU generator (indices are drawn on the CPU, then moved to the data's device, so the
        same seed gives the same batches on every device).

    Returns
    -------
    KIPResult

    Examples
    --------
    >>> import torch
    >>> Xs = torch.eye(2, 3, dtype=torch.float64); Ys = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> Xt = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> Yt = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    >>> from deep.ntk import distill, kip_loss
    >>> result = distill(Xs, Ys, Xt, Yt, steps=3, batch_size=4, generator=torch.Generator().manual_seed(0))
    >>> bool(kip_loss(result.X, result.Y, Xt, Yt) < kip_loss(Xs, Ys, Xt, Yt))
    True
    """
    integer("steps", steps, low=0)
    positive("lr", lr)
    integer("batch_size", batch_size, low=1)
    nonnegative("eps", eps)
    if X_init.shape[0] != Y_init.shape[0] or X_train.shape[0] != Y_train.shape[0]:
        raise InvalidParameter("Y_init", "inputs and labels must have the same number of rows")
    kern = _kernel(kernel, kernel_options)
    Xs = X_init.detach().clone().requires_grad_(True)
    Ys = Y_init.detach().clone().requires_grad_(learn_labels)
    opt = torch.optim.Adam([Xs, Ys] if learn_labels else [Xs], lr=lr)
    n = X_train.shape[0]
    result = KIPResult(Xs, Ys, [], float(eps))
    for _ in range(steps):
        idx = torch.randperm(n, generator=generator)[:batch_size].to(X_train.device)
        Xt, Yt = X_train[idx], Y_train[idx]
        if eps > 0:
            Xt = adversarial_targets(Xs, Ys, Xt, Yt, eps, kern, ridge, attack_steps, step_size)
        opt.zero_grad()
        loss = per_target_loss(Xs, Ys, Xt, Yt, kern, ridge).sum()
        loss.backward()
        opt.step()
        if clip:
            with torch.no_grad():
                Xs.clamp_(0.0, 1.0)
        result.loss.append(float(loss.detach()))
    result.X, result.Y = Xs.detach(), Ys.detach()
    return result
