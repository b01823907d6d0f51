r"""In-context strategies for ICL-MC, their closed-form sequential losses, and KL utilities.

Conventions: ``tokens`` is (B, L) with ids in {0, ..., k-1}; the prediction *at position t* (0-based) is a law for
``tokens[:, t+1]`` computed from ``tokens[:, :t+1]``. All strategies use Dirichlet(alpha) smoothing (alpha = 1 is the
add-one rule of the authors' plots):

* uniform (m = 0): :math:`\hat p_j = 1/k`;
* unigram (m = 1): :math:`\hat p_j = (n_j(t) + \alpha)/(t + 1 + k\alpha)`, :math:`n_j(t) = \#\{s \le t: x_s = j\}`;
* m-gram (m >= 2, context c = m - 1): :math:`\hat p_j = (N_{u j}(t) + \alpha)/(N_u(t) + k\alpha)` with u the last c
  tokens and :math:`N_{uj}(t)` the number of completed transitions u -> j inside the prefix; positions with fewer
  than c tokens get the uniform law. m = 2 is the bigram rule (statistical induction head target), the posterior
  predictive mean of row :math:`x_t` under independent Dir(alpha) rows.

Closed forms (Polya urn chain rule, exact per sequence):

.. math::
    \sum_t -\log \hat p^{bigram}_t(x_{t+1}) = \sum_i \Big[\log\Gamma(k\alpha + C_i) - \log\Gamma(k\alpha)
        - \sum_j \big(\log\Gamma(\alpha + C_{ij}) - \log\Gamma(\alpha)\big)\Big]

and for the unigram rule including the empty prefix, :math:`\log\Gamma(k\alpha + L) - \log\Gamma(k\alpha)
- \sum_j (\log\Gamma(\alpha + N_j) - \log\Gamma(\alpha))`. The expected KL of a Dir(alpha) row to the uniform law is
:math:`\log k - (\psi(k\alpha + 1) - \psi(\alpha + 1))` (= log k - (H_k - 1) for alpha = 1).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import digamma, gammaln

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, positive

from .sampler import context_index, lifted_chain, sample_gamma, stationary_distribution

STRATEGY_NAMES = {0: "uniform", 1: "unigram", 2: "bigram", 3: "trigram", 4: "tetragram"}


def strategy_name(m: int) -> str:
    """Human name of the m-gram strategy (0 = uniform, 1 = unigram, 2 = bigram, ...).

    Parameters
    ----------
    m : int
        The order.

    Returns
    -------
    str

    Examples
    --------
    >>> from deep.icl_markov.strategies import strategy_name
    >>> strategy_name(0), strategy_name(2), strategy_name(3)
    ('uniform', 'bigram', 'trigram')
    """
    return STRATEGY_NAMES.get(m, f"{m}-gram")


def _check_tokens(tokens: torch.Tensor, k: int) -> torch.Tensor:
    integer("k", k, low=2)
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2:
        raise InvalidParameter("tokens", "must be a 2-D LongTensor (batch, length)")
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= k):
        raise InvalidParameter("tokens", f"ids must lie in [0, {k - 1}]")
    return tokens.long()


def ngram_predictions(tokens: torch.Tensor, k: int, m: int, alpha: float = 1.0) -> torch.Tensor:
    """Predictions of the m-gram strategy at every position, shape (B, L, k), float64.

    Parameters
    ----------
    tokens : LongTensor (B, L)
        Token ids.
    k : int
        Number of states.
    m : int
        0 = uniform, 1 = unigram, 2 = bigram, 3 = trigram, ...
    alpha : float
        Dirichlet smoothing (1 = add-one).

    Returns
    -------
    torch.Tensor
        Shape (B, L, k), float64.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1, 0, 1, 1, 2, 0, 2, 1, 1, 0, 1, 1, 1, 1, 2]])
    >>> (ngram_predictions(x, 3, 2)[0, -1] * 5).round().tolist()
    [2.0, 2.0, 1.0]
    """
    tokens = _check_tokens(tokens, k)
    integer("m", m, low=0)
    alpha = positive("alpha", alpha)
    batch, length = tokens.shape
    device = tokens.device
    if m == 0:
        return torch.full((batch, length, k), 1.0 / k, dtype=torch.float64, device=device)
    onehot = torch.nn.functional.one_hot(tokens, k).to(torch.float64)
    if m == 1:
        counts = onehot.cumsum(1)
        return (counts + alpha) / (counts.sum(-1, keepdim=True) + k * alpha)
    context = m - 1
    rows = k ** context
    ctx = context_index(tokens, k, context)
    pair = ctx[:, :-1] * k + tokens[:, 1:]                                   # transition s -> s+1, id (u, j)
    valid = (torch.arange(length - 1, device=device) >= context - 1).to(torch.float64)
    pair_onehot = torch.nn.functional.one_hot(pair, rows * k).to(torch.float64) * valid[None, :, None]
    counts = torch.zeros(batch, length, rows * k, dtype=torch.float64, device=device)
    counts[:, 1:] = pair_onehot.cumsum(1)                                     # transitions completed by t
    counts = counts.view(batch, length, rows, k)
    row = torch.gather(counts, 2, ctx[:, :, None, None].expand(batch, length, 1, k)).squeeze(2)
    pred = (row + alpha) / (row.sum(-1, keepdim=True) + k * alpha)
    early = torch.arange(length, device=device) < context - 1
    pred[:, early] = 1.0 / k
    return pred


def last_position_strategies(tokens: torch.Tensor, k: int, orders=(0, 1, 2), alpha: float = 1.0) -> dict:
    """Predictions (B, k) of each m-gram strategy for the token after ``tokens[:, -1]``; keys are strategy names.

    Parameters
    ----------
    tokens : torch.Tensor
        Token ids (B, L).
    k : int
        Number of states.
    orders : sequence of int, default (0, 1, 2)
        The m of the strategies.
    alpha : float, default 1.0
        Dirichlet smoothing.

    Returns
    -------
    dict
        Strategy name -> (B, k) float64.

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.strategies import last_position_strategies
    >>> out = last_position_strategies(torch.tensor([[0, 1, 2, 0, 1]]), 3)
    >>> sorted(out), out["uniform"].tolist()
    (['bigram', 'uniform', 'unigram'], [[0.3333333333333333, 0.3333333333333333, 0.3333333333333333]])
    """
    return {strategy_name(m): ngram_predictions(tokens, k, m, alpha)[:, -1] for m in orders}


def kl_divergence(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """KL(p || q) = sum_j p_j log(p_j / q_j) along the last axis (0 log 0 = 0), float64.

    Parameters
    ----------
    p, q : torch.Tensor
        Distributions along the last axis.
    eps : float, default 1e-12
        Floor of q inside the log.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.strategies import kl_divergence
    >>> p = torch.tensor([0.5, 0.5], dtype=torch.float64); q = torch.tensor([0.9, 0.1], dtype=torch.float64)
    >>> round(float(kl_divergence(p, p)), 12), round(float(kl_divergence(p, q)), 4)
    (0.0, 0.5108)
    """
    p = p.to(torch.float64)
    q = q.to(torch.float64).clamp_min(eps)
    terms = torch.where(p > 0, p * (torch.log(p.clamp_min(eps)) - torch.log(q)), torch.zeros_like(p))
    return terms.sum(-1)


def sequential_log_loss(predictions: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Sum over t of -log predictions[:, t, tokens[:, t+1]], shape (B,), float64.

    Parameters
    ----------
    predictions : torch.Tensor
        Next-token laws (B, L, k) (e.g. :func:`ngram_predictions`).
    tokens : torch.Tensor
        Token ids (B, L).

    Returns
    -------
    torch.Tensor
        Shape (B,), nats.

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import sample_batch
    >>> batch = sample_batch(4, 11, 3, generator=torch.Generator().manual_seed(0))     # 4 chains on 3 states
    >>> import numpy as np
    >>> from deep.icl_markov.strategies import bigram_evidence_log_loss, ngram_predictions, sequential_log_loss
    >>> loss = sequential_log_loss(ngram_predictions(batch.tokens, 3, 2), batch.tokens)
    >>> bool(np.allclose(loss.numpy(), bigram_evidence_log_loss(batch.tokens.numpy(), 3)))   # the closed form
    True
    """
    nxt = tokens[:, 1:].long()
    probs = torch.gather(predictions[:, :-1].to(torch.float64), 2, nxt[..., None]).squeeze(-1)
    return -torch.log(probs).sum(-1)


