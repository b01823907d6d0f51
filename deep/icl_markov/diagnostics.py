r"""Attention diagnostics of the statistical induction head.

* previous-token score :math:`PT = \mathrm{mean}_{i \ge 1} a^{(1)}_{i, i-1}` (layer-1 attention mass at distance 1);
* statistical-induction score :math:`SI = \sum_{1 \le s \le T-1,\ x_{s-1} = x_{T-1}} a^{(L)}_{T-1, s}`: last-layer
  attention mass from the last position onto positions whose *preceding* token equals the current token (0-based
  positions 0..T-1); chance level = the fraction of such positions;
* effective positional encoding of layer 1: for each head, :math:`\mathrm{mean}_a\, (W_Q \mathrm{LN}(e_a)) \cdot
  r_\delta / \sqrt{d_{head}}` over tokens a -- with the *query*, as in the forward pass (the authors' plotting code
  uses the key).
"""
from __future__ import annotations

import math

import torch

from asymptotics.errors import InvalidParameter


def _check_attention(attn: torch.Tensor) -> torch.Tensor:
    if not isinstance(attn, torch.Tensor) or attn.dim() != 4 or attn.shape[-1] != attn.shape[-2]:
        raise InvalidParameter("attention", "must be a tensor (batch, heads, T, T)")
    return attn


def previous_token_score(attn: torch.Tensor) -> torch.Tensor:
    """Mean attention at distance 1 per head, shape (H,), from layer-1 maps (B, H, T, T).

    Parameters
    ----------
    attn : torch.Tensor
        Attention maps (B, H, T, T).

    Returns
    -------
    torch.Tensor
        Shape (H,), in [0, 1].

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import sample_batch
    >>> batch = sample_batch(4, 11, 3, generator=torch.Generator().manual_seed(0))     # 4 chains on 3 states
    >>> from deep.icl_markov.model import AttentionOnlyTransformer
    >>> model = AttentionOnlyTransformer(3, 10, generator=torch.Generator().manual_seed(0))
    >>> logits, maps = model(batch.tokens[:, :10], return_attention=True)
    >>> from deep.icl_markov.diagnostics import previous_token_score
    >>> previous_token_score(maps[0]).shape
    torch.Size([1])
    """
    attn = _check_attention(attn)
    length = attn.shape[-1]
    if length < 2:
        raise InvalidParameter("attention", "need T >= 2")
    i = torch.arange(1, length, device=attn.device)
    return attn[..., i, i - 1].mean(dim=(0, 2))


def induction_positions(tokens: torch.Tensor) -> torch.Tensor:
    """Boolean (B, T): position s >= 1 whose preceding token equals the last token of the sequence.

    Parameters
    ----------
    tokens : torch.Tensor
        Token ids (B, L).

    Returns
    -------
    torch.Tensor
        Boolean, shape (B, L).

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.diagnostics import induction_positions
    >>> induction_positions(torch.tensor([[2, 0, 2, 1, 2]]))     # successors of earlier 2s
    tensor([[False,  True, False,  True, False]])
    """
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    mask[:, 1:] = tokens[:, :-1] == tokens[:, -1:]
    return mask


def statistical_induction_score(attn: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Attention mass of the last position on successors of earlier occurrences of the current token, (H,).

    Parameters
    ----------
    attn : torch.Tensor
        Attention maps (B, H, T, T).
    tokens : torch.Tensor
        Token ids (B, L).

    Returns
    -------
    torch.Tensor
        Shape (H,), in [0, 1].

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import sample_batch
    >>> batch = sample_batch(4, 11, 3, generator=torch.Generator().manual_seed(0))     # 4 chains on 3 states
    >>> from deep.icl_markov.model import AttentionOnlyTransformer
    >>> model = AttentionOnlyTransformer(3, 10, generator=torch.Generator().manual_seed(0))
    >>> logits, maps = model(batch.tokens[:, :10], return_attention=True)
    >>> from deep.icl_markov.diagnostics import statistical_induction_score
    >>> statistical_induction_score(maps[1], batch.tokens[:, :10]).shape
    torch.Size([1])
    """
    attn = _check_attention(attn)
    if tokens.shape != (attn.shape[0], attn.shape[-1]):
        raise InvalidParameter("tokens", f"shape {tuple(tokens.shape)} does not match attention {tuple(attn.shape)}")
    mask = induction_positions(tokens).to(attn.dtype)
    return (attn[:, :, -1, :] * mask[:, None, :]).sum(-1).mean(0)


def induction_chance_level(tokens: torch.Tensor) -> float:
    """Mean fraction of positions that :func:`statistical_induction_score` counts (uniform attention baseline).

    Parameters
    ----------
    tokens : torch.Tensor
        Token ids (B, L).

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.diagnostics import induction_chance_level
    >>> induction_chance_level(torch.tensor([[2, 0, 2, 1, 2]]))
    0.4
    """
    return float(induction_positions(tokens).to(torch.float64).mean())


@torch.no_grad()
def effective_positional_encoding(model) -> torch.Tensor:
    """Layer-1 positional score per head and distance, averaged over tokens, shape (H, T) (query version).

    Parameters
    ----------
    model : AttentionOnlyTransformer
        The model.

    Returns
    -------
    torch.Tensor
        Shape (H, T).

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.model import AttentionOnlyTransformer
    >>> from deep.icl_markov.diagnostics import effective_positional_encoding
    >>> model = AttentionOnlyTransformer(3, 10, generator=torch.Generator().manual_seed(0))
    >>> effective_positional_encoding(model).shape
    torch.Size([1, 10])
    """
    layer = model.layers[0]
    z = model.norms[0](model.embedding.weight)                               # (k, d)
    q = layer.query(z).view(-1, layer.heads, layer.head_dim).transpose(0, 1)  # (H, k, dh)
    rel = layer.relative.weight[: layer.context_length].view(-1, layer.heads, layer.head_dim).transpose(0, 1)
    return (q @ rel.transpose(-1, -2)).mean(1) / math.sqrt(layer.head_dim)
