r"""White-box gradient attacks: FGSM, PGD (with restarts) and an APGD-style step-size schedule, batched.

All attacks take a model (outputs ``(n,)`` for binary labels in {-1, +1} or logits ``(n, C)`` for class labels),
inputs ``x`` and labels ``y``, and return ``x' = x + delta`` with ``||delta_i||_p <= eps`` and ``x'`` in the box
(``deep.attacks.threat.project``). They never change ``model.training`` and never accumulate parameter gradients.

Objective per sample (maximized): ``loss(outputs, y)`` untargeted, ``-loss(outputs, target)`` targeted, where ``loss``
is ``"ce"`` (cross-entropy), ``"margin"`` (``-q``: minus the classification margin), ``"dlr"`` (Croce & Hein's
difference of logits ratio, multiclass, C >= 3), ``"exp"`` (``e^{-q}``), ``"logistic"`` (``log(1 + e^{-q})``), a
callable ``loss(outputs, labels) -> (n,)``, or ``"auto"`` (ce for logits, logistic for binary outputs).

Across restarts and iterates each sample keeps its best point: a successful one (misclassified, or classified as the
target) first, then the largest objective. A binary output of exactly 0 counts as misclassified.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative, positive, real

from ..margins.margins import output_margins
from .threat import ascent_direction, check_box, parse_threat, project, random_point

LOSS_NAMES = ("auto", "ce", "margin", "dlr", "exp", "logistic")


def per_sample_loss(outputs: torch.Tensor, labels: torch.Tensor, loss="auto") -> torch.Tensor:
    """Per-sample attack loss (see the module docstring): ``ce``, ``margin`` (``-q``), ``dlr``, ``exp``, ``logistic``,
    a callable, or ``auto`` (ce for logits, logistic for binary outputs).

    Parameters
    ----------
    outputs : torch.Tensor
        Model outputs (n,) or logits (n, C).
    labels : torch.Tensor
        Labels +-1 or class indices.
    loss : str or callable, default "auto"
        The loss.

    Returns
    -------
    torch.Tensor
        Shape (n,).

    Examples
    --------
    >>> import torch
    >>> from deep.attacks import per_sample_loss
    >>> per_sample_loss(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 1.0]), loss="margin")
    tensor([-2.,  1.])
    """
    if callable(loss):
        value = loss(outputs, labels)
        if value.shape != (outputs.shape[0],):
            raise InvalidParameter("loss", f"a callable loss must return shape (n,), got {tuple(value.shape)}")
        return value
    if loss not in LOSS_NAMES:
        raise InvalidParameter("loss", f"must be one of {LOSS_NAMES} or a callable, got {loss!r}")
    if loss == "auto":
        loss = "ce" if outputs.ndim == 2 else "logistic"
    if loss == "ce":
        if outputs.ndim != 2:
            raise InvalidParameter("loss", "'ce' needs logits of shape (n, C); use 'logistic' for binary outputs")
        return F.cross_entropy(outputs, labels.long(), reduction="none")
    if loss == "dlr":
        if outputs.ndim != 2 or outputs.shape[1] < 3:
            raise InvalidParameter("loss", "'dlr' needs logits with at least 3 classes")
        top = outputs.sort(1, descending=True).values
        q = output_margins(outputs, labels)
        return -q / (top[:, 0] - top[:, 2] + 1e-12)
    q = output_margins(outputs, labels)
    if loss == "margin":
        return -q
    if loss == "exp":
        return torch.exp(-q)
    return F.softplus(-q)


def _success(outputs, y, target):
    if target is None:
        return output_margins(outputs, y) <= 0
    if outputs.ndim == 1:
        return torch.sign(outputs) == target.to(outputs.dtype)
    return outputs.argmax(1) == target.long()


def _objective_and_grad(model, x, delta, labels, loss, sign):
    delta = delta.detach().requires_grad_(True)
    with torch.enable_grad():
        out = model(x + delta)
        obj = sign * per_sample_loss(out, labels, loss)
        (g,) = torch.autograd.grad(obj.sum(), delta)
    return obj.detach(), out.detach(), g


def _validate(x, y, eps, norm, box, target):
    norm = parse_threat(norm)
    nonnegative("eps", eps)
    box = check_box(box)
    if x.shape[0] != y.shape[0]:
        raise InvalidParameter("y", f"has {y.shape[0]} labels for {x.shape[0]} inputs")
    if target is not None and target.shape[0] != x.shape[0]:
        raise InvalidParameter("target", f"has {target.shape[0]} entries for {x.shape[0]} inputs")
    if box is not None and (float(x.min()) < box[0] - 1e-6 or float(x.max()) > box[1] + 1e-6):
        raise InvalidParameter("x", f"inputs must lie in the box {box}; pass box=None for unbounded inputs")
    return norm, box


class _Best:
    """Per-sample best point: success first, then the largest objective."""

    def __init__(self, x):
        n = x.shape[0]
        self.delta = torch.zeros_like(x)
        self.obj = torch.full((n,), -math.inf, device=x.device, dtype=x.dtype)
        self.succ = torch.zeros(n, dtype=torch.bool, device=x.device)

    def update(self, delta, obj, succ):
        better = (succ & ~self.succ) | ((succ == self.succ) & (obj > self.obj))
        shape = (-1,) + (1,) * (delta.ndim - 1)
        self.delta = torch.where(better.reshape(shape), delta.detach(), self.delta)
        self.obj = torch.where(better, obj, self.obj)
        self.succ = self.succ | succ


def fgsm(model, x, y, eps: float, norm: str = "linf", loss="auto", targeted: bool = False, target=None,
         box=(0.0, 1.0), l1_fraction: float = 0.05) -> torch.Tensor:
    """Fast gradient (sign) method: one step of size ``eps`` along the steepest-ascent direction of ``norm``.

    linf: ``x' = clip(x + eps sign(grad_x loss))``; l2: ``x + eps g/||g||``; l1: the sparse l1 step of
    :func:`deep.attacks.threat.ascent_direction`.

    Parameters
    ----------
    model : callable
        Outputs (n,) for labels +-1, or logits (n, C) for class indices.
    x : torch.Tensor
        Inputs in the box, shape (n, ...).
    y : torch.Tensor
        Labels.
    eps : float
        Radius in input units.
    norm : {"linf", "l2", "l1"}, default "linf"
        The threat model.
    loss : str or callable, default "auto"
        See :func:`per_sample_loss`.
    targeted : bool, default False
        Minimise the loss of ``target`` instead.
    target : torch.Tensor, optional
        Target labels of a targeted attack.
    box : (float, float) or None, default (0.0, 1.0)
        Valid input range.
    l1_fraction : float, default 0.05
        Fraction of coordinates moved by an l1 step.

    Returns
    -------
    torch.Tensor
        Detached adversarial inputs.

    Examples
    --------
    >>> import torch
    >>> model = lambda z: z.sum(1) - 1.0                  # a linear binary classifier f(x) = sum(x) - 1
    >>> x = torch.full((1, 2), 0.6); y = torch.tensor([1.0])
    >>> from deep.attacks import fgsm
    >>> fgsm(model, x, y, eps=0.1)
    tensor([[0.5000, 0.5000]])
    """
    target = _target(targeted, target)
    norm, box = _validate(x, y, eps, norm, box, target)
    labels, sign = (y, 1.0) if target is None else (target, -1.0)
    _, _, g = _objective_and_grad(model, x, torch.zeros_like(x), labels, loss, sign)
    delta = eps * ascent_direction(g, norm, x, box, l1_fraction)
    return (x + project(delta, x, eps, norm, box)).detach()


def _target(targeted, target):
    if targeted and target is None:
        raise InvalidParameter("target", "targeted=True needs target labels")
    if not targeted and target is not None:
        raise InvalidParameter("targeted", "target given but targeted=False")
    return target


def pgd(model, x, y, eps: float, norm: str = "linf", steps: int = 10, step_size: float | None = None,
        random_start: bool = True, restarts: int = 1, loss="auto", targeted: bool = False, target=None,
        generator: torch.Generator | None = None, box=(0.0, 1.0), l1_fraction: float = 0.05) -> torch.Tensor:
    r"""Projected gradient ascent (Madry et al.) in an lp ball intersected with the box.

    ``delta_{k+1} = Proj(delta_k + alpha * u_k)``, ``u_k`` the unit steepest-ascent direction of ``norm``
    (``sign(g)`` for linf, ``g/||g||_2`` for l2, sparse sign for l1), ``Proj`` = ball then box.

    Parameters
    ----------
    model : callable
    x : tensor (n, ...)
        Inputs in the box.
    y : tensor (n,)
        Labels (+-1 for binary outputs, class indices for logits).
    eps : float
        Radius in input units.
    norm : {"linf", "l2", "l1"}
    steps : int
    step_size : float, optional
        Constant ``alpha``; default :func:`pgd_step_sizes` (``2.5 eps / steps`` for linf and l1, a geometric decay
        from ``eps`` to ``eps / steps`` for l2).
    random_start : bool
        Start at a random point of the ball (drawn from ``generator``) instead of ``delta = 0``.
    restarts : int
        Independent random starts; the best point per sample is kept.
    loss : str or callable
    targeted : bool
    target : tensor, optional
    generator : torch.Generator, optional
    box : (lo, hi) or None
    l1_fraction : float
        Fraction of coordinates moved by an l1 step.

    Returns
    -------
    tensor
        Detached adversarial inputs.

    Examples
    --------
    >>> import torch
    >>> model = lambda z: z.sum(1) - 1.0
    >>> x = torch.full((1, 2), 0.6); y = torch.tensor([1.0])
    >>> x_adv = pgd(model, x, y, eps=0.1, random_start=False)
    >>> x_adv
    tensor([[0.5000, 0.5000]])
    """
    target = _target(targeted, target)
    norm, box = _validate(x, y, eps, norm, box, target)
    integer("steps", steps, low=0)
    integer("restarts", restarts, low=1)
    alphas = pgd_step_sizes(eps, steps, norm) if step_size is None else [positive("step_size", step_size)] * steps
    real("l1_fraction", l1_fraction, low=0.0, high=1.0)
    labels, sign = (y, 1.0) if target is None else (target, -1.0)
    best = _Best(x)
    x = x.detach()
    for _ in range(restarts):
        delta = random_point(x, eps, norm, generator) if random_start else torch.zeros_like(x)
        delta = project(delta, x, eps, norm, box)
        for alpha in alphas:
            obj, out, g = _objective_and_grad(model, x, delta, labels, loss, sign)
            best.update(delta, obj, _success(out, y, target))
            delta = project(delta + alpha * ascent_direction(g, norm, x + delta, box, l1_fraction), x, eps, norm, box)
        with torch.no_grad():
            out = model(x + delta)
            best.update(delta, sign * per_sample_loss(out, labels, loss), _success(out, y, target))
    return (x + best.delta).detach()


def pgd_step_sizes(eps: float, steps: int, norm: str = "linf") -> list[float]:
    r"""Default PGD step sizes ``alpha_0, ..., alpha_{steps-1}``.

    linf and l1: constant ``2.5 eps / steps`` (Madry et al.): a path of ``2.5 eps`` lets every coordinate cross the
    ball (length ``2 eps``) with room to spare. l2: ``alpha_k = eps steps^{-k/(steps-1)}``, a geometric decay from
    ``eps`` to ``eps / steps``. Why: on the sphere a step ``alpha`` shrinks the angle between ``delta`` and the
    ascent direction only by a factor ``~ 1 / (1 + alpha/eps)``, so the constant schedule's total
    ``sum alpha_k / eps = 2.5`` leaves a random start ``e^{-2.5}`` of its angle: 1-4 % short of the worst-case
    objective of a linear model at any number of steps. The decay's first steps (``alpha = eps`` halves the angle)
    and its sum ``~ steps / ln(steps)`` reach the worst case to rounding at 200 steps (0.2 % at 10 steps), while its
    last steps stay as fine as the constant schedule's.

    Parameters
    ----------
    eps : float
        The radius.
    steps : int
        The number of steps.
    norm : {"linf", "l2", "l1"}, default "linf"
        The threat model.

    Returns
    -------
    list of float

    Examples
    --------
    >>> from deep.attacks import pgd_step_sizes
    >>> [round(a, 3) for a in pgd_step_sizes(1.0, 3, "l2")]
    [1.0, 0.577, 0.333]
    """
    nonnegative("eps", eps)
    integer("steps", steps, low=0)
    if parse_threat(norm) != "l2":
        return [2.5 * eps / max(steps, 1)] * steps
    return [eps * float(steps) ** (-k / max(steps - 1, 1)) for k in range(steps)]


def apgd_checkpoints(steps: int) -> list[int]:
    """APGD checkpoints ``w_j = ceil(p_j steps)``: ``p_0 = 0``, ``p_1 = 0.22``,
    ``p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)`` (Croce & Hein 2020).

    Parameters
    ----------
    steps : int
        The iteration budget.

    Returns
    -------
    list of int

    Examples
    --------
    >>> from deep.attacks import apgd_checkpoints
    >>> apgd_checkpoints(100)
    [22, 41, 58, 70, 80, 87, 93, 99]
    """
    ps = [0.0, 0.22]
    while ps[-1] < 1.0:
        ps.append(ps[-1] + max(ps[-1] - ps[-2] - 0.03, 0.06))
    return sorted({int(math.ceil(p * steps)) for p in ps if p <= 1.0} - {0})


def apgd(model, x, y, eps: float, norm: str = "linf", steps: int = 100, restarts: int = 1, loss="auto",
         targeted: bool = False, target=None, rho: float = 0.75, momentum: float = 0.75,
         generator: torch.Generator | None = None, box=(0.0, 1.0), l1_fraction: float = 0.05) -> torch.Tensor:
    """APGD-style attack: PGD with momentum and a per-sample step size ``eta`` (start ``2 eps``) halved at the
    checkpoints of :func:`apgd_checkpoints` when fewer than ``rho`` of the steps since the last checkpoint increased
    the objective, or when neither ``eta`` nor the best objective changed; after a halving the iterate restarts from
    the best point. Update: ``z = P(x_k + eta u_k)``,
    ``x_{k+1} = P(x_k + momentum (z - x_k) + (1 - momentum)(x_k - x_{k-1}))``.
    Written from the paper's description; a stronger check than fixed-step PGD, not a copy of AutoAttack.

    Parameters
    ----------
    model : callable
        Outputs (n,) for labels +-1, or logits (n, C) for class indices.
    x : torch.Tensor
        Inputs in the box, shape (n, ...).
    y : torch.Tensor
        Labels.
    eps : float
        Radius in input units.
    norm : {"linf", "l2", "l1"}, default "linf"
        The threat model.
    steps : int, default 100
        Iterations per restart.
    restarts : int, default 1
        Random starts; the best point per sample is kept.
    loss : str or callable, default "auto"
        See :func:`per_sample_loss`.
    targeted : bool, default False
        Minimise the loss of ``target`` instead.
    target : torch.Tensor, optional
        Target labels.
    rho : float, default 0.75
        Fraction of increasing steps below which ``eta`` is halved.
    momentum : float, default 0.75
        Momentum weight.
    generator : torch.Generator, optional
        Source of the random starts.
    box : (float, float) or None, default (0.0, 1.0)
        Valid input range.
    l1_fraction : float, default 0.05
        Fraction of coordinates moved by an l1 step.

    Returns
    -------
    torch.Tensor
        Detached adversarial inputs.

    Examples
    --------
    >>> import torch
    >>> model = lambda z: z.sum(1) - 1.0                  # a linear binary classifier f(x) = sum(x) - 1
    >>> x = torch.full((1, 2), 0.6); y = torch.tensor([1.0])
    >>> from deep.attacks import apgd
    >>> apgd(model, x, y, eps=0.1, steps=10, generator=torch.Generator().manual_seed(0))
    tensor([[0.5000, 0.5000]])
    """
    target = _target(targeted, target)
    norm, box = _validate(x, y, eps, norm, box, target)
    integer("steps", steps, low=1)
    integer("restarts", restarts, low=1)
    real("rho", rho, low=0.0, high=1.0)
    real("momentum", momentum, low=0.0, high=1.0)
    labels, sign = (y, 1.0) if target is None else (target, -1.0)
    checkpoints = apgd_checkpoints(steps)
    n = x.shape[0]
    shape = (-1,) + (1,) * (x.ndim - 1)
    overall = _Best(x)
    x = x.detach()
    for _ in range(restarts):
        delta = project(random_point(x, eps, norm, generator), x, eps, norm, box)
        eta = torch.full((n,), 2.0 * eps, device=x.device, dtype=x.dtype)
        obj, out, g = _objective_and_grad(model, x, delta, labels, loss, sign)
        best = _Best(x)
        best.update(delta, obj, _success(out, y, target))
        prev_delta = delta
        delta = project(delta + eta.reshape(shape) * ascent_direction(g, norm, x + delta, box, l1_fraction),
                        x, eps, norm, box)
        increases = torch.zeros(n, device=x.device, dtype=x.dtype)
        last_obj = obj
        last_check, eta_at_check, best_at_check = 0, eta.clone(), best.obj.clone()
        for k in range(1, steps):
            obj, out, g = _objective_and_grad(model, x, delta, labels, loss, sign)
            best.update(delta, obj, _success(out, y, target))
            increases += (obj > last_obj).to(x.dtype)
            last_obj = obj
            if k in checkpoints:
                span = k - last_check
                cond1 = increases < rho * span
                cond2 = (eta == eta_at_check) & (best.obj <= best_at_check)
                halve = cond1 | cond2
                eta = torch.where(halve, eta / 2, eta)
                delta = torch.where(halve.reshape(shape), best.delta, delta)
                increases.zero_()
                last_check, eta_at_check, best_at_check = k, eta.clone(), best.obj.clone()
                if bool(halve.any()):
                    obj, out, g = _objective_and_grad(model, x, delta, labels, loss, sign)
            z = project(delta + eta.reshape(shape) * ascent_direction(g, norm, x + delta, box, l1_fraction),
                        x, eps, norm, box)
            new = project(delta + momentum * (z - delta) + (1 - momentum) * (delta - prev_delta), x, eps, norm, box)
            prev_delta, delta = delta, new
        with torch.no_grad():
            out = model(x + delta)
            best.update(delta, sign * per_sample_loss(out, labels, loss), _success(out, y, target))
        overall.update(best.delta, best.obj, best.succ)
    return (x + overall.delta).detach()
