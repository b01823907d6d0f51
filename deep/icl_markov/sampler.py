"""Random Markov chains and sequences for in-context learning (ICL-MC), batched in torch.

Every sequence gets its own transition table P (online data). For an n-gram chain of order ``order = n`` the next
token depends on the previous ``c = n - 1`` tokens; the table has ``k**c`` rows indexed by the context
``idx = x_{t-c} k^{c-1} + ... + x_{t-1}`` (oldest token most significant -- one convention, used by the sampler and by
the lifted chain of the initial tuple alike). The first ``c`` tokens are drawn from the stationary distribution of the
lifted chain on c-tuples, so every sequence is stationary from its first token.

Priors (``ChainPrior.kind``):

* ``"dirichlet"``: rows i.i.d. Dir(alpha 1_k) (alpha = 1: uniform on the simplex, the ICL-MC task);
* ``"doubly_stochastic"``: row and column sums 1. For k <= 5 exactly uniform on the Birkhoff polytope (rejection
  from a product of simplices, acceptance >= 0.075); for k >= 6 the Sinkhorn scaling of a Dir(1)-row matrix (not
  uniform), as the spec prescribes. See :func:`sample_doubly_stochastic`. Only order 2;
* ``"unigram"``: all rows equal to one q ~ Dir(alpha 1_k): tokens i.i.d. q. Only order 2.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from asymptotics.errors import ConvergenceError, InvalidParameter
from asymptotics.validation import integer, positive

PRIOR_KINDS = ("dirichlet", "doubly_stochastic", "unigram")


@dataclass(frozen=True)
class ChainPrior:
    """Distribution of the transition table of one sequence.

    Parameters
    ----------
    kind : {"dirichlet", "doubly_stochastic", "unigram"}
        Rows i.i.d. Dirichlet, doubly stochastic tables, or one common Dirichlet row (unigram-optimal chains).
    alpha : float
        Dirichlet concentration of each row (``dirichlet``) or of the common row (``unigram``); > 0.
    order : int
        n of the n-gram chain (2 = ordinary Markov chain, 3 = trigram: next token depends on 2 previous).

    Examples
    --------
    >>> from deep.icl_markov.sampler import ChainPrior
    >>> ChainPrior("unigram", alpha=0.5)
    ChainPrior(kind='unigram', alpha=0.5, order=2)
    """

    kind: str = "dirichlet"
    alpha: float = 1.0
    order: int = 2

    def __post_init__(self):
        if self.kind not in PRIOR_KINDS:
            raise InvalidParameter("kind", f"must be one of {PRIOR_KINDS}, got {self.kind!r}")
        positive("alpha", self.alpha)
        integer("order", self.order, low=2)
        if self.kind != "dirichlet" and self.order != 2:
            raise InvalidParameter("order", f"prior {self.kind!r} is defined for order 2 only, got {self.order}")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "alpha": float(self.alpha), "order": int(self.order)}


@dataclass(frozen=True)
class MarkovBatch:
    """A batch of sequences and the tables that generated them.

    Attributes
    ----------
    tokens : LongTensor (B, L)
        Token ids in ``{0, ..., k-1}``; a model reads ``tokens[:, :-1]`` and predicts ``tokens[:, 1:]``.
    transitions : Tensor (B, k**(order-1), k)
        Row ``idx`` is the next-token law after context ``idx`` (oldest token most significant).
    order : int
        n of the n-gram chains.

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import sample_batch
    >>> batch = sample_batch(4, 11, 3, generator=torch.Generator().manual_seed(0))
    >>> batch.tokens.shape, batch.transitions.shape, batch.order
    (torch.Size([4, 11]), torch.Size([4, 3, 3]), 2)
    """

    tokens: torch.Tensor
    transitions: torch.Tensor
    order: int

    @property
    def num_states(self) -> int:
        return int(self.transitions.shape[-1])

    def next_token_law(self, position: int) -> torch.Tensor:
        """True law of ``tokens[:, position + 1]`` given the prefix, shape (B, k)."""
        idx = context_index(self.tokens[:, : position + 1], self.num_states, self.order - 1)[:, -1]
        return self.transitions[torch.arange(self.tokens.shape[0], device=self.tokens.device), idx]

    def to_dict(self) -> dict:
        return {"tokens": self.tokens.cpu().numpy(), "transitions": self.transitions.cpu().numpy(),
                "order": self.order}


def context_index(tokens: torch.Tensor, k: int, context: int) -> torch.Tensor:
    """Context id of the last ``context`` tokens at every position, oldest token most significant.

    ``out[:, t] = sum_{m=0}^{c-1} tokens[:, t-m] k^m``; positions ``t < c-1`` use the available tokens only
    (their ids are not used by any sampler or strategy). ``context = 0`` gives zeros.

    Parameters
    ----------
    tokens : torch.Tensor
        Token ids (B, L).
    k : int
        Number of states.
    context : int
        Tuple length c.

    Returns
    -------
    torch.Tensor
        Shape (B, L).

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import context_index
    >>> context_index(torch.tensor([[0, 1, 2, 0, 1]]), k=3, context=2)      # e.g. (1, 2) -> 1 * 3 + 2 = 5
    tensor([[0, 1, 5, 6, 1]])
    """
    out = torch.zeros_like(tokens)
    for m in range(context):
        shifted = torch.zeros_like(tokens)
        if m < tokens.shape[1]:
            shifted[:, m:] = tokens[:, : tokens.shape[1] - m]
        out = out + shifted * (k ** m)
    return out


def sample_gamma(concentration: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gamma(concentration, 1) variates by Marsaglia--Tsang with an explicit generator (float64).

    Uniforms and normals are drawn on the generator's device (a CPU generator serves any device), then moved to
    ``concentration``'s device. For a < 1 uses Gamma(a) = Gamma(a + 1) U^{1/a}. Vectorised rejection: redraw only the
    rejected entries.

    Parameters
    ----------
    concentration : torch.Tensor
        Shape parameters a > 0.
    generator : torch.Generator
        The source of randomness.

    Returns
    -------
    torch.Tensor
        Same shape, float64.

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import sample_gamma
    >>> draws = sample_gamma(torch.full((20000,), 2.0, dtype=torch.float64), torch.Generator().manual_seed(0))
    >>> abs(float(draws.mean()) - 2.0) < 0.05                   # E Gamma(2, 1) = 2
    True
    """
    a = concentration.to(torch.float64)
    device = a.device
    boost = a < 1
    shape = torch.where(boost, a + 1.0, a)
    d = shape - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    out = torch.empty_like(a)
    pending = torch.ones_like(a, dtype=torch.bool)
    while bool(pending.any()):
        idx = pending.nonzero(as_tuple=True)
        n = idx[0].numel()
        z = torch.randn(n, generator=generator, device=generator.device, dtype=torch.float64).to(device)
        u = torch.rand(n, generator=generator, device=generator.device, dtype=torch.float64).to(device)
        dd, cc = d[idx], c[idx]
        v = (1.0 + cc * z) ** 3
        ok = (v > 0) & (torch.log(u) < 0.5 * z * z + dd - dd * v + dd * torch.log(v.clamp_min(1e-300)))
        vals = dd * v
        sel = tuple(i[ok] for i in idx)
        out[sel] = vals[ok]
        pending[sel] = False
    if bool(boost.any()):
        u = torch.rand(a.shape, generator=generator, device=generator.device, dtype=torch.float64).to(device)
        out = torch.where(boost, out * u ** (1.0 / a), out)
    return out


