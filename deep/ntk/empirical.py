r"""Empirical (finite-width) NTK of any torch model with torch.func, chunked to bounded memory.

``Theta(x, x')_{cc'} = sum_p df_c(x)/dtheta_p df_{c'}(x')/dtheta_p`` (spec deep_robustness_ntk.md §0.1). Per-example
Jacobians come from ``torch.func.vmap(torch.func.jacrev(f))`` on a functional version of the model
(``torch.func.functional_call``), in chunks of ``chunk_size`` inputs, contracted over parameters chunk by chunk (the
tutorial "Neural Tangent Kernels" of pytorch.org, method 1). Modes:

* ``"full"``  -> ``(n1, n2, C, C)`` (all output axes kept, neural-tangents' ``trace_axes=()``);
* ``"trace"`` -> ``(n1, n2)`` = ``sum_c Theta_cc``;
* ``"mean"``  -> ``(n1, n2)`` = ``(1/C) sum_c Theta_cc`` (comparable to the analytic kernel, which is ``Theta ⊗ I_C``).

A scalar-output model (output ``(n,)``) has ``C = 1``.

Only trainable parameters (``requires_grad=True``) are differentiated; frozen ones (e.g. the initial copy inside
:class:`deep.ntk.transfer.CenteredNet`) are passed to ``functional_call`` as constants, so the kernel is the same as
:func:`per_sample_gradient_ntk`'s.
"""
from __future__ import annotations

import torch
from torch.func import functional_call, jacrev, vmap

from asymptotics.errors import InvalidParameter
from asymptotics.validation import choice, integer

MODES = ("full", "trace", "mean")


def _jacobians(model, params, frozen, buffers, x):
    """Per-example Jacobians with respect to ``params`` (trainable only), flattened: ``(m, C, P)``."""

    def single(p, xi):
        out = functional_call(model, (p, frozen, buffers), (xi.unsqueeze(0),))
        return out.reshape(-1)

    jac = vmap(jacrev(single), in_dims=(None, 0))(params, x)
    return torch.cat([j.reshape(x.shape[0], j.shape[1], -1) for j in jac.values()], dim=2)


def empirical_ntk(model: torch.nn.Module, x1: torch.Tensor, x2: torch.Tensor | None = None, mode: str = "mean",
                  chunk_size: int = 256, max_cached: float = 2e8) -> torch.Tensor:
    r"""Empirical NTK of ``model`` at its current parameters.

    Parameters
    ----------
    model : torch.nn.Module
        Any model mapping ``(n, ...)`` inputs to ``(n,)`` or ``(n, C)`` outputs, without batch coupling (no batch norm
        in training mode).
    x1, x2 : tensors
        Inputs; ``x2 = None`` means ``x1``: each chunk's Jacobians are formed once and used for both sides when they
        fit in ``max_cached`` (else recomputed per row chunk, as for ``x2``). Every block of the kernel is still
        contracted (symmetry does not halve the contractions).
    mode : {"mean", "trace", "full"}
        See the module docstring.
    chunk_size : int
        Inputs per Jacobian chunk; peak memory ~ ``2 chunk_size C P`` floats plus the cache.
    max_cached : float
        Jacobians of ``x2`` are computed once and cached when ``n2 C P <= max_cached`` floats; otherwise they are
        recomputed for every chunk of ``x1``.

    Returns
    -------
    tensor (n1, n2) or (n1, n2, C, C)

    Examples
    --------
    >>> net = torch.nn.Linear(3, 1)
    >>> x = torch.eye(3)
    >>> torch.allclose(empirical_ntk(net, x), x @ x.T + 1)
    True
    """
    choice("mode", mode, MODES)
    integer("chunk_size", chunk_size, low=1)
    if not isinstance(model, torch.nn.Module):
        raise InvalidParameter("model", "must be a torch.nn.Module")
    sym = x2 is None
    x2 = x1 if sym else x2
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    frozen = {k: v.detach() for k, v in model.named_parameters() if not v.requires_grad}
    if not params:
        raise InvalidParameter("model", "has no trainable parameters (all requires_grad=False): the NTK is 0")
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    P = sum(v.numel() for v in params.values())
    chunks2 = [x2[s:s + chunk_size] for s in range(0, x2.shape[0], chunk_size)]
    cache = {}

    def jac2(i):
        if i in cache:
            return cache[i]
        j = _jacobians(model, params, frozen, buffers, chunks2[i])
        if x2.shape[0] * j.shape[1] * P <= max_cached:
            cache[i] = j
        return j

    rows = []
    for s in range(0, x1.shape[0], chunk_size):
        j1 = jac2(s // chunk_size) if sym else _jacobians(model, params, frozen, buffers, x1[s:s + chunk_size])
        blocks = []
        for i in range(len(chunks2)):
            j2 = j1 if sym and i == s // chunk_size else jac2(i)
            if mode == "full":
                blocks.append(torch.einsum("acp,bdp->abcd", j1, j2))
            else:
                k = torch.einsum("acp,bcp->ab", j1, j2)
                blocks.append(k / j1.shape[1] if mode == "mean" else k)
        rows.append(torch.cat(blocks, dim=1))
    return torch.cat(rows, dim=0)


def per_sample_gradient_ntk(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Reference (slow) empirical NTK of a scalar-output model: one ``torch.autograd.grad`` per sample, stacked,
    then ``G G^T``. Used as the baseline in ``benchmarks/bench_ntk.py`` and as an oracle in tests.

    Parameters
    ----------
    model : torch.nn.Module
        A model with outputs of shape (n,).
    x : torch.Tensor
        Inputs.

    Returns
    -------
    torch.Tensor
        The kernel (n, n).

    Examples
    --------
    >>> import torch
    >>> from deep.ntk import empirical_ntk, per_sample_gradient_ntk
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0)).double()
    >>> x = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> bool(torch.allclose(per_sample_gradient_ntk(net, x), empirical_ntk(net, x)))
    True
    """
    params = [p for p in model.parameters() if p.requires_grad]
    grads = []
    for i in range(x.shape[0]):
        out = model(x[i:i + 1]).reshape(-1)
        if out.numel() != 1:
            raise InvalidParameter("model", "per_sample_gradient_ntk needs a scalar-output model")
        g = torch.autograd.grad(out[0], params)
        grads.append(torch.cat([t.reshape(-1) for t in g]))
    G = torch.stack(grads)
    return G @ G.T
