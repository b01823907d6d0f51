r"""A gradient-free linf attack (random search over square patches, in the spirit of Square, Andriushchenko et al.
2020), written from the paper's description to expose gradient masking: it only queries the model's outputs.

Per sample and query: pick a random window (a ``s x s`` square of an image ``(n, C, H, W)``, all channels; for flat
inputs a random subset of about ``p d`` coordinates), set ``delta`` there to ``+-eps`` (one random sign per channel,
or per coordinate), project onto the box, and keep the proposal when the margin ``q`` (classification margin,
untargeted) decreases. Samples already misclassified stop. The window fraction ``p`` starts at ``p_init`` and is
halved after 1, 5, 20, 50, 100, 200, 400, 600, 800 per mille of the query budget.
Initialisation: vertical stripes of ``+-eps`` (images) or random ``+-eps`` per coordinate.
"""
from __future__ import annotations

import math

import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative, real

from ..device import draw_device
from ..margins.margins import output_margins
from .threat import check_box, project

_HALVINGS = (0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8)


def _fraction(p_init, query, queries):
    done = query / max(queries, 1)
    return p_init / 2 ** sum(done > h for h in _HALVINGS)


def _rand_sign(shape, generator, x):
    return torch.randint(0, 2, shape, generator=generator, device=draw_device(generator, x.device)).to(
        device=x.device, dtype=x.dtype) * 2 - 1


def random_search(model, x, y, eps: float, queries: int = 1000, p_init: float = 0.1,
                  generator: torch.Generator | None = None, box=(0.0, 1.0)) -> torch.Tensor:
    """Square-style linf random search (untargeted); returns detached adversarial inputs (see module docstring).

    Parameters
    ----------
    model : callable
        Outputs (n,) or logits (n, C).
    x, y : torch.Tensor
        Inputs (``(n, C, H, W)`` images or ``(n, d)``) in the box and their labels.
    eps : float
        The linf radius.
    queries : int
        Model evaluations per sample (after the initial one).
    p_init : float
        Initial fraction of pixels per window.
    generator : torch.Generator, optional
        Source of randomness.
    box : (lo, hi) or None
        Valid input range.

    Returns
    -------
    torch.Tensor
        Detached adversarial inputs (vertices of the linf ball, clipped to the box).

    Examples
    --------
    >>> import torch
    >>> from deep.attacks import random_search
    >>> model = lambda z: z.sum(1) - 1.0
    >>> x = torch.full((2, 4), 0.7); y = torch.tensor([1.0, 1.0])
    >>> x_adv = random_search(model, x, y, eps=0.2, queries=20, generator=torch.Generator().manual_seed(0))
    >>> bool((x_adv - x).abs().max() <= 0.2 + 1e-7), bool((model(x_adv) <= model(x)).all())
    (True, True)
    """
    nonnegative("eps", eps)
    integer("queries", queries, low=0)
    real("p_init", p_init, low=0.0, high=1.0, low_open=True)
    box = check_box(box)
    if x.shape[0] != y.shape[0]:
        raise InvalidParameter("y", f"has {y.shape[0]} labels for {x.shape[0]} inputs")
    x = x.detach()
    n = x.shape[0]
    image = x.ndim == 4
    shape = (-1,) + (1,) * (x.ndim - 1)
    if image:
        _, c, h, w = x.shape
        delta = eps * _rand_sign((n, c, 1, w), generator, x).expand(x.shape).clone()
    else:
        delta = eps * _rand_sign(x.shape, generator, x)
    delta = project(delta, x, eps, "linf", box)
    with torch.no_grad():
        margin = output_margins(model(x + delta), y)
        draw = draw_device(generator, x.device)
        for query in range(queries):
            active = margin > 0
            if not bool(active.any()):
                break
            p = _fraction(p_init, query, queries)
            if image:
                side = max(1, min(h, w, int(round(math.sqrt(p * h * w)))))
                r0 = torch.randint(0, h - side + 1, (n,), generator=generator, device=draw).to(x.device)
                c0 = torch.randint(0, w - side + 1, (n,), generator=generator, device=draw).to(x.device)
                rows = torch.arange(h, device=x.device)
                cols = torch.arange(w, device=x.device)
                in_r = (rows[None, :] >= r0[:, None]) & (rows[None, :] < (r0 + side)[:, None])
                in_c = (cols[None, :] >= c0[:, None]) & (cols[None, :] < (c0 + side)[:, None])
                window = (in_r[:, :, None] & in_c[:, None, :])[:, None, :, :].expand(x.shape)
                values = eps * _rand_sign((n, c, 1, 1), generator, x).expand(x.shape)
            else:
                window = torch.rand(x.shape, generator=generator, device=draw).to(x.device) < max(p, 1.0 / x[0].numel())
                values = eps * _rand_sign(x.shape, generator, x)
            window = window & active.reshape(shape)
            proposal = project(torch.where(window, values, delta), x, eps, "linf", box)
            new_margin = output_margins(model(x + proposal), y)
            accept = (new_margin < margin) & active
            delta = torch.where(accept.reshape(shape), proposal, delta)
            margin = torch.where(accept, new_margin, margin)
    return (x + delta).detach()
