r"""Posterior predictive mean and uncertainty from per-sample log-probabilities ``log p_s(y|x)`` of shape
``(S, n, C)`` (``S`` posterior samples).

* ``log p_bar = logsumexp_s log p_s - log S`` (stable log of the mean of probabilities);
* total predictive entropy ``H[p_bar] = -sum_y p_bar_y log p_bar_y``;
* expected entropy ``E_s H[p_s]``;
* mutual information (epistemic) ``MI = H[p_bar] - E_s H[p_s] >= 0`` (Jensen; clamped at 0 against rounding only).

:func:`auroc` is the Mann-Whitney statistic ``P(score_pos > score_neg) + P(=)/2`` (ties count one half).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from asymptotics.errors import InvalidParameter

UNCERTAINTIES = ("entropy", "mi", "expected_entropy")


def _check(log_probs):
    if log_probs.ndim != 3:
        raise InvalidParameter("log_probs", f"must have shape (S, n, C), got {tuple(log_probs.shape)}")


def log_predictive_mean(log_probs: torch.Tensor) -> torch.Tensor:
    """``log (1/S) sum_s p_s`` of shape ``(n, C)`` via logsumexp.

    Parameters
    ----------
    log_probs : torch.Tensor
        ``log p_s(c | x_i)``, shape (S, n, C).

    Returns
    -------
    torch.Tensor
        Shape (n, C).

    Examples
    --------
    >>> import torch
    >>> log_probs = torch.log_softmax(torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(0)), -1)   # S=5, n=3, C=2
    >>> from deep.bayes import log_predictive_mean
    >>> log_predictive_mean(log_probs).exp().sum(1)
    tensor([1., 1., 1.])
    """
    _check(log_probs)
    return torch.logsumexp(log_probs, 0) - math.log(log_probs.shape[0])


def _entropy(log_p):
    return -(log_p.exp() * log_p).sum(-1)


def predictive_entropy(log_probs: torch.Tensor) -> torch.Tensor:
    """Total entropy ``H[p_bar]`` per input, shape ``(n,)`` (nats).

    Parameters
    ----------
    log_probs : torch.Tensor
        ``log p_s(c | x_i)``, shape (S, n, C).

    Returns
    -------
    torch.Tensor
        Shape (n,).

    Examples
    --------
    >>> import torch
    >>> log_probs = torch.log_softmax(torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(0)), -1)   # S=5, n=3, C=2
    >>> from deep.bayes import predictive_entropy
    >>> predictive_entropy(log_probs)
    tensor([0.6870, 0.6825, 0.6914])
    """
    return _entropy(log_predictive_mean(log_probs))


def expected_entropy(log_probs: torch.Tensor) -> torch.Tensor:
    """Aleatoric part ``(1/S) sum_s H[p_s]`` per input (nats).

    Parameters
    ----------
    log_probs : torch.Tensor
        ``log p_s(c | x_i)``, shape (S, n, C).

    Returns
    -------
    torch.Tensor
        Shape (n,).

    Examples
    --------
    >>> import torch
    >>> log_probs = torch.log_softmax(torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(0)), -1)   # S=5, n=3, C=2
    >>> from deep.bayes import expected_entropy
    >>> expected_entropy(log_probs)
    tensor([0.5782, 0.6393, 0.5840])
    """
    _check(log_probs)
    return _entropy(log_probs).mean(0)


def mutual_information(log_probs: torch.Tensor) -> torch.Tensor:
    r"""Epistemic uncertainty ``MI = H[p_bar] - E_s H[p_s]`` per input (``>= 0``; exactly 0 for identical samples
    up to rounding, which the clamp removes).

    Parameters
    ----------
    log_probs : torch.Tensor
        ``log p_s(c | x_i)``, shape (S, n, C).

    Returns
    -------
    torch.Tensor
        Shape (n,), nats.

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import mutual_information
    >>> lp = torch.log_softmax(torch.randn(1, 4, 3), -1).expand(5, 4, 3)
    >>> bool((mutual_information(lp) < 1e-6).all())
    True
    """
    return (predictive_entropy(log_probs) - expected_entropy(log_probs)).clamp_min(0.0)


def uncertainty(log_probs: torch.Tensor, measure: str = "mi") -> torch.Tensor:
    """The uncertainty ``measure`` in :data:`UNCERTAINTIES`: ``"mi"`` (:func:`mutual_information`), ``"entropy"``
    (:func:`predictive_entropy`) or ``"expected_entropy"``.

    Parameters
    ----------
    log_probs : torch.Tensor
        ``log p_s(c | x_i)``, shape (S, n, C).
    measure : str, default "mi"
        The measure.

    Returns
    -------
    torch.Tensor
        Shape (n,).

    Examples
    --------
    >>> import torch
    >>> log_probs = torch.log_softmax(torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(0)), -1)   # S=5, n=3, C=2
    >>> from deep.bayes import predictive_entropy, uncertainty
    >>> bool(torch.equal(uncertainty(log_probs, "entropy"), predictive_entropy(log_probs)))
    True
    """
    if measure not in UNCERTAINTIES:
        raise InvalidParameter("measure", f"must be one of {UNCERTAINTIES}, got {measure!r}")
    return {"entropy": predictive_entropy, "mi": mutual_information, "expected_entropy": expected_entropy}[
        measure](log_probs)


def auroc(positive_scores, negative_scores) -> float:
    r"""Area under the ROC curve of a score that should be larger on positives (Mann-Whitney U / (n_pos n_neg),
    ties counted one half).

    Parameters
    ----------
    positive_scores, negative_scores : array_like
        Scores of the positives and of the negatives.

    Returns
    -------
    float
        In [0, 1]; 0.5 for an uninformative score.

    Examples
    --------
    >>> from deep.bayes import auroc
    >>> auroc([2.0, 3.0], [0.0, 1.0]), auroc([1.0, 1.0], [1.0, 1.0])
    (1.0, 0.5)
    """
    pos = np.asarray(torch.as_tensor(positive_scores).detach().cpu().double(), dtype=float).ravel()
    neg = np.asarray(torch.as_tensor(negative_scores).detach().cpu().double(), dtype=float).ravel()
    if pos.size == 0 or neg.size == 0:
        raise InvalidParameter("positive_scores", "both score sets must be non-empty")
    if not (np.isfinite(pos).all() and np.isfinite(neg).all()):
        raise InvalidParameter("positive_scores", "scores must be finite")
    from scipy.stats import rankdata
    ranks = rankdata(np.concatenate([pos, neg]))
    u = ranks[:pos.size].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (pos.size * neg.size))