def sample_dirichlet(shape: tuple[int, ...], k: int, alpha: float, generator: torch.Generator,
                     device: torch.device) -> torch.Tensor:
    """Rows i.i.d. Dir(alpha 1_k), shape ``shape + (k,)``, float64, on ``device`` (drawn on the generator's device).
    alpha = 1 uses normalised exponentials.

    Parameters
    ----------
    shape : tuple of int
        Leading shape.
    k : int
        Number of states.
    alpha : float
        Concentration.
    generator : torch.Generator
        The source.
    device : torch.device
        Result device.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import sample_dirichlet
    >>> rows = sample_dirichlet((2,), 3, 1.0, torch.Generator().manual_seed(0), torch.device("cpu"))
    >>> rows.shape, rows.sum(-1).tolist()
    (torch.Size([2, 3]), [1.0, 1.0])
    """
    if alpha == 1.0:
        g = -torch.log1p(-torch.rand(*shape, k, generator=generator, device=generator.device,
                                     dtype=torch.float64).to(device))
    else:
        g = sample_gamma(torch.full((*shape, k), float(alpha), device=device, dtype=torch.float64), generator)
    g = g.clamp_min(1e-300)
    return g / g.sum(-1, keepdim=True)


UNIFORM_BIRKHOFF_MAX_K = 5


