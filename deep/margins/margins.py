r"""Normalized and smoothed margins of homogeneous models, in every parameter-space norm ("flavor").

Definitions (spec ``margins.md`` §1.4; ``theta`` = all parameters concatenated, ``L`` = homogeneity order):

* per-sample margin ``q_i = y_i f(x_i)`` (binary, y in {-1, +1}) or ``q_i = f_y(x_i) - max_{j != y} f_j(x_i)``
  (multiclass); pair margins ``f_y - f_j`` for every ``j != y`` enter the multiclass loss;
* normalized margin in norm ``||.||``: ``gamma(theta) = q_min / ||theta||^L`` -- ``norm="linf"`` divides by
  ``||theta||_inf^L`` (the implicit-bias meaning of "linf margin", *not* robustness to linf input perturbations;
  that one is :func:`deep.attacks.linear_robust_margin`);
* loss ``Lsum = sum_i l(q_i)`` (a **sum**; multiclass: over every pair), exponential ``l(q) = e^{-q}`` or logistic
  ``l(q) = log(1 + e^{-q})``;
* smoothed margin ``gamma~ = l^{-1}(Lsum) / ||theta||^L``: exponential ``-logsumexp(-q) / ||theta||^L`` (never
  ``log(1/Lsum)`` after underflow), logistic ``-log(expm1(Lsum)) / ||theta||^L`` from ``log Lsum`` computed in
  log space. For the exponential loss ``gamma~ <= gamma <= gamma~ + log(m) / ||theta||^L``;
* alignment ``beta = <theta, -g> / (||theta|| ||g||_*)`` with ``g = grad Lsum`` (computed as ``grad log Lsum``, the
  same direction without underflow); ``1 - beta`` is the Bregman/Fenchel-Young gap of the flow direction (§2.2).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from asymptotics.errors import InvalidParameter

from ..optim.norms import Geometry, parse_norm

LOSSES = ("exp", "logistic")


def _check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise InvalidParameter("loss", f"must be one of {LOSSES}, got {loss!r}")
    return loss


def output_margins(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample margins ``q_i``: ``y_i f(x_i)`` (binary) or ``f_y(x_i) - max_{j != y} f_j(x_i)`` (multiclass).

    Parameters
    ----------
    outputs : torch.Tensor
        Model outputs: shape (n,) (binary) or (n, C) logits.
    y : torch.Tensor
        Labels in {-1, +1} (binary) or class indices (multiclass).

    Returns
    -------
    torch.Tensor
        Shape (n,).

    Examples
    --------
    >>> import torch
    >>> from deep.margins import output_margins
    >>> output_margins(torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 1.0, -1.0]))
    tensor([ 2.0000, -1.0000, -0.5000])
    """
    if outputs.ndim == 1:
        return y.to(outputs.dtype) * outputs
    if outputs.ndim != 2 or outputs.shape[1] < 2:
        raise InvalidParameter("outputs", f"expected shape (n,) or (n, C >= 2), got {tuple(outputs.shape)}")
    y = y.long()
    own = outputs.gather(1, y[:, None]).squeeze(1)
    others = outputs.scatter(1, y[:, None], -math.inf)
    return own - others.max(1).values


