r"""Posteriors as samplers of log-probabilities, their predictive mean, and training of the approximations.

A posterior exposes ``log_probs(x, samples, generator) -> (S, n, C)`` (log-softmax per posterior sample):

* :class:`DeterministicPosterior`: one network, ``S = 1``;
* :class:`EnsemblePosterior`: a list of networks (deep ensembles), ``S`` = number of members (or the first
  ``samples``);
* :class:`ParameterSamplesPosterior`: one architecture and a list of flat parameter vectors (HMC samples),
  evaluated with ``torch.func.functional_call``;
* :class:`StochasticPosterior`: a network with ``forward(x, generator)`` that draws its randomness per call
  (:class:`~deep.bayes.DropoutMLP`, :class:`~deep.bayes.BayesMLP`), ``S`` calls.

:class:`PosteriorPredictive` turns one into a deterministic-looking model ``x -> log p_bar(.|x)`` (a valid logit
vector: ``softmax(log p_bar) = p_bar``, so ``deep.attacks`` with cross-entropy maximizes ``-log p_bar(y|x)``).
``resample=False`` ("fixed" samples): every call re-seeds a generator with ``seed``, so the same dropout masks /
weight draws / members are used at every attack step; ``resample=True`` (EOT): a running generator, fresh draws
per call. Every posterior honours the generator: ensembles and parameter samples (HMC) draw ``S`` members / samples
uniformly with replacement from their pool (:func:`draw_indices`); without a generator they use ``S`` indices
spread evenly over the pool (for HMC, chain-major storage: evenly over all chains, not the first ``S`` of chain 0).
Generators are CPU ``torch.Generator`` objects (any device's generator works: draws are made on its device and
moved to the data's device).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative, positive

from ..device import draw_device
from .uncertainty import log_predictive_mean


class DeterministicPosterior:
    """A point estimate: ``log_probs`` has ``S = 1`` whatever ``samples`` says.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier (logits).

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import DeterministicPosterior
    >>> DeterministicPosterior(torch.nn.Linear(4, 2)).log_probs(torch.ones(3, 4), 5, None).shape
    torch.Size([1, 3, 2])
    """

    stochastic = False

    def __init__(self, model: nn.Module):
        self.model = model

    def log_probs(self, x, samples: int = 1, generator=None):
        return F.log_softmax(self.model(x), -1)[None]


def draw_indices(pool: int, samples: int | None, generator: torch.Generator | None) -> list[int]:
    """``samples`` indices into a pool of ``pool`` members: uniform with replacement from ``generator``, or evenly
    spread (``round(i pool / S)``) without one; all of them (``range(pool)``) when ``samples`` is None.

    Parameters
    ----------
    pool : int
        Pool size.
    samples : int or None
        How many.
    generator : torch.Generator or None
        Source of random draws.

    Returns
    -------
    list of int

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import draw_indices
    >>> draw_indices(10, 3, None), draw_indices(3, None, None)
    ([0, 3, 6], [0, 1, 2])
    """
    integer("pool", pool, low=1)
    if samples is None:
        return list(range(pool))
    S = integer("samples", samples, low=1)
    if generator is None:
        return [min(pool - 1, (i * pool) // S) for i in range(S)]
    return torch.randint(0, pool, (S,), generator=generator, device=draw_device(generator)).tolist()


class EnsemblePosterior:
    """Deep ensemble (Lakshminarayanan et al. 2017): ``S`` members drawn by :func:`draw_indices` (all members when
    ``samples`` is None).

    Parameters
    ----------
    models : sequence of torch.nn.Module
        The members (classifiers with logits).

    Examples
    --------
    >>> import torch
    >>> X = torch.rand(20, 4, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0.5).long()
    >>> from deep.bayes import DropoutMLP, train_ensemble
    >>> ensemble = train_ensemble(lambda g: DropoutMLP(4, (8,), 2, p=0.0, generator=g), 2, X, y,
    ...                           generator=torch.Generator().manual_seed(0), epochs=2)
    >>> len(ensemble.models), ensemble.log_probs(X[:3], None, None).shape
    (2, torch.Size([2, 3, 2]))
    """

    stochastic = False

    def __init__(self, models):
        self.models = list(models)
        if not self.models:
            raise InvalidParameter("models", "must be a non-empty list")

    def log_probs(self, x, samples: int | None = None, generator=None):
        idx = draw_indices(len(self.models), samples, generator)
        return torch.stack([F.log_softmax(self.models[i](x), -1) for i in idx])


class ParameterSamplesPosterior:
    """Samples ``theta_s`` (flat vectors in ``model.parameters()`` order) of one architecture (HMC); ``S`` of them
    drawn by :func:`draw_indices` (all when ``samples`` is None).

    Parameters
    ----------
    model : torch.nn.Module
        The architecture.
    samples : torch.Tensor
        Parameter vectors, shape (N, D).

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import ParameterSamplesPosterior
    >>> net = torch.nn.Linear(4, 2)
    >>> thetas = torch.randn(6, 10, generator=torch.Generator().manual_seed(0))      # 6 samples of the 10 parameters
    >>> ParameterSamplesPosterior(net, thetas).log_probs(torch.ones(3, 4), 4, None).shape
    torch.Size([4, 3, 2])
    """

    stochastic = False

    def __init__(self, model: nn.Module, samples):
        self.model = model
        self.names = [n for n, _ in model.named_parameters()]
        self.shapes = [p.shape for _, p in model.named_parameters()]
        self.samples = [s.detach() for s in samples]
        size = sum(p.numel() for p in model.parameters())
        if not self.samples or any(s.ndim != 1 or s.numel() != size for s in self.samples):
            raise InvalidParameter("samples", f"must be a non-empty list of vectors of length {size}")

    def unflatten(self, theta):
        out, start = {}, 0
        for name, shape in zip(self.names, self.shapes):
            n = shape.numel()
            out[name] = theta[start:start + n].reshape(shape)
            start += n
        return out

    def log_probs(self, x, samples: int | None = None, generator=None):
        idx = draw_indices(len(self.samples), samples, generator)
        return torch.stack([F.log_softmax(functional_call(self.model, self.unflatten(self.samples[i]), (x,)), -1)
                            for i in idx])


class StochasticPosterior:
    """``S`` stochastic forward passes ``model(x, generator)`` (MC dropout, mean-field VI).

    Parameters
    ----------
    model : torch.nn.Module
        A stochastic classifier called as ``model(x, generator)``.

    Examples
    --------
    >>> import torch
    >>> X = torch.rand(20, 4, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0.5).long()
    >>> from deep.bayes import DropoutMLP, StochasticPosterior
    >>> net = DropoutMLP(4, widths=(16,), out_features=2, p=0.2, generator=torch.Generator().manual_seed(1))
    >>> posterior = StochasticPosterior(net)                     # MC dropout
    >>> posterior.log_probs(X[:3], 5, torch.Generator().manual_seed(0)).shape
    torch.Size([5, 3, 2])
    """

    stochastic = True

    def __init__(self, model: nn.Module):
        self.model = model

    def log_probs(self, x, samples: int = 32, generator=None):
        integer("samples", samples, low=1)
        return torch.stack([F.log_softmax(self.model(x, generator), -1) for _ in range(samples)])


class PosteriorPredictive(nn.Module):
    r"""``x -> log p_bar(.|x) = logsumexp_s log p_s - log S`` (see module docstring for fixed vs resampled draws).

    Parameters
    ----------
    posterior : posterior object
        One of the posterior classes.
    samples : int
        ``S`` (ignored by :class:`DeterministicPosterior`).
    resample : bool
        Fresh draws at every call (EOT) instead of the same draws.
    seed : int
        Seed of the (CPU) generator of the draws. Score with another seed than the attack's, so that the draws
        that judge an adversarial example are independent of those that made it.
    device : optional
        Ignored (kept for callers; draws are made on the CPU and moved).

    Examples
    --------
    >>> import torch
    >>> X = torch.rand(20, 4, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0.5).long()
    >>> from deep.bayes import DropoutMLP, StochasticPosterior
    >>> net = DropoutMLP(4, widths=(16,), out_features=2, p=0.2, generator=torch.Generator().manual_seed(1))
    >>> posterior = StochasticPosterior(net)                     # MC dropout
    >>> from deep.bayes import PosteriorPredictive
    >>> predictive = PosteriorPredictive(posterior, samples=4, seed=0)
    >>> predictive(X[:2]).exp().sum(1).tolist()                   # log of a probability vector per input
    [1.0, 1.0]
    """

    def __init__(self, posterior, samples: int = 32, resample: bool = False, seed: int = 0, device=None):
        super().__init__()
        self.posterior = posterior
        self.samples = integer("samples", samples, low=1)
        self.resample, self.seed = bool(resample), int(seed)
        self._running = torch.Generator().manual_seed(self.seed)

    def log_probs(self, x):
        gen = self._running if self.resample else torch.Generator().manual_seed(self.seed)
        return self.posterior.log_probs(x, self.samples, gen)

    def forward(self, x):
        return log_predictive_mean(self.log_probs(x))


def fit(model: nn.Module, X, y, epochs: int = 100, lr: float = 1e-3, batch_size: int = 128,
        weight_decay: float = 0.0, kl_weight: float | None = None, generator: torch.Generator | None = None) -> list:
    r"""Train a (possibly stochastic) classifier with Adam on mean cross-entropy (+ ``kl_weight * model.kl()``).

    Stochastic models are called as ``model(x, generator)``. For mean-field VI the default ``kl_weight`` is
    ``1/N`` (the negative ELBO per data point).

    Parameters
    ----------
    model : torch.nn.Module
        The classifier (trained in place).
    X, y : torch.Tensor
        Inputs and class indices.
    epochs : int, default 100
        Epochs.
    lr : float, default 1e-3
        Adam step size.
    batch_size : int, default 128
        Minibatch size.
    weight_decay : float, default 0.0
        Adam weight decay.
    kl_weight : float, optional
        Weight of ``model.kl()`` (default 1/N for models that have one).
    generator : torch.Generator, optional
        Minibatch order and the model's randomness.

    Returns
    -------
    list of float
        The per-epoch mean loss.

    Examples
    --------
    >>> import torch
    >>> X = torch.rand(20, 4, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0.5).long()
    >>> from deep.bayes import DropoutMLP, fit
    >>> net = DropoutMLP(4, widths=(16,), out_features=2, generator=torch.Generator().manual_seed(1))
    >>> losses = fit(net, X, y, epochs=3, lr=1e-2, batch_size=10, generator=torch.Generator().manual_seed(0))
    >>> len(losses), losses[-1] < losses[0]
    (3, True)
    """
    integer("epochs", epochs, low=1)
    positive("lr", lr)
    integer("batch_size", batch_size, low=1)
    nonnegative("weight_decay", weight_decay)
    n = X.shape[0]
    has_kl = hasattr(model, "kl")
    kl_weight = (1.0 / n if kl_weight is None else nonnegative("kl_weight", kl_weight)) if has_kl else 0.0
    stochastic = isinstance(model, nn.Module) and "generator" in model.forward.__code__.co_varnames
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    losses = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator, device=draw_device(generator, X.device)).to(X.device)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            out = model(X[idx], generator) if stochastic else model(X[idx])
            loss = F.cross_entropy(out, y[idx])
            if has_kl:
                loss = loss + kl_weight * model.kl()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        losses.append(total / n)
    model.eval()
    return losses


def train_ensemble(factory, members: int, X, y, generator: torch.Generator | None = None, **fit_options):
    """Train ``members`` networks ``factory(generator)`` independently (different inits and minibatch orders).

    Parameters
    ----------
    factory : callable
        ``factory(generator) -> torch.nn.Module``.
    members : int
        Ensemble size.
    X, y : torch.Tensor
        Training inputs and class indices.
    generator : torch.Generator, optional
        Source of the inits and minibatch orders.
    **fit_options
        Keyword arguments of :func:`fit`.

    Returns
    -------
    EnsemblePosterior

    Examples
    --------
    >>> import torch
    >>> X = torch.rand(20, 4, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0.5).long()
    >>> from deep.bayes import DropoutMLP, train_ensemble
    >>> ensemble = train_ensemble(lambda g: DropoutMLP(4, (8,), 2, p=0.0, generator=g), 2, X, y,
    ...                           generator=torch.Generator().manual_seed(0), epochs=2)
    >>> len(ensemble.models)
    2
    """
    integer("members", members, low=1)
    models = []
    for _ in range(members):
        m = factory(generator)
        fit(m, X, y, generator=generator, **fit_options)
        models.append(m)
    return EnsemblePosterior(models)
