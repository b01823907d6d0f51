r"""Numeric homogeneity: estimate the order ``L`` of ``theta -> f(x; theta)`` and check ``f(x; c theta) = c^L f``."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.func import functional_call

from asymptotics.errors import InvalidParameter
from asymptotics.validation import positive


@dataclass(frozen=True)
class HomogeneityCheck:
    """Result of :func:`homogeneity_order`: is ``f(x; c theta) = c^order f(x; theta)``?

    Attributes
    ----------
    order : int
        The rounded order L.
    estimates : tuple of float
        ``log(||f(c theta)|| / ||f(theta)||) / log c`` for each scale c.
    relative_error : float
        ``max_c ||f(c theta) - c^order f(theta)|| / ||c^order f(theta)||``.
    homogeneous : bool
        ``relative_error <= rtol``.

    Examples
    --------
    >>> import torch
    >>> from deep.models import HomogeneousMLP, homogeneity_order
    >>> net = HomogeneousMLP(4, widths=(8, 8), generator=torch.Generator().manual_seed(0))
    >>> check = homogeneity_order(net, torch.randn(6, 4, generator=torch.Generator().manual_seed(1)))
    >>> check.order, check.homogeneous
    (3, True)
    """

    order: int
    estimates: tuple
    relative_error: float
    homogeneous: bool

    def to_dict(self) -> dict:
        return {"order": self.order, "estimates": list(self.estimates), "relative_error": self.relative_error,
                "homogeneous": self.homogeneous}


def scaled_output(model: torch.nn.Module, x: torch.Tensor, c: float) -> torch.Tensor:
    """``f(x; c theta)`` without modifying ``model`` (buffers are not scaled).

    Parameters
    ----------
    model : torch.nn.Module
        The network f.
    x : torch.Tensor
        A batch of inputs.
    c : float
        The factor applied to every parameter.

    Returns
    -------
    torch.Tensor
        The outputs, computed without gradients.

    Examples
    --------
    >>> import torch
    >>> from deep.models import DiagonalNet, scaled_output
    >>> net = DiagonalNet(2, depth=2, parametrization="product", generator=torch.Generator().manual_seed(0))
    >>> x = torch.ones(1, 2)
    >>> bool(torch.allclose(scaled_output(net, x, 3.0), 9 * net(x)))        # order 2: f(3 theta) = 9 f(theta)
    True
    """
    params = {name: c * p.detach() for name, p in model.named_parameters()}
    with torch.no_grad():
        return functional_call(model, params, (x,))


def homogeneity_order(model: torch.nn.Module, x: torch.Tensor, scales=(0.5, 2.0, 3.0),
                      rtol: float = 1e-4) -> HomogeneityCheck:
    """Estimate ``L`` from ``log(||f(c theta)|| / ||f(theta)||) / log c`` and verify it on every scale.

    Parameters
    ----------
    model : torch.nn.Module
        The network f.
    x : torch.Tensor
        A batch of inputs on which the output is not identically zero.
    scales : sequence of float
        Positive factors ``c != 1``.
    rtol : float
        Tolerance on ``max_c ||f(c theta) - c^L f(theta)|| / ||c^L f(theta)||``.

    Returns
    -------
    HomogeneityCheck

    Raises
    ------
    InvalidParameter
        If a scale is not positive or equals 1, or the output is zero at ``theta``.

    Examples
    --------
    >>> import torch
    >>> from deep.models import DiagonalNet, homogeneity_order
    >>> net = DiagonalNet(3, depth=3, parametrization="product", generator=torch.Generator().manual_seed(0))
    >>> homogeneity_order(net, torch.ones(2, 3)).order
    3
    """
    positive("rtol", rtol)
    for c in scales:
        positive("scales", c)
        if c == 1.0:
            raise InvalidParameter("scales", "a scale of 1 carries no information")
    base = scaled_output(model, x, 1.0)
    base_norm = float(base.norm())
    if base_norm == 0.0 or not math.isfinite(base_norm):
        raise InvalidParameter("x", "the model output is zero (or not finite) on x; pick other inputs")
    estimates = tuple(math.log(float(scaled_output(model, x, c).norm()) / base_norm) / math.log(c) for c in scales)
    order = int(round(sum(estimates) / len(estimates)))
    error = max(float((scaled_output(model, x, c) - c ** order * base).norm()) / (c ** order * base_norm)
                for c in scales)
    return HomogeneityCheck(order, estimates, error, error <= rtol)


def check_homogeneity(model: torch.nn.Module, x: torch.Tensor, order: float, scales=(0.5, 2.0, 3.0)) -> float:
    """Relative error ``max_c ||f(c theta) - c^order f(theta)|| / ||c^order f(theta)||`` of a claimed order.

    Parameters
    ----------
    model : torch.nn.Module
        The network f.
    x : torch.Tensor
        A batch of inputs on which the output is not identically zero.
    order : float
        The claimed order L.
    scales : sequence of float, default (0.5, 2.0, 3.0)
        The factors c.

    Returns
    -------
    float
        0 (to rounding) for a homogeneous network of that order.

    Examples
    --------
    >>> import torch
    >>> from deep.models import DiagonalNet, check_homogeneity
    >>> net = DiagonalNet(3, depth=2, parametrization="product", generator=torch.Generator().manual_seed(0))
    >>> check_homogeneity(net, torch.ones(2, 3), order=2) < 1e-6, check_homogeneity(net, torch.ones(2, 3), order=1) > 0.1
    (True, True)
    """
    base = scaled_output(model, x, 1.0)
    denom = float(base.norm())
    if denom == 0.0:
        raise InvalidParameter("x", "the model output is zero on x; pick other inputs")
    return max(float((scaled_output(model, x, c) - c ** order * base).norm()) / (c ** order * denom) for c in scales)