def transition_counts(tokens: np.ndarray, k: int) -> np.ndarray:
    """C_ij = #{t : x_t = i, x_{t+1} = j} per sequence, shape (B, k, k).

    Parameters
    ----------
    tokens : numpy.ndarray
        Token ids (B, L).
    k : int
        Number of states.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from deep.icl_markov.strategies import transition_counts
    >>> transition_counts(np.array([[0, 1, 1, 2]]), 3)[0].tolist()
    [[0.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """
    tokens = np.asarray(tokens)
    counts = np.zeros((tokens.shape[0], k, k))
    for b in range(tokens.shape[0]):
        np.add.at(counts[b], (tokens[b, :-1], tokens[b, 1:]), 1.0)
    return counts


def bigram_evidence_log_loss(tokens, k: int, alpha: float = 1.0) -> np.ndarray:
    """Closed-form sequential log-loss of the Dir(alpha) bigram rule (Dirichlet--multinomial evidence), (B,).

    Parameters
    ----------
    tokens : array_like
        Token ids (B, L).
    k : int
        Number of states.
    alpha : float, default 1.0
        Dirichlet smoothing.

    Returns
    -------
    numpy.ndarray
        Nats.

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import sample_batch
    >>> batch = sample_batch(4, 11, 3, generator=torch.Generator().manual_seed(0))     # 4 chains on 3 states
    >>> from deep.icl_markov.strategies import bigram_evidence_log_loss
    >>> bigram_evidence_log_loss(batch.tokens.numpy(), 3).round(4).tolist()
    [9.4415, 11.2332, 11.7722, 9.8469]
    """
    integer("k", k, low=2)
    alpha = positive("alpha", alpha)
    counts = transition_counts(np.asarray(tokens.cpu() if isinstance(tokens, torch.Tensor) else tokens), k)
    row = counts.sum(-1)
    return (gammaln(k * alpha + row) - gammaln(k * alpha)
            - (gammaln(alpha + counts) - gammaln(alpha)).sum(-1)).sum(-1)


