r"""Empirical-NTK trajectories under clean, FGSM and PGD adversarial training (Tsilivis & Kempe 2022, claim (c);
spec deep_robustness_ntk.md §1.1 "adversarial-training / eNTK-evolution experiments" and §1.2 metrics).

Training follows the authors' ``robust_train_CNN.py``: plain SGD (no momentum) on the cross-entropy, the same learning
rate for every method; adversarial training on linf ``eps`` with PGD-``K`` (step ``eps/4``, no random start) or FGSM
(one step of size ``eps``, no random start), evaluated at the perturbed batch only. After every epoch the empirical NTK
of a fixed clean probe set is recorded with all output axes kept, ``(n C) x (n C)``, indexed ``(i, c)``.

Summaries (:func:`kernel_summary`): distance ``D(K_t, K_0)`` and ``D(K_t, K_T)``, the epochs x epochs heat map
``D(K_i, K_j)``, polar dynamics (``r_t`` normalised so ``r_T = 1``, ``phi_t = arccos S(K_t, K_0)``) in the full
space, the top-``k`` space ``V_k diag(lambda_1..k) V_k^T`` and the bottom space (the other ``nC - k`` pairs), and
the eigen-mass ``m_k = sum_{i<=k} lambda_i^2 / sum_i lambda_i^2``. :func:`settling_epoch` is the epoch after which
the kernel stays within a fraction of its largest distance to the final kernel (the "lazy regime" onset).
"""
from __future__ import annotations

import numpy as np
import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import choice, integer, nonnegative, positive, real

from .dynamics import distance_matrix, kernel_distance, polar_dynamics
from .empirical import empirical_ntk

METHODS = ("clean", "fgsm", "pgd")


def _flat_kernel(model, X_probe) -> torch.Tensor:
    K = empirical_ntk(model, X_probe, mode="full").detach()
    n, C = K.shape[0], K.shape[2]
    return K.permute(0, 2, 1, 3).reshape(n * C, n * C).to("cpu", torch.float64)   # (i, c) x (j, d)


def _perturb(model, xb, yb, method, eps, attack_steps, step_size):
    from deep.attacks import fgsm, pgd

    if method == "clean" or eps == 0:
        return xb
    if method == "fgsm":
        return fgsm(model, xb, yb, eps)
    return pgd(model, xb, yb, eps, steps=attack_steps, step_size=step_size, random_start=False)


def track_adversarial_ntk(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, X_probe: torch.Tensor,
                          epochs: int, lr: float, method: str = "clean", eps: float = 0.1, attack_steps: int = 20,
                          step_size: float | None = None, batch_size: int = 128,
                          generator: torch.Generator | None = None) -> dict:
    r"""Train ``model`` (logits ``(n, C)``) by SGD with ``method`` and record the eNTK of ``X_probe`` each epoch.

    Parameters
    ----------
    model : torch.nn.Module
        On the device of ``X``.
    X, y : tensors (n, ...), (n,)
        Training inputs in [0, 1] and class indices.
    X_probe : tensor (m, ...)
        Fixed clean probe inputs; the kernel is ``(m C) x (m C)``.
    epochs, lr, batch_size : SGD schedule (plain SGD, cross-entropy, reshuffled every epoch).
    method : {"clean", "fgsm", "pgd"}
    eps, attack_steps, step_size : linf threat; PGD step default ``eps / 4`` (the paper's 2/255 at 8/255).
    generator : torch.Generator, optional
        A CPU generator for the batch order (drawn on the CPU, then moved: same seed, same run on every device).

    Returns
    -------
    dict
        ``epochs`` (0..epochs), ``kernels`` (list of float64 CPU tensors), ``train_acc`` (clean),
        ``probe_robust_acc`` (probe accuracy under the training attack, PGD for clean training).
    """
    from deep.attacks import accuracy

    choice("method", method, METHODS)
    integer("epochs", epochs, low=1)
    positive("lr", lr)
    nonnegative("eps", eps)
    integer("attack_steps", attack_steps, low=1)
    integer("batch_size", batch_size, low=1)
    alpha = eps / 4 if step_size is None else positive("step_size", step_size)
    if X.shape[0] != y.shape[0]:
        raise InvalidParameter("y", f"has {y.shape[0]} labels for {X.shape[0]} inputs")
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    yp = y[:X_probe.shape[0]]

    def probe_robust():
        xa = _perturb(model, X_probe, yp, "pgd" if method == "clean" else method, eps, attack_steps, alpha)
        return accuracy(model, xa, yp)

    out = {"epochs": [0], "kernels": [_flat_kernel(model, X_probe)], "train_acc": [accuracy(model, X, y)],
           "probe_robust_acc": [probe_robust()]}
    n = X.shape[0]
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=generator).to(X.device)
        for s in range(0, n, batch_size):
            idx = order[s:s + batch_size]
            xb, yb = X[idx], y[idx]
            xa = _perturb(model, xb, yb, method, eps, attack_steps, alpha)
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xa), yb).backward()
            opt.step()
        out["epochs"].append(epoch)
        out["kernels"].append(_flat_kernel(model, X_probe))
        out["train_acc"].append(accuracy(model, X, y))
        out["probe_robust_acc"].append(probe_robust())
    return out


