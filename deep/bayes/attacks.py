r"""Attacks on Bayesian predictions (Feng et al. 2024, spec §4.2), linf by default, inputs in ``[0, 1]``.

* :func:`attack_predictive`: PGD (``deep.attacks.pgd``) on ``-log p_bar(y|x')`` through
  :class:`~deep.bayes.PosteriorPredictive` — fixed draws, or resampled at every step (EOT-PGD).
* :func:`uncertainty_attack`: projected sign ascent on ``log p_bar(t|x') - lam U(x')`` (``t`` the most likely
  wrong class; misclassify while looking certain) or, untargeted, ``-log p_bar(y|x') - lam U(x')``. With
  ``targeted=False, lam = 0, stop_on_success=True`` it is the naive, detection-unaware attack that stops each
  sample at its first misclassified iterate (near the boundary, where uncertainty is high). Otherwise each sample
  keeps its misclassified iterate of lowest ``U`` (the last iterate if none is misclassified).
* :func:`ood_attack`: projected ascent on ``-U(x')`` for out-of-distribution inputs (make them look certain); keeps
  the lowest-``U`` iterate.
* :func:`detection_auroc`: AUROC of ``U`` separating attacked/OOD inputs (positives) from clean ones.

The step uses ``deep.attacks.threat`` (``ascent_direction``, ``project``: ball then box), step size
``2.5 eps / steps`` by default, random start from ``generator``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative

from ..attacks import pgd
from ..attacks.threat import ascent_direction, parse_threat, project, random_point
from .posterior import PosteriorPredictive
from .uncertainty import auroc, log_predictive_mean, uncertainty


def attack_predictive(posterior, x, y, eps: float, samples: int = 32, resample: bool = False, seed: int = 0,
                      steps: int = 40, step_size: float | None = None, restarts: int = 1, norm: str = "linf",
                      random_start: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """PGD on the posterior predictive mean: cross-entropy of ``log p_bar(y|x')`` through
    :class:`~deep.bayes.PosteriorPredictive`, fixed draws or resampled at every step (EOT-PGD).

    Parameters
    ----------
    posterior : posterior object
        One of the posterior classes (:class:`StochasticPosterior`, :class:`EnsemblePosterior`, ...).
    x : torch.Tensor
        Inputs in [0, 1].
    y : torch.Tensor
        Class indices.
    eps : float
        Radius.
    samples : int, default 32
        Posterior draws S per evaluation.
    resample : bool, default False
        Fresh draws at every step (EOT) instead of fixed ones.
    seed : int, default 0
        Seed of the draws.
    restarts : int, default 1
        Random restarts.
    steps : int, default 40
        PGD steps.
    step_size : float, optional
        PGD step size.
    norm : {"linf", "l2", "l1"}, default "linf"
        The threat model.
    random_start : bool, default True
        Start at a random point of the ball.
    generator : torch.Generator, optional
        Source of the random start.

    Returns
    -------
    torch.Tensor
        Detached adversarial inputs.

    Examples
    --------
    >>> import torch
    >>> X = torch.rand(20, 4, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0.5).long()
    >>> from deep.bayes import DropoutMLP, StochasticPosterior
    >>> net = DropoutMLP(4, widths=(16,), out_features=2, p=0.2, generator=torch.Generator().manual_seed(1))
    >>> posterior = StochasticPosterior(net)                     # MC dropout
    >>> from deep.bayes import attack_predictive
    >>> x_adv = attack_predictive(posterior, X[:4], y[:4], eps=0.1, samples=4, steps=3,
    ...                           generator=torch.Generator().manual_seed(0))
    >>> bool((x_adv - X[:4]).abs().max() <= 0.1 + 1e-6)
    True
    """
    model = PosteriorPredictive(posterior, samples, resample, seed, device=x.device)
    return pgd(model, x, y, eps, norm, steps=steps, step_size=step_size, random_start=random_start,
               restarts=restarts, loss="ce", generator=generator)


def _ascent(objective, x, eps, steps, step_size, norm, random_start, generator, keep):
    norm = parse_threat(norm)
    nonnegative("eps", eps)
    integer("steps", steps, low=1)
    alpha = 2.5 * eps / steps if step_size is None else step_size
    x = x.detach()
    delta = random_point(x, eps, norm, generator) if random_start else torch.zeros_like(x)
    delta = project(delta, x, eps, norm, (0.0, 1.0))
    best = keep.init(x)
    for _ in range(steps):
        d = delta.detach().requires_grad_(True)
        with torch.enable_grad():
            obj, aux = objective(x + d)
            (g,) = torch.autograd.grad(obj.sum(), d)
        keep.update(best, delta, aux)
        active = keep.active(best).reshape((-1,) + (1,) * (x.ndim - 1))
        step = project(delta + alpha * ascent_direction(g, norm, x + delta, (0.0, 1.0)), x, eps, norm, (0.0, 1.0))
        delta = torch.where(active, step, delta)
    with torch.no_grad():
        _, aux = objective(x + delta)
    keep.update(best, delta, aux)
    return (x + best["delta"]).detach()


class _KeepCertainMistake:
    """Per sample: first misclassified iterate (``stop``) or misclassified iterate of lowest U."""

    def __init__(self, stop):
        self.stop = stop

    def init(self, x):
        n = x.shape[0]
        return {"delta": torch.zeros_like(x), "u": torch.full((n,), float("inf"), device=x.device),
                "succ": torch.zeros(n, dtype=torch.bool, device=x.device)}

    def update(self, best, delta, aux):
        wrong, u = aux
        if self.stop:
            better = wrong & ~best["succ"]
        else:
            better = (wrong & (~best["succ"] | (u < best["u"]))) | (~wrong & ~best["succ"])
        shape = (-1,) + (1,) * (delta.ndim - 1)
        best["delta"] = torch.where(better.reshape(shape), delta.detach(), best["delta"])
        best["u"] = torch.where(better, u.detach().to(best["u"].dtype), best["u"])
        best["succ"] = best["succ"] | wrong

    def active(self, best):
        return ~best["succ"] if self.stop else torch.ones_like(best["succ"])


class _KeepLowest:
    def init(self, x):
        return {"delta": torch.zeros_like(x), "u": torch.full((x.shape[0],), float("inf"), device=x.device)}

    def update(self, best, delta, aux):
        u = aux
        better = u < best["u"]
        shape = (-1,) + (1,) * (delta.ndim - 1)
        best["delta"] = torch.where(better.reshape(shape), delta.detach(), best["delta"])
        best["u"] = torch.where(better, u.detach().to(best["u"].dtype), best["u"])

    def active(self, best):
        return torch.ones_like(best["u"], dtype=torch.bool)


def uncertainty_attack(posterior, x, y, eps: float, lam: float = 1.0, measure: str = "mi", samples: int = 32,
                       resample: bool = False, seed: int = 0, steps: int = 40, step_size: float | None = None,
                       norm: str = "linf", targeted: bool = True, stop_on_success: bool = False,
                       random_start: bool = True, generator: torch.Generator | None = None,
                       target: torch.Tensor | None = None) -> torch.Tensor:
    r"""Misclassify while keeping uncertainty low.

    ``targeted=True`` (the adaptive attack): maximize ``log p_bar(t|x') - lam U(x')`` with ``t`` the most likely
    wrong class at the clean input (a high-confidence targeted attack: driving ``p_bar(t)`` to 1 drives the
    entropy and the mutual information to 0). ``targeted=False``: maximize ``-log p_bar(y|x') - lam U(x')``.
    Each sample keeps its misclassified iterate of lowest ``U`` (``stop_on_success``: its first misclassified
    iterate — with ``targeted=False, lam=0`` the naive, detection-unaware attack that stops near the boundary).

    Parameters
    ----------
    posterior : posterior object
        One of the posterior classes.
    x, y : torch.Tensor
        Inputs in [0, 1] and class indices.
    eps : float
        Radius.
    measure : {"mi", "entropy", "expected_entropy"}, default "mi"
        The uncertainty U.
    samples, resample, seed : int, bool, int
        Posterior draws (see :class:`PosteriorPredictive`).
    steps, step_size, norm, random_start, generator
        The projected ascent (as :func:`deep.attacks.pgd`).
    targeted : bool, default True
        The adaptive targeted attack (see above).
    stop_on_success : bool, default False
        Keep each sample's first misclassified iterate.
    lam : float
        Weight of the uncertainty ``U`` (``measure`` in ``"mi"``, ``"entropy"``, ``"expected_entropy"``).
    target : tensor (n,), optional
        Target classes for ``targeted=True`` (default: the most likely wrong class at the clean input).

    Returns
    -------
    torch.Tensor
        Detached adversarial inputs.

    Examples
    --------
    >>> import torch
    >>> X = torch.rand(20, 4, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0.5).long()
    >>> from deep.bayes import DropoutMLP, StochasticPosterior
    >>> net = DropoutMLP(4, widths=(16,), out_features=2, p=0.2, generator=torch.Generator().manual_seed(1))
    >>> posterior = StochasticPosterior(net)                     # MC dropout
    >>> from deep.bayes import uncertainty_attack
    >>> x_adv = uncertainty_attack(posterior, X[:4], y[:4], eps=0.1, samples=4, steps=3,
    ...                            generator=torch.Generator().manual_seed(0))
    >>> bool((x_adv - X[:4]).abs().max() <= 0.1 + 1e-6)
    True
    """
    nonnegative("lam", lam)
    if x.shape[0] != y.shape[0]:
        raise InvalidParameter("y", f"has {y.shape[0]} labels for {x.shape[0]} inputs")
    model = PosteriorPredictive(posterior, samples, resample, seed, device=x.device)
    if targeted and target is None:
        with torch.no_grad():
            lbar0 = model(x)
        target = lbar0.scatter(1, y[:, None], -float("inf")).argmax(1)

    def objective(xa):
        lp = model.log_probs(xa)
        lbar = log_predictive_mean(lp)
        u = uncertainty(lp, measure)
        wrong = lbar.argmax(1) != y
        gain = -F.nll_loss(lbar, target, reduction="none") if targeted else F.nll_loss(lbar, y, reduction="none")
        return gain - lam * u, (wrong.detach(), u.detach())

    return _ascent(objective, x, eps, steps, step_size, norm, random_start, generator,
                   _KeepCertainMistake(stop_on_success))


def ood_attack(posterior, x, eps: float, measure: str = "mi", samples: int = 32, resample: bool = False,
               seed: int = 0, steps: int = 40, step_size: float | None = None, norm: str = "linf",
               random_start: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """Minimize the uncertainty ``U`` of (out-of-distribution) inputs within the ball; keeps the lowest-U iterate.

    Parameters
    ----------
    posterior : posterior object
        One of the posterior classes (:class:`StochasticPosterior`, :class:`EnsemblePosterior`, ...).
    x : torch.Tensor
        Inputs in [0, 1].
    eps : float
        Radius.
    measure : {"mi", "entropy", "expected_entropy"}, default "mi"
        The uncertainty U.
    samples : int, default 32
        Posterior draws S per evaluation.
    resample : bool, default False
        Fresh draws at every step (EOT) instead of fixed ones.
    seed : int, default 0
        Seed of the draws.
    steps : int, default 40
        PGD steps.
    step_size : float, optional
        PGD step size.
    norm : {"linf", "l2", "l1"}, default "linf"
        The threat model.
    random_start : bool, default True
        Start at a random point of the ball.
    generator : torch.Generator, optional
        Source of the random start.

    Returns
    -------
    torch.Tensor
        Detached perturbed inputs.

    Examples
    --------
    >>> import torch
    >>> X = torch.rand(20, 4, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0.5).long()
    >>> from deep.bayes import DropoutMLP, StochasticPosterior
    >>> net = DropoutMLP(4, widths=(16,), out_features=2, p=0.2, generator=torch.Generator().manual_seed(1))
    >>> posterior = StochasticPosterior(net)                     # MC dropout
    >>> from deep.bayes import ood_attack
    >>> x_ood = ood_attack(posterior, X[:4], eps=0.1, samples=4, steps=3, generator=torch.Generator().manual_seed(0))
    >>> x_ood.shape
    torch.Size([4, 4])
    """
    model = PosteriorPredictive(posterior, samples, resample, seed, device=x.device)

    def objective(xa):
        u = uncertainty(model.log_probs(xa), measure)
        return -u, u.detach()

    return _ascent(objective, x, eps, steps, step_size, norm, random_start, generator, _KeepLowest())


def detection_auroc(posterior, x_clean, x_shifted, measure: str = "mi", samples: int = 32, seed: int = 0) -> float:
    """AUROC of ``U`` for shifted/adversarial inputs (positives) vs clean inputs (negatives), fixed draws.

    Parameters
    ----------
    posterior : posterior object
        One of the posterior classes.
    x_clean : torch.Tensor
        Clean inputs (negatives).
    x_shifted : torch.Tensor
        Shifted or attacked inputs (positives).
    measure : {"mi", "entropy", "expected_entropy"}, default "mi"
        The uncertainty U.
    samples : int, default 32
        Posterior draws.
    seed : int, default 0
        Seed of the draws.

    Returns
    -------
    float
        In [0, 1] (0.5: U does not separate them).

    Examples
    --------
    >>> import torch
    >>> X = torch.rand(20, 4, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0.5).long()
    >>> from deep.bayes import DropoutMLP, StochasticPosterior
    >>> net = DropoutMLP(4, widths=(16,), out_features=2, p=0.2, generator=torch.Generator().manual_seed(1))
    >>> posterior = StochasticPosterior(net)                     # MC dropout
    >>> from deep.bayes import detection_auroc
    >>> 0.0 <= detection_auroc(posterior, X[:10], 3 * X[10:], samples=4) <= 1.0
    True
    """
    model = PosteriorPredictive(posterior, samples, False, seed, device=x_clean.device)
    with torch.no_grad():
        u_clean = uncertainty(model.log_probs(x_clean), measure)
        u_shift = uncertainty(model.log_probs(x_shifted), measure)
    return auroc(u_shift, u_clean)