def sample_doubly_stochastic(batch: int, k: int, generator: torch.Generator, device: torch.device | None = None,
                             tol: float = 1e-14, max_iterations: int = 100_000) -> torch.Tensor:
    r"""Doubly stochastic k x k matrices (B, k, k), float64, by the spec's rule (deep_icl_grokking.md §A.1).

    Parameters
    ----------
    batch, k : int
        Number of matrices and their size.
    generator : torch.Generator
        The only source of randomness; draws are made on its device, then moved to ``device``.
    device : torch.device, optional
        Where the result lives (default: the generator's device).
    tol : float
        k >= 6 only: Sinkhorn stops when every column sum is within ``tol`` of 1 (rows are exact to rounding).
    max_iterations : int
        k >= 6 only: Sinkhorn sweeps before :class:`~asymptotics.errors.ConvergenceError`.

    Returns
    -------
    tensor (B, k, k)

    Raises
    ------
    ConvergenceError
        If Sinkhorn has not balanced every matrix to ``tol`` after ``max_iterations`` sweeps.

    Notes
    -----
    * ``k <= 5``: **uniform on the Birkhoff polytope** (Lebesgue measure on the free (k-1) x (k-1) block), exact.
      Rows 1..k-1 are drawn i.i.d. uniform on the simplex (Dir(1)); the last row is ``1 - column sums``; a draw is
      kept iff that row is non-negative. The proposal is uniform on a product of simplices that contains the
      polytope, so the kept draws are uniform on it: the same law as the spec's cube rejection (block i.i.d. U[0,1]),
      with acceptance 1/2, 0.21, 0.075 for k = 3, 4, 5 instead of 1/8, 1.0e-3, 2.3e-7 (the proposal set is
      ``((k-1)!)^{k-1}`` times smaller than the unit cube).
    * ``k >= 6``: **not uniform** (spec: Sinkhorn-normalise a Dir(1)-row matrix). The law is that of the
      Sinkhorn--Knopp scaling ``D_1 A D_2`` of a matrix ``A`` with i.i.d. Exp(1) entries (Dir(1) rows are
      Exp(1) rows divided by their sums, and the scaling is invariant to row scalings, so the two are the same).
      It is exchangeable under row and column permutations, so every entry has mean 1/k.

    Examples
    --------
    >>> import torch
    >>> m = sample_doubly_stochastic(2, 5, torch.Generator().manual_seed(0))
    >>> bool(torch.allclose(m.sum(-2), torch.ones(2, 5, dtype=torch.float64)))
    True
    """
    integer("batch", batch, low=1)
    integer("k", k, low=2)
    device = generator.device if device is None else torch.device(device)
    draw = generator.device
    if k <= UNIFORM_BIRKHOFF_MAX_K:
        found: list[torch.Tensor] = []
        have = 0
        while have < batch:
            m = max((batch - have) * {2: 1, 3: 3, 4: 7, 5: 20}[k], 64)   # ~1.5x the expected need (1/acceptance)
            rows = -torch.log1p(-torch.rand(m, k - 1, k, generator=generator, device=draw,
                                            dtype=torch.float64).to(device))
            rows = rows / rows.sum(-1, keepdim=True)
            last = 1.0 - rows.sum(-2, keepdim=True)
            ok = (last >= 0).all(-1).squeeze(-1)
            found.append(torch.cat([rows, last], dim=-2)[ok])
            have += int(ok.sum())
        return torch.cat(found)[:batch]
    mat = -torch.log1p(-torch.rand(batch, k, k, generator=generator, device=draw, dtype=torch.float64).to(device))
    mat = mat.clamp_min(1e-300)
    residuals = []
    for _ in range(max_iterations):
        mat = mat / mat.sum(-2, keepdim=True)
        mat = mat / mat.sum(-1, keepdim=True)
        residuals.append(float((mat.sum(-2) - 1.0).abs().max()))
        if residuals[-1] <= tol:
            return mat
    raise ConvergenceError(f"Sinkhorn did not balance {batch} matrices of size {k} to {tol:g}",
                           last_iterate=mat, residuals=residuals[-10:], hint="raise max_iterations or tol")


