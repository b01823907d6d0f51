r"""Training regimes (standard, PGD-AT, TRADES) with neural-collapse metrics logged over epochs, and the
perturbations used to probe collapse (spec §3.1 / §3.4).

Perturbations of inputs ``x`` in ``[0, 1]`` at radius ``eps`` (all clipped to the box):

* ``clean``: ``x``;
* ``pgd``: untargeted linf PGD on cross-entropy (``deep.attacks.pgd``, random start), grouped by the true label;
* ``targeted``: linf PGD towards ``t = (y + 1) mod C`` (loss negated), grouped by the **target** label;
* ``gaussian``: ``x + eps z``, ``z ~ N(0, I)`` per pixel (the public ``eval.py`` baseline);
* ``sign``: ``x + eps sign(z)`` (random-sign baseline: same linf norm as an attack).

Training reuses :func:`deep.attacks.adversarial_training` (ST = ``pgd_at`` at ``eps = 0``), SGD with momentum and
a piecewise-constant learning rate (``lr`` until ``milestones[0]`` of the epochs, ``lr/10`` until ``milestones[1]``,
``lr/100`` after; the paper uses 0.25 / 0.375).
"""
from __future__ import annotations

import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative, positive

from ..attacks import adversarial_training, pgd
from .features import layer_features
from .metrics import class_means, collapse_metrics, leap, ncc_accuracy

REGIMES = ("standard", "pgd_at", "trades")
PERTURBATIONS = ("clean", "pgd", "targeted", "gaussian", "sign")


def perturb(model, x, y, kind: str, eps: float, num_classes: int, steps: int = 10, step_size: float | None = None,
            generator: torch.Generator | None = None):
    """Perturbed inputs and their grouping labels (``kind`` in :data:`PERTURBATIONS`; see module docstring)."""
    if kind not in PERTURBATIONS:
        raise InvalidParameter("kind", f"must be one of {PERTURBATIONS}, got {kind!r}")
    nonnegative("eps", eps)
    if kind == "clean" or eps == 0:
        return x, (y if kind != "targeted" else (y + 1) % num_classes)
    if kind == "pgd":
        return pgd(model, x, y, eps, steps=steps, step_size=step_size, generator=generator), y
    if kind == "targeted":
        t = (y + 1) % num_classes
        return pgd(model, x, y, eps, steps=steps, step_size=step_size, targeted=True, target=t,
                   generator=generator), t
    z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    step = eps * z if kind == "gaussian" else eps * torch.sign(z)
    return (x + step).clamp(0.0, 1.0), y


def _head_weight(model):
    if hasattr(model, "layers"):
        return model.layers[-1].weight
    if hasattr(model, "head"):
        return model.head.weight
    raise InvalidParameter("model", "needs a last linear layer at model.layers[-1] or model.head")


def collapse_report(model, x, y, eps: float, num_classes: int, perturbations=PERTURBATIONS, steps: int = 10,
                    step_size: float | None = None, generator: torch.Generator | None = None, layers=None) -> dict:
    r"""NC metrics of ``model`` on ``(x, y)`` for each perturbation.

    For each kind: penultimate :class:`~deep.collapse.CollapseMetrics` (grouped as in :func:`perturb`, ``W`` = last
    layer), ``nc1_layers`` (NC1 per hidden layer), ``leap`` (:func:`deep.collapse.leap` against the clean simplex),
    ``ncc_accuracy`` (perturbed features classified by the nearest **clean** class mean, scored against the true
    labels: the robust NCC classifier), ``ncc_accuracy_layers`` (same per layer) and ``accuracy`` (the network's).
    """
    was_training = model.training
    model.eval()
    W = _head_weight(model).detach()
    clean_feats, clean_out = layer_features(model, x, layers)
    clean_means = [class_means(f, y, num_classes)[0] for f in clean_feats]
    report = {}
    for kind in perturbations:
        xp, group = perturb(model, x, y, kind, eps, num_classes, steps, step_size, generator)
        feats, out = (clean_feats, clean_out) if xp is x else layer_features(model, xp, layers)
        pred = out.argmax(1)
        m = collapse_metrics(feats[-1], group, weights=W, predictions=pred, num_classes=num_classes)
        report[kind] = {**m.to_dict(),
                        "nc1_layers": [collapse_metrics(f, group, num_classes=num_classes).nc1 for f in feats],
                        "leap": leap(clean_feats[-1], y, feats[-1], group, num_classes),
                        "ncc_accuracy": ncc_accuracy(feats[-1], y, clean_means[-1]),
                        "ncc_accuracy_layers": [ncc_accuracy(f, y, mu) for f, mu in zip(feats, clean_means)],
                        "accuracy": float((pred == y).double().mean())}
    model.train(was_training)
    return report


