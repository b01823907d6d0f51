r"""A robustness audit: a suite of white-box, black-box and transfer attacks scored per sample, and the
gradient-masking alarm of spec deep_robustness_ntk.md §2.5 (in the spirit of AutoAttack's own checks).

Why per sample: a robustness number is credible only if no attack in the suite breaks a point the headline attack
left standing. The audit keeps, for every attack, a boolean ``robust[i]`` (sample ``i`` still classified correctly
after the attack) and the attack's cross-entropy at its adversarial point, so that

* the worst case over the suite (a point counts as robust only if every attack fails) is a lower bound on what the
  headline attack reports, and
* the **gradient-masking alarm** fires when a gradient-free attack (Square-style random search, or a transfer from
  another model) succeeds on points where every white-box gradient attack failed: a white-box attack with useful
  gradients is at least as strong as a black-box one on its own model, so such points mean the gradients mislead.

Strong PGD (:func:`strong_pgd`) is PGD from the clean point plus random restarts, the best point kept per sample
(success first, then the larger loss): it contains PGD's deterministic start, so with at least as many steps it is
never weaker on a sample than a PGD-K run of the same step size from the same start.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative

from ..margins.margins import output_margins


def _loss(outputs, y):
    from deep.attacks import per_sample_loss

    return per_sample_loss(outputs, y, "auto")


def best_per_sample(model, x, y, candidates) -> torch.Tensor:
    """Among adversarial inputs ``candidates`` (each like ``x``) keep per sample a misclassified one first, then the
    one of largest attack loss (cross-entropy for logits, logistic for binary outputs)."""
    if not candidates:
        raise InvalidParameter("candidates", "need at least one candidate")
    shape = (-1,) + (1,) * (x.ndim - 1)
    best, best_key = None, None
    with torch.no_grad():
        for cand in candidates:
            out = model(cand)
            # success dominates any finite loss: key = (success, loss) in lexicographic order
            key = torch.stack([(output_margins(out, y) <= 0).to(out.dtype), _loss(out, y)], 1)
            if best is None:
                best, best_key = cand.clone(), key
                continue
            better = (key[:, 0] > best_key[:, 0]) | ((key[:, 0] == best_key[:, 0]) & (key[:, 1] > best_key[:, 1]))
            best = torch.where(better.reshape(shape), cand, best)
            best_key = torch.where(better[:, None], key, best_key)
    return best


def strong_pgd(model, x, y, eps: float, steps: int = 100, restarts: int = 5, step_size: float | None = None,
               generator=None) -> torch.Tensor:
    """linf PGD-``steps`` from the clean point plus ``restarts - 1`` random starts, best per sample
    (:func:`best_per_sample`). ``generator``: on ``x``'s device (the convention of :mod:`deep.attacks`)."""
    from deep.attacks import pgd

    integer("restarts", restarts, low=1)
    runs = [pgd(model, x, y, eps, steps=steps, step_size=step_size, random_start=False)]
    if restarts > 1:
        runs.append(pgd(model, x, y, eps, steps=steps, step_size=step_size, random_start=True,
                        restarts=restarts - 1, generator=generator))
    return best_per_sample(model, x, y, runs)


@dataclass
class AuditResult:
    """Per-attack per-sample outcomes of an audit.

    Attributes
    ----------
    robust : dict name -> bool tensor (n,)
        Sample still correctly classified after the attack (``"clean"``: no attack).
    loss : dict name -> float
        Mean attack loss (cross-entropy / logistic) at the attack's adversarial points.
    white, black : tuples of attack names (gradient-based / gradient-free or transfer).
    """

    robust: dict = field(default_factory=dict)
    loss: dict = field(default_factory=dict)
    white: tuple = ()
    black: tuple = ()

    def accuracy(self, name: str) -> float:
        return float(self.robust[name].double().mean())

    def worst_case(self) -> float:
        """Accuracy when a point counts as robust only if every attack of the suite fails on it."""
        alive = torch.ones_like(self.robust["clean"])
        for r in self.robust.values():
            alive = alive & r
        return float(alive.double().mean())

    def masking(self, white=None) -> dict:
        """Gradient-masking evidence: per black-box attack, the fraction of samples it breaks that every white-box
        attack of ``white`` (default: all of :attr:`white`) left correctly classified (``"any"``: broken by some
        black-box attack)."""
        white_alive = torch.ones_like(self.robust["clean"])
        for name in (self.white if white is None else white):
            white_alive = white_alive & self.robust[name]
        out = {b: float((white_alive & ~self.robust[b]).double().mean()) for b in self.black}
        broken = torch.zeros_like(white_alive)
        for b in self.black:
            broken = broken | ~self.robust[b]
        out["any"] = float((white_alive & broken).double().mean())
        return out


def masking_alarm(result: AuditResult, tolerance: float = 0.01, white=None) -> bool:
    """Spec §2.5: True when black-box attacks break more than ``tolerance`` (a fraction of the samples) of the
    points the white-box attacks ``white`` (default: all of the audit's) failed on; pass the headline attack alone
    (e.g. ``("pgd10",)``) to test whether *its* number is credible. ``tolerance`` absorbs the odd point a random
    search finds by luck; 1 % of a few hundred test points is 2-4 points."""
    nonnegative("tolerance", tolerance)
    return result.masking(white)["any"] > tolerance


def audit(model, x, y, attacks: dict, white=(), black=()) -> AuditResult:
    """Run every attack of ``attacks`` (name -> ``callable(model, x, y) -> x_adv``) and score it per sample.

    ``white`` / ``black`` name the gradient-based and the gradient-free or transfer attacks (for
    :meth:`AuditResult.masking`); every name must be a key of ``attacks``.
    """
    for name in (*white, *black):
        if name not in attacks:
            raise InvalidParameter("attacks", f"has no attack named {name!r}")
    res = AuditResult(white=tuple(white), black=tuple(black))
    with torch.no_grad():
        out = model(x)
    res.robust["clean"] = output_margins(out, y) > 0
    res.loss["clean"] = float(_loss(out, y).mean())
    for name, attack in attacks.items():
        x_adv = attack(model, x, y)
        with torch.no_grad():
            out = model(x_adv)
        # an attack cannot make a point correct: its outcome is at most the clean outcome
        res.robust[name] = (output_margins(out, y) > 0) & res.robust["clean"]
        res.loss[name] = float(_loss(out, y).mean())
    return res