def sample_transitions(prior: ChainPrior, batch: int, k: int, generator: torch.Generator,
                       device: torch.device) -> torch.Tensor:
    """Transition tables (B, k**(order-1), k), float64, drawn from ``prior``.

    Parameters
    ----------
    prior : ChainPrior
        The prior of the tables.
    batch : int
        Number of tables.
    k : int
        Number of states.
    generator : torch.Generator
        The source.
    device : torch.device
        Result device.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import ChainPrior, sample_transitions
    >>> P = sample_transitions(ChainPrior(order=3), 2, 3, torch.Generator().manual_seed(0), torch.device("cpu"))
    >>> P.shape                                                # one row per context pair
    torch.Size([2, 9, 3])
    """
    integer("batch", batch, low=1)
    integer("k", k, low=2)
    if prior.kind == "dirichlet":
        return sample_dirichlet((batch, k ** (prior.order - 1)), k, prior.alpha, generator, device)
    if prior.kind == "doubly_stochastic":
        return sample_doubly_stochastic(batch, k, generator, device)
    q = sample_dirichlet((batch,), k, prior.alpha, generator, device)
    return q[:, None, :].expand(batch, k, k).clone()


def lifted_chain(transitions: torch.Tensor, context: int) -> torch.Tensor:
    """Transition matrix (B, k^c, k^c) of the chain on c-tuples: idx -> (idx k + j) mod k^c with prob P[idx, j].

    Parameters
    ----------
    transitions : torch.Tensor
        n-gram tables (B, k^c, k).
    context : int
        c = order - 1.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import lifted_chain
    >>> P = torch.tensor([[[0.9, 0.1], [0.5, 0.5]]], dtype=torch.float64)
    >>> bool(torch.equal(lifted_chain(P, 1), P))                # c = 1: the chain itself
    True
    """
    batch, rows, k = transitions.shape
    if context == 1:
        return transitions
    lifted = torch.zeros(batch, rows, rows, device=transitions.device, dtype=transitions.dtype)
    src = torch.arange(rows, device=transitions.device)
    for j in range(k):
        dst = (src * k + j) % rows
        lifted[:, src, dst] = transitions[:, :, j]
    return lifted


def stationary_distribution(matrix: torch.Tensor) -> torch.Tensor:
    """Stationary law pi (pi P = pi, sum pi = 1) of row-stochastic matrices (..., m, m), solved exactly (float64).

    Solves ``(P^T - I) pi = 0`` with one equation replaced by ``sum pi = 1``. For reducible chains (several
    stationary laws, probability 0 under the Dirichlet prior) falls back to the row mean of ``P^64``.

    Parameters
    ----------
    matrix : torch.Tensor
        Row-stochastic matrices (..., m, m).

    Returns
    -------
    torch.Tensor
        Shape (..., m), float64.

    Examples
    --------
    >>> import torch
    >>> P = torch.tensor([[0.9, 0.1], [0.5, 0.5]], dtype=torch.float64)
    >>> stationary_distribution(P).tolist()  # doctest: +ELLIPSIS
    [0.8333..., 0.1666...]
    """
    mat = matrix.to(torch.float64)
    m = mat.shape[-1]
    system = mat.transpose(-1, -2) - torch.eye(m, dtype=mat.dtype, device=mat.device)
    system[..., -1, :] = 1.0
    rhs = torch.zeros(*mat.shape[:-1], dtype=mat.dtype, device=mat.device)
    rhs[..., -1] = 1.0
    pi, info = torch.linalg.solve_ex(system, rhs)
    bad = (info != 0) | ~torch.isfinite(pi).all(-1) | (pi < -1e-9).any(-1)
    if bool(bad.any()):
        power = torch.linalg.matrix_power(mat[bad], 64).mean(-2)
        pi = pi.clone()
        pi[bad] = power
    pi = pi.clamp_min(0.0)
    return pi / pi.sum(-1, keepdim=True)


