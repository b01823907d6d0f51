r"""Full-batch Hamiltonian Monte Carlo (Neal 2011) with step-size adaptation, acceptance and split-R-hat.

Target ``pi(theta) ∝ exp(-U(theta))``, ``K`` chains in parallel (``theta`` of shape ``(K, D)``), identity mass.
One iteration per chain: ``p ~ N(0, I)``; ``L`` leapfrog steps of size ``e``
(``p -= e/2 grad U; [theta += e p; p -= e grad U] x (L-1); theta += e p; p -= e/2 grad U``); accept with probability
``min(1, exp(H0 - H1))``, ``H = U + |p|^2/2`` (a non-finite ``H1`` is a rejection).
Adaptation (burn-in only): ``log e_k += g_t (a_k - target)``, ``g_t = 2 / (t + 1)^0.6`` (Robbins-Monro on the
acceptance probability ``a_k``); after burn-in each chain's step size is frozen at the exponential of the mean of
``log e_k`` over the second half of burn-in. Split-R-hat (Gelman et al., BDA3 §11.4): each chain halved, ``B/n`` =
variance of the ``2K`` half-chain means, ``W`` = mean within-half variance, ``R = sqrt(((n-1)/n W + B/n) / W)``.

Convergence of a BNN posterior is judged in function space (:func:`predictive_rhat`): the split-R-hat of the
predictive probabilities ``p(y | x, theta)`` over the kept samples of each chain. Weight-space R-hat is not
informative for a network (permutation and sign symmetries make every chain's mode a different but equivalent
point). Chains should start from dispersed points (``bnn_hmc(init=(K, D))``: e.g. K networks trained from
different random initialisations): a common start hides non-mixing. Random draws come from ``generator`` on its
own device and are moved to the parameters' device.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.func import functional_call

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, positive, real

from ..device import draw_device


@dataclass(frozen=True)
class HMCResult:
    """Kept HMC samples and their diagnostics (returned by :func:`hmc`).

    Attributes
    ----------
    samples : torch.Tensor
        Shape (K, S, D): K chains, S kept samples of dimension D.
    acceptance : torch.Tensor
        Per-chain acceptance rate after burn-in, shape (K,).
    step_size : torch.Tensor
        Final (adapted) step sizes.
    rhat : torch.Tensor
        Split-R-hat per coordinate.
    rhat_max : float
        Its maximum (close to 1 when the chains mix).

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import hmc
    >>> potential = lambda theta: 0.5 * (theta ** 2).sum(1)             # a standard Gaussian in 3 dimensions
    >>> result = hmc(potential, torch.zeros(2, 3), num_samples=50, burn_in=50, step_size=0.5, leapfrog_steps=5,
    ...              generator=torch.Generator().manual_seed(0))
    >>> result.samples.shape, result.rhat_max < 1.2
    (torch.Size([2, 50, 3]), True)
    """

    samples: torch.Tensor
    acceptance: torch.Tensor
    step_size: torch.Tensor
    rhat: torch.Tensor
    rhat_max: float

    def to_dict(self) -> dict:
        return {"acceptance": self.acceptance.tolist(), "step_size": self.step_size.tolist(),
                "rhat_max": self.rhat_max}


def split_rhat(chains: torch.Tensor) -> torch.Tensor:
    """Split-R-hat per coordinate of ``chains`` ``(K, S, D)`` (``S >= 4``): each chain is split in halves and the
    between- and within-chain variances compared (1 when the chains agree).

    Parameters
    ----------
    chains : torch.Tensor
        Shape (K, S, D).

    Returns
    -------
    torch.Tensor
        Shape (D,), float64.

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import split_rhat
    >>> mixed = torch.randn(2, 400, 3, generator=torch.Generator().manual_seed(0))
    >>> stuck = mixed + torch.tensor([0.0, 5.0]).reshape(2, 1, 1)           # two chains in different places
    >>> bool((split_rhat(mixed) < 1.05).all()), bool((split_rhat(stuck) > 2).all())
    (True, True)
    """
    if chains.ndim != 3 or chains.shape[1] < 4:
        raise InvalidParameter("chains", "must have shape (K, S, D) with S >= 4")
    half = chains.shape[1] // 2
    parts = torch.cat([chains[:, :half], chains[:, half:2 * half]], 0).double()
    n = half
    W = parts.var(1).mean(0)
    B_over_n = parts.mean(1).var(0)
    var_plus = (n - 1) / n * W + B_over_n
    return torch.sqrt(var_plus / W.clamp_min(1e-300))


def _grad(potential, theta):
    theta = theta.detach().requires_grad_(True)
    with torch.enable_grad():
        u = potential(theta)
        (g,) = torch.autograd.grad(u.sum(), theta)
    return u.detach(), g


def hmc(potential, theta0: torch.Tensor, num_samples: int = 200, burn_in: int = 200, step_size: float = 1e-2,
        leapfrog_steps: int = 20, target_accept: float = 0.7, thin: int = 1,
        generator: torch.Generator | None = None) -> HMCResult:
    r"""Sample ``K`` chains of HMC for ``exp(-potential)``.

    Parameters
    ----------
    potential : callable
        ``(K, D) -> (K,)`` potential energy ``U`` (negative log density up to a constant), differentiable.
    theta0 : tensor (K, D)
        Starting points (``K >= 2`` for R-hat).
    num_samples, burn_in, thin : int
        Kept iterations (every ``thin``-th after burn-in), adaptation iterations.
    step_size : float
        Initial leapfrog step.
    leapfrog_steps : int
        Leapfrog steps per proposal.
    target_accept : float
        Acceptance probability targeted by the adaptation.
    generator : torch.Generator, optional
        Source of the momenta and the accept/reject draws.

    Returns
    -------
    HMCResult

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import hmc
    >>> potential = lambda theta: 0.5 * (theta ** 2).sum(1)             # a standard Gaussian in 3 dimensions
    >>> result = hmc(potential, torch.zeros(2, 3), num_samples=50, burn_in=50, step_size=0.5, leapfrog_steps=5,
    ...              generator=torch.Generator().manual_seed(0))
    >>> float(result.samples.var()) > 0.5                 # close to the target's unit variance
    True
    """
    if theta0.ndim != 2:
        raise InvalidParameter("theta0", f"must have shape (K, D), got {tuple(theta0.shape)}")
    integer("num_samples", num_samples, low=1)
    integer("burn_in", burn_in, low=0)
    integer("thin", thin, low=1)
    integer("leapfrog_steps", leapfrog_steps, low=1)
    positive("step_size", step_size)
    real("target_accept", target_accept, low=0.0, high=1.0, low_open=True, high_open=True)
    theta = theta0.detach().clone()
    K = theta.shape[0]
    log_eps = torch.full((K,), math.log(step_size), dtype=theta.dtype, device=theta.device)
    history, kept, accepted = [], [], torch.zeros(K, dtype=theta.dtype, device=theta.device)
    u, g = _grad(potential, theta)
    total = burn_in + num_samples * thin
    for t in range(total):
        eps = log_eps.exp()[:, None]
        p = torch.randn(theta.shape, generator=generator, dtype=theta.dtype,
                        device=draw_device(generator, theta.device)).to(theta.device)
        h0 = u + 0.5 * (p * p).sum(1)
        q, pn, gq = theta, p - 0.5 * eps * g, g
        for step in range(leapfrog_steps):
            q = q + eps * pn
            uq, gq = _grad(potential, q)
            pn = pn - (eps if step < leapfrog_steps - 1 else 0.5 * eps) * gq
        h1 = uq + 0.5 * (pn * pn).sum(1)
        log_a = torch.where(torch.isfinite(h1), (h0 - h1).clamp(max=0.0), torch.full_like(h1, -math.inf))
        a = log_a.exp()
        accept = torch.rand(K, generator=generator, dtype=theta.dtype,
                            device=draw_device(generator, theta.device)).to(theta.device) < a
        theta = torch.where(accept[:, None], q, theta)
        u = torch.where(accept, uq, u)
        g = torch.where(accept[:, None], gq, g)
        if t < burn_in:
            log_eps = log_eps + 2.0 / (t + 1) ** 0.6 * (a - target_accept)
            if t >= burn_in // 2:
                history.append(log_eps.clone())
            if t == burn_in - 1 and history:
                log_eps = torch.stack(history).mean(0)
        else:
            accepted += accept.to(theta.dtype)
            if (t - burn_in) % thin == thin - 1:
                kept.append(theta.clone())
    samples = torch.stack(kept, 1)
    rhat = split_rhat(samples) if samples.shape[1] >= 4 else torch.full(
        (theta.shape[1],), math.nan, dtype=theta.dtype, device=theta.device)
    return HMCResult(samples=samples, acceptance=accepted / (num_samples * thin), step_size=log_eps.exp(),
                     rhat=rhat, rhat_max=float(rhat.max()))


def bnn_hmc(model, X, y, prior_std: float = 1.0, chains: int = 2, num_samples: int = 100, burn_in: int = 100,
            step_size: float = 1e-3, leapfrog_steps: int = 20, target_accept: float = 0.7, thin: int = 1,
            init=None, generator: torch.Generator | None = None):
    r"""Full-batch HMC for a classifier: ``U(theta) = sum_i CE(f(x_i; theta), y_i) + |theta|^2 / (2 prior_std^2)``.

    Chains start at ``init``: a ``(chains, D)`` tensor of dispersed starting points (recommended: one trained
    network per chain from different random initialisations), a flat vector shared by all chains, or (None)
    ``model``'s parameters.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier (logits); its parameters define theta.
    X, y : torch.Tensor
        Training inputs and class indices (full batch).
    prior_std : float, default 1.0
        Gaussian prior standard deviation.
    chains : int, default 2
        Number of chains.
    num_samples, burn_in, thin : int
        Kept iterations, adaptation iterations, thinning.
    step_size : float, default 1e-3
        Initial leapfrog step.
    leapfrog_steps : int, default 20
        Leapfrog steps per proposal.
    target_accept : float, default 0.7
        Acceptance probability targeted by the adaptation.
    init : torch.Tensor, optional
        Starting points (see above).
    generator : torch.Generator, optional
        Source of randomness.

    Returns
    -------
    (ParameterSamplesPosterior, HMCResult)
        The posterior holding the kept samples of all chains (chain-major order), and the diagnostics.

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import bnn_hmc
    >>> X = torch.rand(20, 4, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0.5).long()
    >>> posterior, result = bnn_hmc(torch.nn.Linear(4, 2), X, y, chains=2, num_samples=10, burn_in=10,
    ...                             leapfrog_steps=3, generator=torch.Generator().manual_seed(0))
    >>> result.samples.shape                                 # 2 chains, 10 samples, 10 parameters
    torch.Size([2, 10, 10])
    """
    from .posterior import ParameterSamplesPosterior

    positive("prior_std", prior_std)
    integer("chains", chains, low=1)
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]) if init is None else init.detach()
    if flat.ndim == 2 and flat.shape[0] != chains:
        raise InvalidParameter("init", f"has {flat.shape[0]} starting points for {chains} chains")
    wrap = ParameterSamplesPosterior(model, [flat if flat.ndim == 1 else flat[0]])

    def one(theta):
        logits = functional_call(model, wrap.unflatten(theta), (X,))
        return F.cross_entropy(logits, y, reduction="sum") + (theta * theta).sum() / (2 * prior_std ** 2)

    batched = torch.func.vmap(one)          # all chains in one call: the per-call overhead dominates small nets

    def potential(thetas):
        return batched(thetas)

    theta0 = flat[None].repeat(chains, 1) if flat.ndim == 1 else flat.clone()
    result = hmc(potential, theta0, num_samples, burn_in, step_size, leapfrog_steps, target_accept, thin, generator)
    samples = [s for chain in result.samples for s in chain]
    return ParameterSamplesPosterior(model, samples), result


def predictive_rhat(model, samples: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    r"""Function-space split-R-hat: of ``p(y_i | x_i, theta)`` per input (``y`` given) or of every class
    probability ``p(c | x_i, theta)`` (shape ``(n, C)``), over HMC ``samples`` of shape ``(K, S, D)``.

    Constant quantities (zero within-chain variance, e.g. saturated probabilities) are reported as 1.

    Parameters
    ----------
    model : torch.nn.Module
        The architecture the samples parametrise.
    samples : torch.Tensor
        HMC samples, shape (K, S, D).
    x : torch.Tensor
        Inputs.
    y : torch.Tensor, optional
        Labels: R-hat of ``p(y_i | x_i)`` (else of every class probability).

    Returns
    -------
    torch.Tensor
        Shape (n,) or (n, C).

    Examples
    --------
    >>> import torch
    >>> from deep.bayes import predictive_rhat
    >>> samples = torch.randn(2, 20, 10, generator=torch.Generator().manual_seed(0))   # 2 chains of a Linear(4, 2)
    >>> predictive_rhat(torch.nn.Linear(4, 2), samples, torch.ones(3, 4), torch.tensor([0, 1, 0])).shape
    torch.Size([3])
    """
    from .posterior import ParameterSamplesPosterior

    if samples.ndim != 3:
        raise InvalidParameter("samples", f"must have shape (K, S, D), got {tuple(samples.shape)}")
    K, S, D = samples.shape
    wrap = ParameterSamplesPosterior(model, list(samples.reshape(K * S, D)))
    with torch.no_grad():
        probs = wrap.log_probs(x).exp().double()                    # (K S, n, C), chain-major
    if y is not None:
        probs = probs.gather(2, y.reshape(1, -1, 1).expand(K * S, -1, 1))
    chains = probs.reshape(K, S, -1)
    half = S // 2
    if half < 2:
        raise InvalidParameter("samples", "needs S >= 4 samples per chain")
    parts = torch.cat([chains[:, :half], chains[:, half:2 * half]], 0)
    W, B_over_n = parts.var(1).mean(0), parts.mean(1).var(0)
    rhat = torch.sqrt(((half - 1) / half * W + B_over_n) / W.clamp_min(1e-300))
    rhat = torch.where(W > 1e-12, rhat, torch.ones_like(rhat))
    return rhat.reshape(probs.shape[1:]).squeeze(-1) if y is not None else rhat.reshape(probs.shape[1:])