def settling_epoch(epochs, dist_final, fraction: float = 0.1) -> int:
    r"""First recorded epoch ``t`` such that ``D(K_s, K_T) <= fraction * max_u D(K_u, K_T)`` for every ``s >= t``.

    Normalising by the largest distance to the final kernel (not by ``D(K_0, K_T)``) keeps the definition meaningful
    when the kernel first moves away and then partly returns. The last epoch always qualifies (``D(K_T, K_T) = 0``).

    Examples
    --------
    >>> settling_epoch([0, 1, 2, 3, 4], [0.5, 0.3, 0.04, 0.06, 0.0], fraction=0.1)
    3
    """
    real("fraction", fraction, low=0.0, high=1.0)
    d = np.asarray(dist_final, dtype=float)
    if d.shape != (len(epochs),) or d.size == 0:
        raise InvalidParameter("dist_final", "needs one distance per recorded epoch")
    above = np.nonzero(d > fraction * d.max())[0]
    last = int(above[-1]) + 1 if above.size else 0
    return int(epochs[min(last, len(epochs) - 1)])


def kernel_summary(kernels, top_k: int = 20, mass_ks=(10, 20)) -> dict:
    """Every §1.2 metric of a kernel trajectory (see module docstring) from one ``eigh`` per kernel."""
    integer("top_k", top_k, low=1)
    mats = [np.asarray(K.cpu().numpy() if hasattr(K, "cpu") else K, dtype=np.float64) for K in kernels]
    if top_k >= mats[0].shape[0]:
        raise InvalidParameter("top_k", f"must be < the kernel size {mats[0].shape[0]}")
    top, bottom, mass = [], [], {int(k): [] for k in mass_ks}
    for a in mats:
        lam, V = np.linalg.eigh((a + a.T) / 2)
        lam, V = lam[::-1], V[:, ::-1]
        top.append((V[:, :top_k] * lam[:top_k]) @ V[:, :top_k].T)
        bottom.append((V[:, top_k:] * lam[top_k:]) @ V[:, top_k:].T)
        lam2 = lam ** 2
        for k in mass:
            mass[k].append(float(lam2[:k].sum() / lam2.sum()))
    out = {"dist_init": [kernel_distance(a, mats[0]) for a in mats],
           "dist_final": [kernel_distance(a, mats[-1]) for a in mats],
           "heatmap": distance_matrix(mats).tolist(),
           "mass": {str(k): v for k, v in mass.items()}}
    for name, seq in (("full", mats), ("top", top), ("bottom", bottom)):
        pol = polar_dynamics(seq)
        out[f"radius_{name}"], out[f"angle_{name}"] = pol["radius"].tolist(), pol["angle"].tolist()
    return out
