r"""Neural collapse layer by layer, on clean and perturbed data (Su, Zhang, Tsilivis, Kempe 2024, spec §3.2
"per-layer propagation": not implemented in the public code).

For every hooked hidden layer ``l`` (:func:`deep.collapse.layer_features`) :func:`layer_collapse` measures

* NC1-NC4 (:func:`deep.collapse.collapse_metrics`) of the clean features grouped by the true labels and of the
  perturbed features grouped by ``group`` (the true labels for an untargeted attack). NC3 needs a classifier:
  at the last hidden layer it is the network's head ``W``; at an earlier layer it is the **softmax probe**
  :func:`softmax_probe` fitted on that layer's clean features with the network's weight decay and label
  smoothing (the classifier a last layer placed there would learn; at the last layer of a label-smoothed ST net
  it gives an NC3 close to the head's), and the same probe is used for the perturbed features. NC4 compares the
  nearest-class-centre label with the network's own prediction on the same inputs (class means from the same
  data, as in the public code).
* ``angle``: the mean over classes of the angle (degrees) between the centred clean and perturbed class means
  (:func:`deep.collapse.leap`, ``angle_centred``): 0 when the perturbed simplex is the clean one.
* ``ncc_clean`` / ``ncc_perturbed``: accuracy against the **true** labels of the nearest-class-centre classifier
  built from the **clean** class means of that layer, on clean / perturbed features (the robust NCC classifier).

An earlier layer "keeps a reliable simplex on perturbed data" when its ``ncc_perturbed`` stays near
``ncc_clean`` and its angle stays small although the network itself is fooled.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, positive, real

from .features import layer_features
from .metrics import class_means, collapse_metrics, leap, ncc_accuracy


def softmax_probe(features: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None,
                  weight_decay: float = 1e-3, label_smoothing: float = 0.0, max_iter: int = 100) -> torch.Tensor:
    r"""Bias-free softmax (multinomial logistic) probe ``W`` (``C x p``, float64) on fixed features.

    Parameters
    ----------
    features : tensor (N, p)
        Features of one layer.
    labels : tensor (N,)
        Class indices.
    num_classes : int, optional
        ``C`` (default: ``max(labels) + 1``).
    weight_decay : float
        ``> 0``: the L2 penalty (PyTorch's SGD ``weight_decay`` convention, see Notes).
    label_smoothing : float in [0, 1)
        Smoothing of the cross-entropy targets.
    max_iter : int
        L-BFGS iterations.

    Returns
    -------
    tensor (C, p)
        The minimiser ``W``.

    Notes
    -----
    ``W = argmin_W mean_i CE_s(W h_i, y_i) + (weight_decay / 2) ||W||_F^2`` with ``CE_s`` the cross-entropy with
    label smoothing ``s`` -- the objective of a bias-free last layer trained with SGD weight decay
    ``weight_decay`` (PyTorch's ``weight_decay`` adds ``weight_decay * W`` to the gradient). Strictly convex for
    ``weight_decay > 0``; solved by L-BFGS (strong-Wolfe line search) from ``W = 0``. By symmetry the optimum on
    perfectly collapsed features whose class means form a centred simplex ETF is a positive multiple of the
    centred means (NC3 = 0).

    Examples
    --------
    >>> import torch
    >>> from deep.collapse import collapse_metrics, simplex_etf
    >>> M = simplex_etf(3, 5, radius=2.0)
    >>> y = torch.arange(3).repeat(4)
    >>> W = softmax_probe(M[y], y, weight_decay=1e-2)
    >>> collapse_metrics(M[y], y, weights=W).nc3 < 1e-10
    True
    """
    positive("weight_decay", weight_decay)
    real("label_smoothing", label_smoothing, low=0.0, high=1.0, high_open=True)
    integer("max_iter", max_iter, low=1)
    means, _, _ = class_means(features, labels, num_classes)
    C = means.shape[0]
    H = features.detach().to(torch.float64)
    t = labels.long().to(H.device)
    W = torch.zeros(C, H.shape[1], dtype=H.dtype, device=H.device, requires_grad=True)
    opt = torch.optim.LBFGS([W], max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-10,
                            tolerance_change=1e-15, history_size=20)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(H @ W.T, t, label_smoothing=label_smoothing) + 0.5 * weight_decay * (W * W).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return W.detach()


def _mean_angle(values) -> float:
    vals = [a for a in values if not math.isnan(a)]
    return float(sum(vals) / len(vals)) if vals else math.nan


def layer_collapse(model, x: torch.Tensor, y: torch.Tensor, x_perturbed: torch.Tensor,
                   group: torch.Tensor | None = None, num_classes: int | None = None, layers=None,
                   head: torch.Tensor | None = None, probe: bool = True, probe_weight_decay: float = 1e-3,
                   probe_label_smoothing: float = 0.0) -> dict:
    r"""Per-layer collapse of clean and perturbed data (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        Its hidden layers are hooked by :func:`deep.collapse.layer_features`.
    x, y : tensors
        Clean inputs and true labels.
    x_perturbed : tensor
        Perturbed inputs (same shape as ``x``).
    group : tensor, optional
        Grouping labels of the perturbed points (default ``y``; the target for a targeted attack).
    num_classes : int, optional
        ``C`` (default: ``max(y) + 1``).
    layers : list of modules, optional
        Modules whose outputs are the hidden representations (default: as :func:`deep.collapse.layer_features`).
    head : tensor (C, p_L), optional
        Last-layer weights for the last hidden layer's NC3 (default: ``model.layers[-1].weight`` or
        ``model.head.weight`` when present, else the probe).
    probe : bool
        Fit the probes (else NC3 is NaN below the last hidden layer and ``nc3_probe`` NaN everywhere).
    probe_weight_decay, probe_label_smoothing : float
        Objective of :func:`softmax_probe` (use the network's training values).

    Returns
    -------
    dict
        Lists over layers (first hidden layer first): ``clean`` and ``perturbed`` (``CollapseMetrics.to_dict()``),
        ``angle`` (mean centred class-mean angle, degrees), ``angles`` (per class), ``ncc_clean``,
        ``ncc_perturbed``, ``nc3_classifier`` (``"probe"``, ``"head"`` or ``"none"``), ``nc3_probe`` (NC3 of the
        probe on the clean features at every layer, the last included: compare with the head's there); and the
        network's ``accuracy_clean``, ``accuracy_perturbed``.

    Examples
    --------
    >>> import torch
    >>> from deep.models import HomogeneousMLP
    >>> net = HomogeneousMLP(3, [3], 3, dtype=torch.float64)
    >>> with torch.no_grad():
    ...     _ = net.layers[0].weight.copy_(torch.eye(3))
    ...     _ = net.layers[1].weight.copy_(torch.eye(3) - 1 / 3)
    >>> y = torch.arange(3).repeat(2)
    >>> x = torch.eye(3, dtype=torch.float64)[y]
    >>> rep = layer_collapse(net, x, y, torch.eye(3, dtype=torch.float64)[(y + 1) % 3], probe=False)
    >>> rep["ncc_clean"], rep["ncc_perturbed"], round(rep["angle"][0])
    ([1.0], [0.0], 120)
    """
    if x_perturbed.shape != x.shape:
        raise InvalidParameter("x_perturbed", f"must have the shape of x {tuple(x.shape)}, "
                                              f"got {tuple(x_perturbed.shape)}")
    group = y if group is None else group
    C = int(y.max()) + 1 if num_classes is None else int(num_classes)
    was_training = model.training
    model.eval()
    try:
        clean_feats, clean_out = layer_features(model, x, layers)
        pert_feats, pert_out = layer_features(model, x_perturbed, layers)
    finally:
        model.train(was_training)
    if head is None:
        if hasattr(model, "layers"):
            head = model.layers[-1].weight
        elif hasattr(model, "head"):
            head = model.head.weight
    pred_clean, pred_pert = clean_out.argmax(1), pert_out.argmax(1)
    out = {k: [] for k in ("clean", "perturbed", "angle", "angles", "ncc_clean", "ncc_perturbed",
                           "nc3_classifier", "nc3_probe")}
    last = len(clean_feats) - 1
    for index, (hc, hp) in enumerate(zip(clean_feats, pert_feats)):
        use_head = index == last and head is not None and head.shape[-1] == hc.shape[1]
        W_probe = softmax_probe(hc, y, C, probe_weight_decay, probe_label_smoothing) if probe else None
        out["nc3_probe"].append(collapse_metrics(hc, y, weights=W_probe, num_classes=C).nc3 if probe else math.nan)
        W = head.detach() if use_head else W_probe
        out["clean"].append(collapse_metrics(hc, y, weights=W, predictions=pred_clean, num_classes=C).to_dict())
        out["perturbed"].append(collapse_metrics(hp, group, weights=W, predictions=pred_pert,
                                                 num_classes=C).to_dict())
        lp = leap(hc, y, hp, group, C)
        out["angles"].append(lp["angle_centred"])
        out["angle"].append(_mean_angle(lp["angle_centred"]))
        means = class_means(hc, y, C)[0]
        out["ncc_clean"].append(ncc_accuracy(hc, y, means))
        out["ncc_perturbed"].append(ncc_accuracy(hp, y, means))
        out["nc3_classifier"].append("head" if use_head else ("probe" if probe else "none"))
    yy = y.to(pred_clean.device).long()
    out["accuracy_clean"] = float((pred_clean == yy).double().mean())
    out["accuracy_perturbed"] = float((pred_pert == yy).double().mean())
    return out