def unigram_evidence_log_loss(tokens, k: int, alpha: float = 1.0) -> np.ndarray:
    """Closed-form log-loss of the Dir(alpha) unigram rule over all L tokens (empty prefix included), (B,).

    Parameters
    ----------
    tokens : array_like
        Token ids (B, L).
    k : int
        Number of states.
    alpha : float, default 1.0
        Dirichlet smoothing.

    Returns
    -------
    numpy.ndarray
        Nats.

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.sampler import sample_batch
    >>> batch = sample_batch(4, 11, 3, generator=torch.Generator().manual_seed(0))     # 4 chains on 3 states
    >>> import numpy as np
    >>> from deep.icl_markov.strategies import ngram_predictions, sequential_log_loss, unigram_evidence_log_loss
    >>> first = np.log(3)                                    # the first token, predicted from the empty prefix
    >>> later = sequential_log_loss(ngram_predictions(batch.tokens, 3, 1), batch.tokens).numpy()
    >>> bool(np.allclose(unigram_evidence_log_loss(batch.tokens.numpy(), 3), first + later))
    True
    """
    integer("k", k, low=2)
    alpha = positive("alpha", alpha)
    tokens = np.asarray(tokens.cpu() if isinstance(tokens, torch.Tensor) else tokens)
    counts = np.stack([np.bincount(row, minlength=k) for row in tokens]).astype(float)
    length = tokens.shape[1]
    return gammaln(k * alpha + length) - gammaln(k * alpha) - (gammaln(alpha + counts) - gammaln(alpha)).sum(-1)


