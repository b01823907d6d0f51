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
weight draws are used at every attack step; ``resample=True`` (EOT): a running generator, fresh draws per call.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative, positive

from ..device import generator_for
from .uncertainty import log_predictive_mean


class DeterministicPosterior:
    """A point estimate: ``log_probs`` has ``S = 1`` whatever ``samples`` says."""

    stochastic = False

    def __init__(self, model: nn.Module):
        self.model = model

    def log_probs(self, x, samples: int = 1, generator=None):
        return F.log_softmax(self.model(x), -1)[None]


class EnsemblePosterior:
    """Deep ensemble (Lakshminarayanan et al. 2017): member ``s`` is sample ``s``."""

    stochastic = False

    def __init__(self, models):
        self.models = list(models)
        if not self.models:
            raise InvalidParameter("models", "must be a non-empty list")

    def log_probs(self, x, samples: int | None = None, generator=None):
        members = self.models if samples is None else self.models[:integer("samples", samples, low=1)]
        return torch.stack([F.log_softmax(m(x), -1) for m in members])


class ParameterSamplesPosterior:
    """Samples ``theta_s`` (flat vectors in ``model.parameters()`` order) of one architecture (HMC)."""

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
        thetas = self.samples if samples is None else self.samples[:integer("samples", samples, low=1)]
        return torch.stack([F.log_softmax(functional_call(self.model, self.unflatten(t), (x,)), -1) for t in thetas])


class StochasticPosterior:
    """``S`` stochastic forward passes ``model(x, generator)`` (MC dropout, mean-field VI)."""

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
    posterior : one of the posterior classes
    samples : int
        ``S`` (ignored by :class:`DeterministicPosterior`; a prefix of the members/samples otherwise).
    resample : bool
        Fresh draws at every call (EOT) instead of the same draws.
    seed : int
    """

    def __init__(self, posterior, samples: int = 32, resample: bool = False, seed: int = 0, device=None):
        super().__init__()
        self.posterior = posterior
        self.samples = integer("samples", samples, low=1)
        self.resample, self.seed = bool(resample), int(seed)
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self._running = generator_for(self.seed, self.device)

    def log_probs(self, x):
        gen = self._running if self.resample else generator_for(self.seed, x.device)
        return self.posterior.log_probs(x, self.samples, gen)

    def forward(self, x):
        return log_predictive_mean(self.log_probs(x))


def fit(model: nn.Module, X, y, epochs: int = 100, lr: float = 1e-3, batch_size: int = 128,
        weight_decay: float = 0.0, kl_weight: float | None = None, generator: torch.Generator | None = None) -> list:
    r"""Train a (possibly stochastic) classifier with Adam on mean cross-entropy (+ ``kl_weight * model.kl()``).

    Stochastic models are called as ``model(x, generator)``. For mean-field VI the default ``kl_weight`` is
    ``1/N`` (the negative ELBO per data point). Returns the per-epoch mean loss.
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
        order = torch.randperm(n, generator=generator, device=X.device)
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
    """Train ``members`` networks ``factory(generator)`` independently (different inits and minibatch orders)."""
    integer("members", members, low=1)
    models = []
    for _ in range(members):
        m = factory(generator)
        fit(m, X, y, generator=generator, **fit_options)
        models.append(m)
    return EnsemblePosterior(models)
