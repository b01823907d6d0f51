r"""Models for ICL-MC: the attention-only transformer with relative positions, and the minimal two-layer model.

Attention-only transformer (Edelman et al. 2024, authors' ``Relative_Transformer``), width d, L layers, no MLP, no
absolute positions. Each layer is a pre-LN attention block with residual:

.. math::
    z = \mathrm{LN}(h),\quad q = W_Q z,\ k = W_K z,\ v = W_V z,\quad
    s_{ij} = \frac{q_i\cdot k_j + q_i\cdot r_{i-j}}{\sqrt{d_{head}}}\ (j \le i),\quad
    a_{ij} = \mathrm{softmax}_j(s_{ij}),\quad h_i \leftarrow h_i + W_O \sum_j a_{ij} v_j

with a learned relative table :math:`r_\delta \in R^d`, :math:`\delta = i - j \in \{0, ..., T-1\}` per layer (split
into heads like q and k), causal mask :math:`j \le i`, then final LN and a bias-free unembedding. Layer 1 has
``first_layer_heads`` heads, later layers one. Init: N(0, 0.02^2), W_O N(0, 0.01^2), LN (1, 0). Parameter count
:math:`L[4d^2 + R d + 2d] + kd + 2d + dk` with R = T + 1 relative rows (authors' code: a padding row for future
positions) or R = T (``padding_row=False``): 5,440 for k = 2, d = 16, T = 100 with the padding row.

Minimal model (authors' ``min_model`` with the causal mask applied): one-hot tokens :math:`e_t`,

.. math::
    a_{t,s} = \mathrm{softmax}_{s \le t}(v_{t-s}),\quad \bar e_t = \sum_{s\le t} a_{t,s} e_s,\quad
    \mathrm{logits}_t = \sum_{s \le t} (e_t^\top W \bar e_s)\, e_s,

v in R^T, W in R^{k x k}, init v = 0, W = 0.01 (all entries). Identities: v = 0, W = c 11^T gives c times unigram
counts; v concentrated on distance 1 and W = c I gives c times bigram counts :math:`c\,N_{x_t j}(t)` plus the boundary
term :math:`c\,[x_0 = x_t][j = x_0]` (position 0 has no predecessor, so it attends to itself).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, real

from ..device import draw_device


class RelativeAttention(nn.Module):
    """One causal multi-head attention layer with query x relative-key position scores.

    Called on hidden states (B, T, width); returns the update and the attention maps (B, heads, T, T).

    Parameters
    ----------
    width : int
        Model width (divisible by ``heads``).
    heads : int
        Number of heads.
    context_length : int
        Maximal length T.
    padding_row : bool, default True
        An extra row in the relative-position table.
    dropout : float, default 0.0
        Dropout on the relative-position table.

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.model import RelativeAttention
    >>> layer = RelativeAttention(width=8, heads=2, context_length=10)
    >>> update, attn = layer(torch.randn(3, 10, 8, generator=torch.Generator().manual_seed(0)))
    >>> update.shape, attn.shape, bool(torch.allclose(attn.sum(-1), torch.ones(3, 2, 10)))
    (torch.Size([3, 10, 8]), torch.Size([3, 2, 10, 10]), True)
    """

    def __init__(self, width: int, heads: int, context_length: int, padding_row: bool = True, dropout: float = 0.0):
        super().__init__()
        if width % heads:
            raise InvalidParameter("heads", f"width {width} must be divisible by heads {heads}")
        self.width, self.heads, self.context_length = width, heads, context_length
        self.head_dim = width // heads
        self.query = nn.Linear(width, width, bias=False)
        self.key = nn.Linear(width, width, bias=False)
        self.value = nn.Linear(width, width, bias=False)
        self.output = nn.Linear(width, width, bias=False)
        self.relative = nn.Embedding(context_length + (1 if padding_row else 0), width)
        self.dropout = nn.Dropout(dropout)
        pos = torch.arange(context_length)
        delta = pos[:, None] - pos[None, :]
        self.register_buffer("mask", torch.zeros(context_length, context_length).masked_fill(delta < 0, float("-inf")),
                             persistent=False)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, length, _ = h.shape
        if length > self.context_length:
            raise InvalidParameter("tokens", f"length {length} exceeds context_length {self.context_length}")
        split = (batch, length, self.heads, self.head_dim)
        q = self.query(h).view(split).transpose(1, 2)                        # (B, H, T, dh)
        k = self.key(h).view(split).transpose(1, 2)
        v = self.value(h).view(split).transpose(1, 2)
        rel = self.dropout(self.relative.weight[:length]).view(length, self.heads, self.head_dim).transpose(0, 1)
        content = q @ k.transpose(-1, -2)                                    # (B, H, T, T)
        # query x relative key, q_i . r_{i-j}: multiply by the distance-reversed table, then skew so that column
        # c = T-1-(i-j) of row i lands at column j (entries with j > i are garbage and masked below).
        reversed_scores = q @ rel.flip(1).transpose(-1, -2)                  # (B, H, T, delta reversed)
        padded = torch.nn.functional.pad(reversed_scores, (0, 1)).reshape(batch, self.heads, length * (length + 1))
        positional = padded[..., length - 1: length - 1 + length * length].reshape(batch, self.heads, length, length)
        scores = (content + positional) / math.sqrt(self.head_dim) + self.mask[:length, :length]
        attn = torch.softmax(scores, dim=-1)
        y = (self.dropout(attn) @ v).transpose(1, 2).reshape(batch, length, self.width)
        return self.dropout(self.output(y)), attn


class AttentionOnlyTransformer(nn.Module):
    """Attention-only transformer with relative positional encodings and a causal mask (see module docstring).

    Parameters
    ----------
    num_states : int
        Vocabulary size k (>= 2).
    context_length : int
        Maximal input length T.
    width : int
        Model width d (16 in the paper; 16 (n-1) for n-gram runs).
    num_layers : int
        Number of attention layers (2; 1 for the depth control).
    first_layer_heads : int
        Heads in layer 1 (n - 1 for n-grams); later layers have one head.
    padding_row : bool
        Relative table with T + 1 rows as in the authors' code (True) or T rows (False).
    dropout : float
        Dropout on embeddings, relative vectors, attention and residual branch (0.1 in the code, 0 in the CPU recipe).
    generator : torch.Generator, optional
        Seeds the initialisation (on the CPU); default: the global torch RNG.

    Examples
    --------
    >>> model = AttentionOnlyTransformer(2, 100)
    >>> sum(p.numel() for p in model.parameters())
    5440
    """

    def __init__(self, num_states: int, context_length: int, width: int = 16, num_layers: int = 2,
                 first_layer_heads: int = 1, padding_row: bool = True, dropout: float = 0.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        integer("num_states", num_states, low=2)
        integer("context_length", context_length, low=1)
        integer("width", width, low=1)
        integer("num_layers", num_layers, low=1)
        integer("first_layer_heads", first_layer_heads, low=1)
        real("dropout", dropout, low=0.0, high=1.0, high_open=True)
        self.num_states, self.context_length = num_states, context_length
        self.embedding = nn.Embedding(num_states, width)
        self.embedding_dropout = nn.Dropout(dropout)
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(num_layers))
        self.layers = nn.ModuleList(
            RelativeAttention(width, first_layer_heads if i == 0 else 1, context_length, padding_row, dropout)
            for i in range(num_layers))
        self.final_norm = nn.LayerNorm(width)
        self.unembedding = nn.Linear(width, num_states, bias=False)
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """N(0, 0.02^2) for Linear/Embedding weights, N(0, 0.01^2) for the output projections, LN = (1, 0)."""
        for name, param in self.named_parameters():
            if "norm" in name:
                param.fill_(1.0 if name.endswith("weight") else 0.0)
                continue
            std = 0.01 if ".output." in name else 0.02
            # drawn where the generator lives (CPU), moved, then scaled on the parameter's device
            values = torch.randn(param.shape, generator=generator, dtype=param.dtype,
                                 device=draw_device(generator, param.device)).to(param.device)
            param.copy_(values * std)

    def forward(self, tokens: torch.Tensor, return_attention: bool = False):
        """Logits (B, T, k) for next-token prediction; with ``return_attention`` also a list of (B, H, T, T)."""
        h = self.embedding_dropout(self.embedding(tokens))
        maps = []
        for norm, layer in zip(self.norms, self.layers):
            update, attn = layer(norm(h))
            h = h + update
            maps.append(attn)
        logits = self.unembedding(self.final_norm(h))
        return (logits, maps) if return_attention else logits

    def matrix_parameters(self) -> list[nn.Parameter]:
        """The q/k/v/o and unembedding matrices (those that get weight decay in the recipe)."""
        mats = [self.unembedding.weight]
        for layer in self.layers:
            mats += [layer.query.weight, layer.key.weight, layer.value.weight, layer.output.weight]
        return mats


class MinimalMarkovModel(nn.Module):
    """Minimal two-layer model: positional softmax layer 1, linear-attention layer 2 (causal; see module docstring).

    Parameters
    ----------
    num_states : int
        k.
    context_length : int
        T (length of v).
    init_w : float
        Initial value of every entry of W (0.01: the "uninformed" init where dL/dv = 0).

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import sample_batch
    >>> batch = sample_batch(4, 11, 3, generator=torch.Generator().manual_seed(0))     # 4 chains on 3 states
    >>> from deep.icl_markov.model import MinimalMarkovModel
    >>> MinimalMarkovModel(3, 10)(batch.tokens[:, :10]).shape         # next-token logits
    torch.Size([4, 10, 3])
    """

    def __init__(self, num_states: int, context_length: int, init_w: float = 0.01):
        super().__init__()
        integer("num_states", num_states, low=2)
        integer("context_length", context_length, low=1)
        real("init_w", init_w)
        self.num_states, self.context_length = num_states, context_length
        self.v = nn.Parameter(torch.zeros(context_length))
        self.w = nn.Parameter(torch.full((num_states, num_states), float(init_w)))
        pos = torch.arange(context_length)
        delta = pos[:, None] - pos[None, :]
        self.register_buffer("distance", delta.clamp_min(0), persistent=False)
        self.register_buffer("future", delta < 0, persistent=False)

    def layer_one(self, length: int) -> torch.Tensor:
        """Causal positional attention a_{t,s} = softmax_{s<=t} v_{t-s}, shape (T, T)."""
        scores = self.v[self.distance[:length, :length]].masked_fill(self.future[:length, :length], float("-inf"))
        return torch.softmax(scores, dim=-1)

    def forward(self, tokens: torch.Tensor, return_attention: bool = False):
        length = tokens.shape[1]
        if length > self.context_length:
            raise InvalidParameter("tokens", f"length {length} exceeds context_length {self.context_length}")
        onehot = torch.nn.functional.one_hot(tokens, self.num_states).to(self.w.dtype)   # (B, T, k)
        attn1 = self.layer_one(length)
        mixed = attn1 @ onehot                                                              # e-bar (B, T, k)
        scores = (onehot @ self.w) @ mixed.transpose(-1, -2)                               # (B, T, T)
        scores = scores.masked_fill(self.future[:length, :length], 0.0)
        logits = scores @ onehot
        if return_attention:
            return logits, [attn1.expand(tokens.shape[0], 1, length, length), scores[:, None]]
        return logits

    def matrix_parameters(self) -> list[nn.Parameter]:
        return []


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars.

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    int

    Examples
    --------
    >>> from deep.icl_markov.model import MinimalMarkovModel, count_parameters
    >>> count_parameters(MinimalMarkovModel(3, 10))                   # W (3 x 3) and v (10)
    19
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
