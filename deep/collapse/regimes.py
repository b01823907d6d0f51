r"""Training regimes (standard, PGD-AT, TRADES) with neural-collapse metrics logged over epochs, and the
perturbations used to probe collapse (spec §3.1 / §3.4).

Perturbations of inputs ``x`` in ``[0, 1]`` at radius ``eps`` (all clipped to the box):

* ``clean``: ``x``;
* ``pgd``: untargeted linf PGD on cross-entropy (``deep.attacks.pgd``, random start), grouped by the true label;
* ``targeted``: linf PGD towards ``t = (y + 1) mod C`` (loss negated), grouped by the **target** label; it may use
  its own radius and step count (``targeted_eps``, ``targeted_steps``) so that it actually reaches the target —
  a leap can only be measured for points that get there;
* ``gaussian``: ``x + eps z``, ``z ~ N(0, I)`` per pixel (the public ``eval.py`` baseline);
* ``sign``: ``x + eps sign(z)`` (random-sign baseline: same linf norm as an attack).

Random draws come from ``generator`` on its own device and are moved to ``x.device`` (a CPU generator may serve
cuda data).

Training (:func:`train_with_collapse`): SGD with momentum and weight decay, a piecewise-constant learning rate
(``lr`` until ``milestones[0]`` of the epochs, ``lr/10`` until ``milestones[1]``, ``lr/100`` after; the paper uses
0.25 / 0.375), minibatches in a random order from ``generator``. The loss is cross-entropy with label smoothing
``label_smoothing`` (0 = the paper's plain CE) on clean points (ST), on PGD points (PGD-AT, Madry) or
``CE(clean) + beta KL(p(x) || p(x'))`` (TRADES, the KL maximised by ``deep.attacks.trades_attack``). Why label
smoothing: with plain CE a small MLP on digits separates the data and then only grows its margins — its NC1
(Papyan) plateaus at 0.3-0.9 after 300 epochs; a smoothed target has a finite optimum, which weight decay turns
into the collapsed configuration within ~100 epochs (Zhou et al. 2022, "Are all losses created equal").
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, nonnegative, positive, real

from ..attacks import kl_per_sample, pgd, trades_attack
from ..device import draw_device
from .features import layer_features
from .metrics import class_means, collapse_metrics, leap, ncc_accuracy

REGIMES = ("standard", "pgd_at", "trades")
PERTURBATIONS = ("clean", "pgd", "targeted", "gaussian", "sign")


def balanced_subset(X, y, per_class: int, num_classes: int | None = None):
    """The first ``per_class`` points of every class (in data order), classes grouped by label.

    Parameters
    ----------
    X : torch.Tensor
        Inputs.
    y : torch.Tensor
        Class indices.
    per_class : int
        Points kept per class.
    num_classes : int, optional
        C (default ``max(y) + 1``).

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The subset of ``X`` and ``y``.

    Raises
    ------
    InvalidParameter
        If a class has fewer than ``per_class`` points.

    Examples
    --------
    >>> import torch
    >>> from deep.collapse import balanced_subset
    >>> X = torch.arange(6.0).reshape(6, 1); y = torch.tensor([0, 1, 0, 1, 1, 0])
    >>> balanced_subset(X, y, 2)[1]
    tensor([0, 0, 1, 1])
    """
    integer("per_class", per_class, low=1)
    C = int(y.max()) + 1 if num_classes is None else integer("num_classes", num_classes, low=1)
    idx = []
    for c in range(C):
        members = torch.nonzero(y == c).reshape(-1)
        if members.numel() < per_class:
            raise InvalidParameter("per_class", f"class {c} has only {members.numel()} points, asked {per_class}")
        idx.append(members[:per_class])
    idx = torch.cat(idx)
    return X[idx], y[idx]


def perturb(model, x, y, kind: str, eps: float, num_classes: int, steps: int = 10, step_size: float | None = None,
            generator: torch.Generator | None = None):
    """Perturbed inputs and their grouping labels (``kind`` in :data:`PERTURBATIONS`; see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        A classifier with logits (n, C).
    x : torch.Tensor
        Inputs in [0, 1].
    y : torch.Tensor
        Class indices.
    kind : {"clean", "pgd", "targeted", "gaussian", "sign"}
        The perturbation (targeted: towards ``(y + 1) mod C``; gaussian and sign: random baselines of the same size).
    eps : float
        linf radius.
    num_classes : int
        C.
    steps : int, default 10
        PGD steps.
    step_size : float, optional
        PGD step size.
    generator : torch.Generator, optional
        Source of randomness.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The perturbed inputs and the labels they are grouped by (the target for ``targeted``).

    Examples
    --------
    >>> import torch
    >>> from deep.models import HomogeneousMLP
    >>> net = HomogeneousMLP(4, [8, 6], out_features=3, generator=torch.Generator().manual_seed(0))
    >>> x = torch.rand(6, 4, generator=torch.Generator().manual_seed(0)); y = torch.tensor([0, 1, 2, 0, 1, 2])
    >>> from deep.collapse import perturb
    >>> x_adv, groups = perturb(net, x, y, "targeted", eps=0.1, num_classes=3, steps=2)
    >>> groups
    tensor([1, 2, 0, 1, 2, 0])
    """
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
    z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=draw_device(generator, x.device)).to(x.device)
    step = eps * z if kind == "gaussian" else eps * torch.sign(z)
    return (x + step).clamp(0.0, 1.0), y


def _head_weight(model):
    if hasattr(model, "layers"):
        return model.layers[-1].weight
    if hasattr(model, "head"):
        return model.head.weight
    raise InvalidParameter("model", "needs a last linear layer at model.layers[-1] or model.head")


def _mean_angle(leap_out) -> float:
    vals = [a for a in leap_out["angle_centred"] if not math.isnan(a)]
    return float(sum(vals) / len(vals)) if vals else math.nan


def collapse_report(model, x, y, eps: float, num_classes: int, perturbations=PERTURBATIONS, steps: int = 10,
                    step_size: float | None = None, generator: torch.Generator | None = None, layers=None,
                    targeted_eps: float | None = None, targeted_steps: int | None = None) -> dict:
    r"""NC metrics of ``model`` on ``(x, y)`` for each perturbation.

    For each kind: penultimate :class:`~deep.collapse.CollapseMetrics` (grouped as in :func:`perturb`, ``W`` = last
    layer), ``nc1_layers`` (NC1 per hidden layer), ``leap`` (:func:`deep.collapse.leap` against the clean simplex),
    ``angle`` (mean over classes of the angle in degrees between the centred clean and perturbed class means),
    ``ncc_accuracy`` (perturbed features classified by the nearest **clean** class mean, scored against the true
    labels: the robust NCC classifier), ``ncc_accuracy_layers`` (same per layer), ``accuracy`` (the network's,
    against the true labels) and ``group_success`` (the network predicts the grouping label: for ``targeted``
    the fraction that reached its target). ``targeted_eps`` / ``targeted_steps`` default to ``eps`` / ``steps``.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier with logits (n, C).
    x : torch.Tensor
        Inputs in [0, 1].
    y : torch.Tensor
        Class indices.
    eps : float
        linf radius of the perturbations.
    num_classes : int
        C.
    perturbations : sequence of str, default PERTURBATIONS
        Kinds, as for :func:`perturb`.
    steps : int, default 10
        PGD steps.
    step_size : float, optional
        PGD step size.
    generator : torch.Generator, optional
        Source of randomness.
    layers : list of torch.nn.Module, optional
        Modules whose outputs are the hidden representations (default :func:`deep.collapse.features.default_layers`).
    targeted_eps : float, optional
        Radius of the targeted attack.
    targeted_steps : int, optional
        Steps of the targeted attack.

    Returns
    -------
    dict
        Kind -> the metrics above (accuracies are fractions).

    Examples
    --------
    >>> import torch
    >>> from deep.models import HomogeneousMLP
    >>> net = HomogeneousMLP(4, [8, 6], out_features=3, generator=torch.Generator().manual_seed(0))
    >>> x = torch.rand(6, 4, generator=torch.Generator().manual_seed(0)); y = torch.tensor([0, 1, 2, 0, 1, 2])
    >>> from deep.collapse import collapse_report
    >>> report = collapse_report(net, x, y, eps=0.1, num_classes=3, perturbations=("clean", "pgd"), steps=2)
    >>> sorted(report), 0.0 <= report["pgd"]["accuracy"] <= report["clean"]["accuracy"]
    (['clean', 'pgd'], True)
    """
    was_training = model.training
    model.eval()
    W = _head_weight(model).detach()
    clean_feats, clean_out = layer_features(model, x, layers)
    clean_means = [class_means(f, y, num_classes)[0] for f in clean_feats]
    report = {}
    for kind in perturbations:
        k_eps, k_steps = (eps, steps) if kind != "targeted" else (
            eps if targeted_eps is None else targeted_eps, steps if targeted_steps is None else targeted_steps)
        xp, group = perturb(model, x, y, kind, k_eps, num_classes, k_steps, step_size if kind != "targeted" else None,
                            generator)
        feats, out = (clean_feats, clean_out) if xp is x else layer_features(model, xp, layers)
        pred = out.argmax(1)
        m = collapse_metrics(feats[-1], group, weights=W, predictions=pred, num_classes=num_classes)
        lp = leap(clean_feats[-1], y, feats[-1], group, num_classes)
        report[kind] = {**m.to_dict(),
                        "nc1_layers": [collapse_metrics(f, group, num_classes=num_classes).nc1 for f in feats],
                        "leap": lp, "angle": _mean_angle(lp),
                        "ncc_accuracy": ncc_accuracy(feats[-1], y, clean_means[-1]),
                        "ncc_accuracy_layers": [ncc_accuracy(f, y, mu) for f, mu in zip(feats, clean_means)],
                        "accuracy": float((pred == y).double().mean()),
                        "group_success": float((pred == group).double().mean())}
    model.train(was_training)
    return report


def _loss(model, regime, xb, yb, eps, attack_steps, step_size, beta, label_smoothing, generator):
    if regime == "trades":
        xa = trades_attack(model, xb, eps, "linf", attack_steps, step_size, generator) if eps > 0 else xb
        clean = model(xb)
        return F.cross_entropy(clean, yb, label_smoothing=label_smoothing) + beta * kl_per_sample(clean,
                                                                                                model(xa)).mean()
    if regime == "pgd_at" and eps > 0:
        xb = pgd(model, xb, yb, eps, steps=attack_steps, step_size=step_size, generator=generator)
    return F.cross_entropy(model(xb), yb, label_smoothing=label_smoothing)


def train_with_collapse(model, X, y, regime: str = "standard", epochs: int = 100, eps: float = 0.1,
                        lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 5e-4, batch_size: int = 128,
                        milestones=(0.25, 0.375), attack_steps: int = 10, step_size: float | None = None,
                        beta: float = 6.0, label_smoothing: float = 0.0, log_every: int = 10, eval_x=None,
                        eval_y=None, eval_eps: float | None = None, eval_steps: int | None = None,
                        targeted_eps: float | None = None, targeted_steps: int | None = None,
                        perturbations=PERTURBATIONS, generator: torch.Generator | None = None,
                        progress=None) -> dict:
    r"""Train ``model`` in place under a regime and log :func:`collapse_report` every ``log_every`` epochs.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier with logits (trained in place).
    X, y : torch.Tensor
        Training inputs in [0, 1] and class indices.
    regime : {"standard", "pgd_at", "trades"}
        ST = ERM; PGD-AT (Madry; loss on adversarial points only); TRADES (``CE(clean) + beta KL``).
    eps : float
        Training radius (linf) for PGD-AT / TRADES; ``eval_eps`` (default ``eps``) for the logged perturbations,
        ``eval_steps`` (default ``attack_steps``) their PGD steps; ``targeted_eps`` / ``targeted_steps`` for the
        targeted attack (default: the evaluation ones).
    epochs, lr, momentum, weight_decay, batch_size : int, float
        SGD with momentum and weight decay, minibatches of ``batch_size``.
    attack_steps, step_size, beta : int, float
        PGD settings of the training attack, and the TRADES weight.
    log_every : int
        Epochs between two collapse reports.
    eval_eps, eval_steps, targeted_eps, targeted_steps : float, int, optional
        Settings of the logged perturbations (see ``eps``).
    perturbations : sequence of str
        The kinds logged (:func:`perturb`).
    progress : bool, optional
        Show a progress bar.
    label_smoothing : float in [0, 1)
        Smoothing of the CE targets (see the module docstring for why the figure uses it).
    milestones : (float, float)
        Fractions of ``epochs`` at which the learning rate drops by 10x.
    eval_x, eval_y : tensors, optional
        Data on which collapse is measured (default: the training data, as in the paper).
    generator : torch.Generator, optional
        Minibatch order, random starts, TRADES noise, random baselines (on any device; draws are moved).

    Returns
    -------
    dict
        ``epochs`` (logged epochs), ``reports`` (one :func:`collapse_report` per logged epoch), ``loss`` and
        ``train_accuracy`` per epoch.

    Examples
    --------
    >>> import torch
    >>> from deep.models import HomogeneousMLP
    >>> net = HomogeneousMLP(4, [8, 6], out_features=3, generator=torch.Generator().manual_seed(0))
    >>> x = torch.rand(6, 4, generator=torch.Generator().manual_seed(0)); y = torch.tensor([0, 1, 2, 0, 1, 2])
    >>> from deep.collapse import train_with_collapse
    >>> out = train_with_collapse(net, x, y, epochs=2, log_every=1, batch_size=6, perturbations=("clean",),
    ...                           generator=torch.Generator().manual_seed(0))
    >>> out["epochs"], sorted(out["reports"][0])
    ([1, 2], ['clean'])
    """
    if regime not in REGIMES:
        raise InvalidParameter("regime", f"must be one of {REGIMES}, got {regime!r}")
    integer("epochs", epochs, low=1)
    integer("log_every", log_every, low=1)
    integer("batch_size", batch_size, low=1)
    positive("lr", lr)
    nonnegative("eps", eps)
    real("label_smoothing", label_smoothing, low=0.0, high=1.0, high_open=True)
    if len(milestones) != 2 or not 0 < milestones[0] <= milestones[1] <= 1:
        raise InvalidParameter("milestones", f"must be two fractions 0 < a <= b <= 1, got {milestones!r}")
    C = int(y.max()) + 1
    eval_x = X if eval_x is None else eval_x
    eval_y = y if eval_y is None else eval_y
    eval_eps = eps if eval_eps is None else eval_eps
    eval_steps = attack_steps if eval_steps is None else eval_steps
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    bounds = [max(1, round(m * epochs)) for m in milestones]
    train_eps = 0.0 if regime == "standard" else eps
    logged, reports, losses, accs = [], [], [], []
    n = X.shape[0]
    for epoch in range(1, epochs + 1):
        for group in opt.param_groups:
            group["lr"] = lr * (0.1 ** sum(epoch > b for b in bounds))
        model.train()
        order = torch.randperm(n, generator=generator, device=draw_device(generator, X.device)).to(X.device)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            value = _loss(model, regime, X[idx], y[idx], train_eps, attack_steps, step_size, beta, label_smoothing,
                          generator)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            total += float(value.detach()) * idx.numel()
        if not math.isfinite(total):
            raise FloatingPointError(f"training loss became {total} at epoch {epoch}; lower the learning rate")
        losses.append(total / n)
        model.eval()
        with torch.no_grad():
            accs.append(float((model(X).argmax(1) == y).double().mean()))
        if epoch % log_every == 0 or epoch == epochs:
            logged.append(epoch)
            reports.append(collapse_report(model, eval_x, eval_y, eval_eps, C, perturbations, eval_steps, step_size,
                                           generator, targeted_eps=targeted_eps, targeted_steps=targeted_steps))
            if progress is not None:
                progress(epoch, reports[-1])
    model.eval()
    return {"epochs": logged, "reports": reports, "loss": losses, "train_accuracy": accs}