def train_with_collapse(model, X, y, regime: str = "standard", epochs: int = 100, eps: float = 0.1,
                        lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 5e-4, batch_size: int = 128,
                        milestones=(0.25, 0.375), attack_steps: int = 10, step_size: float | None = None,
                        beta: float = 6.0, log_every: int = 10, eval_x=None, eval_y=None, eval_eps: float | None = None,
                        perturbations=PERTURBATIONS, generator: torch.Generator | None = None,
                        progress=None) -> dict:
    r"""Train ``model`` in place under a regime and log :func:`collapse_report` every ``log_every`` epochs.

    Parameters
    ----------
    regime : {"standard", "pgd_at", "trades"}
        ST = ERM; PGD-AT (Madry; loss on adversarial points only); TRADES (``CE(clean) + beta KL``).
    eps : float
        Training radius (linf) for PGD-AT / TRADES; ``eval_eps`` (default ``eps``) for the logged perturbations.
    milestones : (float, float)
        Fractions of ``epochs`` at which the learning rate drops by 10x.
    eval_x, eval_y : tensors, optional
        Data on which collapse is measured (default: the training data, as in the paper).

    Returns
    -------
    dict
        ``epochs`` (logged epochs), ``reports`` (one :func:`collapse_report` per logged epoch), ``loss`` and
        ``train_accuracy`` per epoch.
    """
    if regime not in REGIMES:
        raise InvalidParameter("regime", f"must be one of {REGIMES}, got {regime!r}")
    integer("epochs", epochs, low=1)
    integer("log_every", log_every, low=1)
    positive("lr", lr)
    if len(milestones) != 2 or not 0 < milestones[0] <= milestones[1] <= 1:
        raise InvalidParameter("milestones", f"must be two fractions 0 < a <= b <= 1, got {milestones!r}")
    C = int(y.max()) + 1
    eval_x = X if eval_x is None else eval_x
    eval_y = y if eval_y is None else eval_y
    eval_eps = eps if eval_eps is None else eval_eps
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    bounds = [max(1, round(m * epochs)) for m in milestones]
    logged, reports = [], []

    def callback(epoch, net):
        for group in opt.param_groups:
            group["lr"] = lr * (0.1 ** sum(epoch >= b for b in bounds))
        if epoch % log_every == 0 or epoch == epochs:
            logged.append(epoch)
            reports.append(collapse_report(net, eval_x, eval_y, eval_eps, C, perturbations, attack_steps, step_size,
                                           generator))
            if progress is not None:
                progress(epoch, reports[-1])
        return None

    train_eps = 0.0 if regime == "standard" else eps
    method = "trades" if regime == "trades" else "pgd_at"
    model.train()
    hist = adversarial_training(model, opt, X, y, train_eps, method=method, epochs=epochs, batch_size=batch_size,
                                loss="ce", attack_steps=attack_steps, step_size=step_size, beta=beta,
                                generator=generator, callback=callback)
    return {"epochs": logged, "reports": reports, "loss": hist.loss, "train_accuracy": hist.train_accuracy}