def _categorical(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw of one category per row of ``probs`` (B, k) from ``uniforms`` (B,)."""
    cdf = probs.cumsum(-1)
    out = (uniforms[:, None] > cdf).sum(-1)
    return out.clamp_max(probs.shape[-1] - 1)


def sample_sequences(transitions: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """Sequences (B, length) from n-gram tables (B, k^c, k), the first c tokens stationary.

    All uniforms are drawn at once; the loop over time is one gather + compare per step for the whole batch.

    Parameters
    ----------
    transitions : torch.Tensor
        Tables (B, k^c, k).
    length : int
        Tokens per sequence.
    generator : torch.Generator
        The source.

    Returns
    -------
    torch.Tensor
        Token ids (B, length).

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import sample_sequences
    >>> P = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]], dtype=torch.float64)     # deterministic alternation
    >>> sample_sequences(P, 6, torch.Generator().manual_seed(0)).tolist() in ([[0, 1, 0, 1, 0, 1]], [[1, 0, 1, 0, 1, 0]])
    True
    """
    batch, rows, k = transitions.shape
    context = 0
    while k ** context < rows:
        context += 1
    integer("length", length, low=context + 1)
    device = transitions.device
    uniforms = torch.rand(batch, length, generator=generator, device=generator.device, dtype=torch.float64).to(device)
    pi = stationary_distribution(lifted_chain(transitions, context))
    first = _categorical(pi, uniforms[:, 0])
    tokens = torch.empty(batch, length, dtype=torch.long, device=device)
    for m in range(context):  # digits of the initial tuple, oldest (most significant) first
        tokens[:, m] = (first // (k ** (context - 1 - m))) % k
    cdf = transitions.cumsum(-1)
    rows_idx = torch.arange(batch, device=device)
    idx = first
    for t in range(context, length):
        row_cdf = cdf[rows_idx, idx]
        nxt = (uniforms[:, t][:, None] > row_cdf).sum(-1).clamp_max(k - 1)
        tokens[:, t] = nxt
        idx = (idx * k + nxt) % rows
    return tokens


def sample_batch(batch: int, length: int, k: int, prior: ChainPrior | None = None, *,
                 generator: torch.Generator, device: torch.device | None = None) -> MarkovBatch:
    """Draw ``batch`` fresh chains from ``prior`` and one sequence of ``length`` tokens from each.

    Parameters
    ----------
    batch, length, k : int
        Number of sequences, tokens per sequence (model context T plus one target), number of states.
    prior : ChainPrior, optional
        Default: Dir(1) rows, order 2 (the ICL-MC task).
    generator : torch.Generator
        The only source of randomness; draws are made on its device (a CPU generator works for any ``device``) and
        moved to ``device``.
    device : torch.device, optional
        Where the batch lives; default the generator's device.

    Returns
    -------
    MarkovBatch
        ``tokens`` (B, length) long, ``transitions`` (B, k^(order-1), k) float32.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> sample_batch(4, 11, 3, generator=g).tokens.shape
    torch.Size([4, 11])
    """
    prior = prior or ChainPrior()
    integer("batch", batch, low=1)
    integer("k", k, low=2)
    integer("length", length, low=prior.order)
    if generator is None or not isinstance(generator, torch.Generator):
        raise InvalidParameter("generator", "an explicit torch.Generator is required")
    device = torch.device(device) if device is not None else generator.device
    transitions = sample_transitions(prior, batch, k, generator, device)
    tokens = sample_sequences(transitions, length, generator)
    return MarkovBatch(tokens=tokens, transitions=transitions.to(torch.float32), order=prior.order)


def concatenate(batches: list[MarkovBatch]) -> MarkovBatch:
    """Stack batches of the same order and number of states (e.g. a DS batch and a unigram-optimal batch).

    Parameters
    ----------
    batches : list of MarkovBatch
        The batches.

    Returns
    -------
    MarkovBatch

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import sample_batch
    >>> batch = sample_batch(4, 11, 3, generator=torch.Generator().manual_seed(0))     # 4 chains on 3 states
    >>> from deep.icl_markov.sampler import concatenate
    >>> concatenate([batch, batch]).tokens.shape
    torch.Size([8, 11])
    """
    orders = {b.order for b in batches}
    if len(orders) != 1:
        raise InvalidParameter("batches", f"all batches must have one order, got {sorted(orders)}")
    return MarkovBatch(tokens=torch.cat([b.tokens for b in batches]),
                       transitions=torch.cat([b.transitions for b in batches]), order=orders.pop())