def pair_margins(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """All margins entering the loss: ``y f`` (binary, shape (n,)) or ``f_y - f_j``, ``j != y`` (shape (n, C-1)).

    Parameters
    ----------
    outputs : torch.Tensor
        Model outputs: shape (n,) or (n, C).
    y : torch.Tensor
        Labels in {-1, +1} or class indices.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> import torch
    >>> from deep.margins import pair_margins
    >>> pair_margins(torch.tensor([[2.0, 0.0, 1.0]]), torch.tensor([0]))
    tensor([[2., 1.]])
    """
    if outputs.ndim == 1:
        return y.to(outputs.dtype) * outputs
    y = y.long()
    n, c = outputs.shape
    own = outputs.gather(1, y[:, None])
    mask = torch.ones_like(outputs, dtype=torch.bool).scatter(1, y[:, None], False)
    return (own - outputs)[mask].reshape(n, c - 1)


def log_loss(q: torch.Tensor, loss: str = "exp") -> torch.Tensor:
    """``log sum_i l(q_i)`` over every entry of ``q``, without underflow (differentiable).

    Parameters
    ----------
    q : torch.Tensor
        Margins (e.g. :func:`pair_margins`).
    loss : {"exp", "logistic"}, default "exp"
        ``l(q) = e^{-q}`` or ``log(1 + e^{-q})``.

    Returns
    -------
    torch.Tensor
        A 0-d tensor.

    Examples
    --------
    >>> import torch
    >>> from deep.margins import log_loss
    >>> round(float(log_loss(torch.tensor([1.0, 2.0]))), 4)           # log(e^-1 + e^-2)
    -0.6867
    """
    _check_loss(loss)
    q = q.reshape(-1)
    if loss == "exp":
        return torch.logsumexp(-q, 0)
    # log softplus(-q): for q > 0 write softplus(-q) = t * (log1p(t)/t), t = e^{-q} (ratio -> 1 as t -> 0)
    t = torch.exp(-q.clamp(min=0.0))
    ratio = torch.where(t > 1e-12, torch.log1p(t) / t.clamp(min=1e-300), 1.0 - t / 2)
    log_terms = torch.where(q > 0, -q + torch.log(ratio), torch.log(torch.nn.functional.softplus(-q)))
    return torch.logsumexp(log_terms, 0)


def inverse_loss_of_log(log_value: torch.Tensor, loss: str = "exp") -> torch.Tensor:
    """``l^{-1}(Lsum)`` from ``log Lsum``: ``-log Lsum`` (exp) or ``-log(expm1(Lsum))`` (logistic).

    Parameters
    ----------
    log_value : torch.Tensor
        ``log Lsum`` (from :func:`log_loss`).
    loss : {"exp", "logistic"}, default "exp"
        ``l(q) = e^{-q}`` or ``log(1 + e^{-q})``.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> import torch
    >>> from deep.margins import inverse_loss_of_log, log_loss
    >>> q = torch.tensor([5.0, 9.0])
    >>> round(float(inverse_loss_of_log(log_loss(q))), 4)               # a soft minimum of q, below min q = 5
    4.9819
    """
    _check_loss(loss)
    if loss == "exp":
        return -log_value
    s = torch.exp(log_value)
    small = -log_value - s / 2          # -log(expm1(s)) = -log s - log(1 + s/2 + ...) for tiny s
    return torch.where(s > 1e-6, -torch.log(torch.expm1(s.clamp(min=1e-300))), small)


def parameters_of(model_or_params) -> list[torch.Tensor]:
    """Parameters of a module, or the given list of tensors.

    Parameters
    ----------
    model_or_params : torch.nn.Module or sequence of torch.Tensor
        The model or its parameters.

    Returns
    -------
    list of torch.Tensor

    Examples
    --------
    >>> import torch
    >>> from deep.margins import parameters_of
    >>> len(parameters_of(torch.nn.Linear(3, 2)))
    2
    """
    if isinstance(model_or_params, torch.nn.Module):
        return [p for p in model_or_params.parameters()]
    return list(model_or_params)


def parameter_norm(model_or_params, norm="l2") -> float:
    """``||theta||`` in ``norm`` of all parameters concatenated (see ``deep.optim.norms``).

    Parameters
    ----------
    model_or_params : torch.nn.Module or sequence of torch.Tensor
        The model or its parameters.
    norm : str or Geometry, default "l2"
        A parameter-space norm ("l1", "l2", "linf", "l<p>", "spectral").

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from deep.margins import parameter_norm
    >>> parameter_norm([torch.tensor([3.0, -4.0])]), parameter_norm([torch.tensor([3.0, -4.0])], "l1")
    (5.0, 7.0)
    """
    return float(parse_norm(norm).norm(parameters_of(model_or_params)))


def smoothed_margin(q: torch.Tensor, theta_norm: float, order: float, loss: str = "exp") -> float:
    """``l^{-1}(sum l(q)) / ||theta||^L`` (``q``: every margin entering the loss, e.g. :func:`pair_margins`).

    Parameters
    ----------
    q : torch.Tensor
        The margins.
    theta_norm : float
        ``||theta||`` in the chosen norm.
    order : float
        The homogeneity order L.
    loss : {"exp", "logistic"}, default "exp"
        ``l(q) = e^{-q}`` or ``log(1 + e^{-q})``.

    Returns
    -------
    float
        For the exponential loss, ``gamma~ <= q_min / ||theta||^L <= gamma~ + log(m) / ||theta||^L``.

    Examples
    --------
    >>> import torch
    >>> from deep.margins import smoothed_margin
    >>> round(smoothed_margin(torch.tensor([1.0, 2.0]), theta_norm=1.0, order=1), 4)
    0.6867
    """
    if not theta_norm > 0:
        raise InvalidParameter("theta_norm", f"must be > 0, got {theta_norm!r}")
    value = inverse_loss_of_log(log_loss(q.detach().double(), loss), loss)
    return float(value) / float(theta_norm) ** order


def model_order(model: torch.nn.Module, order=None) -> float:
    """The homogeneity order: ``order`` if given, else ``model.order``; raise if neither exists.

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    order : float, optional
        An explicit order.

    Returns
    -------
    float

    Examples
    --------
    >>> from deep.models import DiagonalNet
    >>> from deep.margins import model_order
    >>> model_order(DiagonalNet(3, depth=2)), model_order(DiagonalNet(3, depth=2), order=5)
    (2.0, 5.0)
    """
    if order is not None:
        if not order > 0:
            raise InvalidParameter("order", f"must be > 0, got {order!r}")
        return float(order)
    if hasattr(model, "order"):
        return float(model.order)
    raise InvalidParameter("order", "the model has no .order attribute: pass order= (see deep.models.homogeneity_order)")


def normalized_margin(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, norm="l2", order=None) -> float:
    """``min_i q_i / ||theta||^L`` (``norm`` is a parameter-space norm; see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        A homogeneous model (``model.order`` or ``order=``).
    X : torch.Tensor
        Inputs.
    y : torch.Tensor
        Labels: +-1 with outputs of shape (n,), or class indices with logits (n, C).
    norm : str or Geometry, default "l2"
        The parameter-space norm ("linf": divide by ``||theta||_inf^L``).
    order : float, optional
        The order L (default ``model.order``).

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from deep.models import DiagonalNet
    >>> net = DiagonalNet(2, depth=1, parametrization="product")          # f(x) = <w, x>, order 1
    >>> with torch.no_grad():
    ...     _ = net.factors[0].copy_(torch.tensor([1.0, 0.0]))
    >>> X = torch.tensor([[1.0, 0.0], [-2.0, 1.0]]); y = torch.tensor([1.0, -1.0])    # margins q = (1, 2)
    >>> from deep.margins import normalized_margin
    >>> normalized_margin(net, X, y)
    1.0
    """
    L = model_order(model, order)
    with torch.no_grad():
        q = output_margins(model(X), y)
    return float(q.min()) / parameter_norm(model, norm) ** L


def margin_report(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor,
                  norms: Sequence = ("l1", "l2", "linf"), order=None, loss: str = "exp") -> dict:
    """Every flavor at once: ``{"q_min", "log_loss", "accuracy", "norm_<n>", "margin_<n>", "smoothed_<n>"}``.

    Parameters
    ----------
    model : torch.nn.Module
        A homogeneous model (``model.order`` or ``order=``).
    X : torch.Tensor
        Inputs.
    y : torch.Tensor
        Labels: +-1 with outputs of shape (n,), or class indices with logits (n, C).
    norms : sequence, default ("l1", "l2", "linf")
        Flavors.
    order : float, optional
        The order L.
    loss : {"exp", "logistic"}, default "exp"
        ``l(q) = e^{-q}`` or ``log(1 + e^{-q})``.

    Returns
    -------
    dict
        Floats; ``accuracy`` is the training accuracy (a fraction).

    Examples
    --------
    >>> import torch
    >>> from deep.models import DiagonalNet
    >>> net = DiagonalNet(2, depth=1, parametrization="product")          # f(x) = <w, x>, order 1
    >>> with torch.no_grad():
    ...     _ = net.factors[0].copy_(torch.tensor([1.0, 0.0]))
    >>> X = torch.tensor([[1.0, 0.0], [-2.0, 1.0]]); y = torch.tensor([1.0, -1.0])    # margins q = (1, 2)
    >>> from deep.margins import margin_report
    >>> r = margin_report(net, X, y, norms=("l2",))
    >>> r["q_min"], r["margin_l2"], round(r["smoothed_l2"], 4)
    (1.0, 1.0, 0.6867)
    """
    L = model_order(model, order)
    _check_loss(loss)
    with torch.no_grad():
        out = model(X)
        q = output_margins(out, y).double()
        log_value = log_loss(pair_margins(out, y).double(), loss)
    inv = float(inverse_loss_of_log(log_value, loss))
    report = {"q_min": float(q.min()), "log_loss": float(log_value), "accuracy": float((q > 0).double().mean())}
    params = parameters_of(model)
    for norm in norms:
        geo = parse_norm(norm)
        rho = float(geo.norm(params))
        report[f"norm_{geo.name}"] = rho
        report[f"margin_{geo.name}"] = report["q_min"] / rho ** L
        report[f"smoothed_{geo.name}"] = inv / rho ** L
    return report


def loss_gradient(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, loss: str = "exp") -> list[torch.Tensor]:
    """``grad log Lsum`` w.r.t. every parameter (a positive multiple of ``grad Lsum``, free of underflow).

    Parameters
    ----------
    model : torch.nn.Module
        A homogeneous model (``model.order`` or ``order=``).
    X : torch.Tensor
        Inputs.
    y : torch.Tensor
        Labels: +-1 with outputs of shape (n,), or class indices with logits (n, C).
    loss : {"exp", "logistic"}, default "exp"
        ``l(q) = e^{-q}`` or ``log(1 + e^{-q})``.

    Returns
    -------
    list of torch.Tensor
        One gradient per parameter, detached.

    Examples
    --------
    >>> import torch
    >>> from deep.models import DiagonalNet
    >>> net = DiagonalNet(2, depth=1, parametrization="product")          # f(x) = <w, x>, order 1
    >>> with torch.no_grad():
    ...     _ = net.factors[0].copy_(torch.tensor([1.0, 0.0]))
    >>> X = torch.tensor([[1.0, 0.0], [-2.0, 1.0]]); y = torch.tensor([1.0, -1.0])    # margins q = (1, 2)
    >>> from deep.margins import loss_gradient
    >>> loss_gradient(net, X, y)
    [tensor([-1.2689,  0.2689])]
    """
    params = parameters_of(model)
    value = log_loss(pair_margins(model(X), y), loss)
    return list(torch.autograd.grad(value, params))


def alignment(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, norm="l2", loss: str = "exp") -> float:
    """``beta = <theta, -g> / (||theta|| ||g||_*)`` in (0, 1] once the data is fitted (Holder: beta <= 1).

    Parameters
    ----------
    model : torch.nn.Module
        A homogeneous model (``model.order`` or ``order=``).
    X : torch.Tensor
        Inputs.
    y : torch.Tensor
        Labels: +-1 with outputs of shape (n,), or class indices with logits (n, C).
    norm : str or Geometry, default "l2"
        The parameter-space norm.
    loss : {"exp", "logistic"}, default "exp"
        ``l(q) = e^{-q}`` or ``log(1 + e^{-q})``.

    Returns
    -------
    float
        ``1 - beta`` is the Bregman/Fenchel-Young gap of the flow direction.

    Examples
    --------
    >>> import torch
    >>> from deep.models import DiagonalNet
    >>> net = DiagonalNet(2, depth=1, parametrization="product")          # f(x) = <w, x>, order 1
    >>> with torch.no_grad():
    ...     _ = net.factors[0].copy_(torch.tensor([1.0, 0.0]))
    >>> X = torch.tensor([[1.0, 0.0], [-2.0, 1.0]]); y = torch.tensor([1.0, -1.0])    # margins q = (1, 2)
    >>> from deep.margins import alignment
    >>> round(alignment(net, X, y), 4)
    0.9783
    """
    geo: Geometry = parse_norm(norm)
    params = parameters_of(model)
    grads = loss_gradient(model, X, y, loss)
    inner = -sum(float((p.detach().double() * g.double()).sum()) for p, g in zip(params, grads))
    denom = float(geo.norm(params)) * float(geo.dual_norm(grads))
    return inner / denom if denom > 0 else math.nan