def expected_kl_to_uniform(k: int, alpha: float = 1.0) -> float:
    """E KL(p || uniform) for p ~ Dir(alpha 1_k): log k - (psi(k alpha + 1) - psi(alpha + 1)).

    Parameters
    ----------
    k : int
        Number of states.
    alpha : float, default 1.0
        Dirichlet concentration.

    Returns
    -------
    float

    Examples
    --------
    >>> from deep.icl_markov.strategies import expected_kl_to_uniform
    >>> round(expected_kl_to_uniform(3), 4)
    0.2653
    """
    integer("k", k, low=2)
    alpha = positive("alpha", alpha)
    return float(math.log(k) - (digamma(k * alpha + 1.0) - digamma(alpha + 1.0)))


def bayes_optimal_prediction(tokens: torch.Tensor, k: int, *, order: int = 2, alpha: float = 1.0,
                             num_samples: int = 512, generator: torch.Generator) -> torch.Tensor:
    r"""Bayes-optimal law of the next token after the whole prefix, (B, k), by importance sampling.

    The exact posterior of the n-gram table under i.i.d. Dir(alpha) rows and a stationary initial tuple is
    :math:`\propto \pi(P)_{u_1} \prod_{u,j} P_{uj}^{N_{uj}}` (u_1 the initial tuple, :math:`\pi` the stationary law of
    the lifted chain). Proposals: rows Dir(alpha + N_u) (the posterior without the :math:`\pi` factor, whose mean is
    the m-gram rule); weights :math:`\pi(P)_{u_1}` (self-normalised). Returns
    :math:`E[P_{u_T} \mid x] \approx \sum_s w_s P^{(s)}_{u_T} / \sum_s w_s`.

    Parameters
    ----------
    tokens : torch.Tensor
        Token ids (B, L).
    k : int
        Number of states.
    order : int, default 2
        n of the n-gram prior.
    alpha : float, default 1.0
        Dirichlet concentration of the prior's rows.
    num_samples : int, default 512
        Importance samples.
    generator : torch.Generator
        The source of the samples.

    Returns
    -------
    torch.Tensor
        Shape (B, k), float64.

    Examples
    --------
    >>> import torch
    >>> from deep.icl_markov.strategies import bayes_optimal_prediction
    >>> law = bayes_optimal_prediction(torch.tensor([[0, 1, 2, 0, 1]]), 3, num_samples=64,
    ...                                generator=torch.Generator().manual_seed(0))
    >>> law.shape, round(float(law.sum()), 12)
    (torch.Size([1, 3]), 1.0)
    """
    tokens = _check_tokens(tokens, k)
    integer("order", order, low=2)
    integer("num_samples", num_samples, low=1)
    alpha = positive("alpha", alpha)
    context = order - 1
    rows = k ** context
    batch, length = tokens.shape
    if length < context:
        raise InvalidParameter("tokens", f"need at least {context} tokens for order {order}")
    ctx = context_index(tokens, k, context)
    pair = ctx[:, context - 1:-1] * k + tokens[:, context:]
    counts = torch.nn.functional.one_hot(pair, rows * k).sum(1).view(batch, rows, k).to(torch.float64)
    conc = counts[:, None] + alpha                                              # (B, 1, rows, k)
    gam = sample_gamma(conc.expand(batch, num_samples, rows, k).contiguous(), generator)
    tables = gam / gam.sum(-1, keepdim=True)                                    # (B, S, rows, k)
    pi = stationary_distribution(lifted_chain(tables.view(-1, rows, k), context)).view(batch, num_samples, rows)
    first = ctx[:, context - 1]
    rows_idx = torch.arange(batch, device=pi.device)
    weights = pi[rows_idx, :, first]                                            # (B, S)
    weights = weights / weights.sum(-1, keepdim=True)
    last = tables[rows_idx, :, ctx[:, -1]]                                      # (B, S, k)
    return (weights[..., None] * last).sum(1)


__all__ = ["STRATEGY_NAMES", "strategy_name", "ngram_predictions", "last_position_strategies", "kl_divergence",
           "sequential_log_loss", "transition_counts", "bigram_evidence_log_loss", "unigram_evidence_log_loss",
           "expected_kl_to_uniform", "bayes_optimal_prediction"]
