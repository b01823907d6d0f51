r"""Kernel (ridge) regression predictor, its NTK eigen-features, and their usefulness/robustness.

Predictor (spec deep_robustness_ntk.md §0.1, §1.2): ``f(x) = K(x, X) (K(X, X) + ridge I)^{-1} Y`` (``ridge = 0``:
ridgeless). With ``K(X,X) = sum_i lambda_i v_i v_i^T`` (``lambda_1 >= lambda_2 >= ...``) the predictor splits into
eigen-features

    ``f_i(x) = (lambda_i + ridge)^{-1} K(x, X) v_i (v_i^T Y)``,   ``f = sum_i f_i``,

index 0 = the largest eigenvalue (as in the authors' notebook). On training points ``f_i(X) = lambda_i/(lambda_i+ridge)
v_i v_i^T Y``. Binary tasks use ``Y in {+-1}^n`` and scalar outputs; multiclass tasks one-hot ``Y`` (n, C) and
``C``-vector outputs (used as logits by the attacks).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import nonnegative

from .analytic import kernel_function


def _as64(x, device=None):
    t = torch.as_tensor(x)
    return t.to(dtype=torch.float64, device=device if device is not None else t.device)


class KernelMachine:
    r"""Kernel regression predictor ``x -> K(x, X) alpha`` with ``alpha = (K(X,X) + ridge I)^{-1} Y``; callable on
    torch tensors and differentiable in ``x`` (the "training-free" attack of Tsilivis & Kempe 2022 differentiates it).

    Parameters
    ----------
    X : array or tensor (n, d)
    Y : array or tensor (n,) or (n, C)
        Targets (+-1 labels or one-hot rows).
    kernel : callable or str
        ``kernel(x1, x2) -> (n1, n2)`` on float64 torch tensors, or a name for :func:`deep.ntk.analytic.kernel_function`
        (``"ntk"``, ``"nngp"``, ``"linear"``) built with ``depth, sigma_w, sigma_b`` from ``kernel_options``.
    ridge : float
        ``lambda >= 0`` added to the diagonal (absolute units).
    relative_ridge : bool
        If True, the ridge is ``ridge * mean(diag K(X,X))`` (scale-free jitter, spec §1.4).
    kernel_options : dict, optional
    flow_time : float, optional
        ``tau = eta t``: use the gradient-flow predictor of spec §0.1 at time ``t`` for the halved mean squared error,
        ``alpha = V diag((1 - exp(-tau lambda_i / n)) / lambda_i) V^T Y`` (the infinite-width limit of a network
        trained by GD with learning rate ``eta`` for ``t`` steps, started from a zero function); ``ridge`` is ignored.

    Attributes
    ----------
    K : (n, n) tensor;  alpha : (n,) or (n, C);  eigenvalues, eigenvectors : descending eigenpairs of ``K``;
    ridge_value : float (absolute).

    Examples
    --------
    >>> X = torch.eye(3, dtype=torch.float64); Y = torch.tensor([1., -1., 1.], dtype=torch.float64)
    >>> km = KernelMachine(X, Y, kernel="linear")
    >>> torch.allclose(km(X), Y)
    True
    """

    def __init__(self, X, Y, kernel="ntk", ridge: float = 0.0, relative_ridge: bool = False, kernel_options=None,
                 flow_time: float | None = None):
        self.X = _as64(X)
        self.Y = _as64(Y, self.X.device)
        if self.X.ndim != 2:
            raise InvalidParameter("X", f"must be (n, d), got shape {tuple(self.X.shape)}")
        if self.Y.shape[0] != self.X.shape[0] or self.Y.ndim > 2:
            raise InvalidParameter("Y", f"must be (n,) or (n, C) with n = {self.X.shape[0]}, got {tuple(self.Y.shape)}")
        nonnegative("ridge", ridge)
        self.kernel = kernel_function(kernel, **(kernel_options or {})) if isinstance(kernel, str) else kernel
        if not callable(self.kernel):
            raise InvalidParameter("kernel", "must be a callable or a kernel name")
        self.K = self.kernel(self.X, self.X)
        scale = float(self.K.diagonal().mean()) if relative_ridge else 1.0
        self.ridge_value = float(ridge) * scale
        evals, evecs = torch.linalg.eigh(self.K)
        self.eigenvalues, self.eigenvectors = evals.flip(0), evecs.flip(1)
        n = self.K.shape[0]
        lam = self.eigenvalues.clamp(min=0.0)
        if flow_time is None:
            self.filter = 1.0 / (self.eigenvalues + self.ridge_value)
            A = self.K + self.ridge_value * torch.eye(n, dtype=self.K.dtype, device=self.K.device)
            self.alpha = torch.linalg.solve(A, self.Y)
        else:
            tau = nonnegative("flow_time", flow_time)
            self.filter = torch.where(lam > 0, -torch.expm1(-tau * lam / n) / lam.clamp(min=1e-300),
                                      torch.full_like(lam, tau / n))
            coef = self.eigenvectors.T @ self.Y
            self.alpha = self.eigenvectors @ (coef * (self.filter if self.Y.ndim == 1 else self.filter[:, None]))

    @property
    def n_features(self) -> int:
        return int(self.X.shape[0])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.kernel(_as64(x, self.X.device), self.X) @ self.alpha

    def feature_weights(self, indices=None) -> torch.Tensor:
        r"""Dual weights of features ``indices``: ``w_i = g(lambda_i) v_i (v_i^T Y)`` with the spectral filter
        ``g(lambda) = (lambda + ridge)^{-1}`` (or the gradient-flow filter when ``flow_time`` is set),
        shape ``(k, n)`` (binary) or ``(k, n, C)``; ``f_i(x) = K(x, X) w_i``."""
        idx = self._indices(indices)
        V = self.eigenvectors[:, idx]                                   # (n, k)
        coef = V.T @ self.Y                                              # (k,) or (k, C)
        scale = self.filter[idx]
        if self.Y.ndim == 1:
            return (V * (scale * coef)).T
        return torch.einsum("nk,kc->knc", V * scale, coef)

    def _indices(self, indices):
        if indices is None:
            return torch.arange(self.n_features, device=self.X.device)
        idx = torch.as_tensor(indices, dtype=torch.long, device=self.X.device).reshape(-1)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.n_features):
            raise InvalidParameter("indices", f"must lie in [0, {self.n_features})")
        return idx

    def features(self, x: torch.Tensor, indices=None) -> torch.Tensor:
        """Values ``f_i(x)`` of the eigen-features, shape ``(k, m)`` or ``(k, m, C)``."""
        Kx = self.kernel(_as64(x, self.X.device), self.X)
        W = self.feature_weights(indices)
        return torch.einsum("mn,kn->km", Kx, W) if W.ndim == 2 else torch.einsum("mn,knc->kmc", Kx, W)

    def feature(self, indices) -> "FeaturePredictor":
        """The callable ``x -> sum_{i in indices} f_i(x)`` (one feature, or a partial sum such as ``range(k)``)."""
        return FeaturePredictor(self, self.feature_weights(indices).sum(0))


@dataclass
class FeaturePredictor:
    """``x -> K(x, X) w`` for a fixed dual weight ``w`` (a feature or a sum of features); differentiable in ``x``.

    Built by :meth:`KernelMachine.feature`.

    Parameters
    ----------
    machine : KernelMachine
        The kernel machine (its kernel and training inputs X).
    weight : torch.Tensor
        The dual weight w, shape (n,) or (n, C).

    Examples
    --------
    >>> import torch
    >>> from deep.ntk import KernelMachine
    >>> X = torch.rand(8, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> y = torch.where(X[:, 0] > 0.5, 1.0, -1.0).double()
    >>> machine = KernelMachine(X, y, kernel="ntk")
    >>> every = machine.feature(range(machine.n_features))        # the sum of all features is the predictor
    >>> bool(torch.allclose(every(X), machine(X)))
    True
    """

    machine: KernelMachine
    weight: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.machine.kernel(_as64(x, self.machine.X.device), self.machine.X) @ self.weight


def predictions_accuracy(outputs: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of ``sign(outputs)`` against +-1 labels, or of ``argmax`` against class indices. Output 0 is an
    error (as in ``deep.attacks``).

    Parameters
    ----------
    outputs : torch.Tensor
        Predictions (n,) or (n, C).
    y : torch.Tensor
        +-1 labels or class indices.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> import torch
    >>> from deep.ntk import predictions_accuracy
    >>> predictions_accuracy(torch.tensor([0.5, -2.0, 0.0]), torch.tensor([1.0, -1.0, 1.0]))
    0.6666666666666666
    """
    if outputs.ndim == 1:
        return float((torch.sign(outputs) == y.to(outputs.dtype)).double().mean())
    return float((outputs.argmax(1) == y.long()).double().mean())


def feature_metrics(machine: KernelMachine, X_test, y_test, indices, eps: float, steps: int = 10,
                    step_size: float | None = None, attack: str = "pgd") -> dict:
    """Usefulness ``rho_i`` and robustness ``gamma_i`` of eigen-features (spec section 1.2, Tsilivis & Kempe Sec. 2).

    ``rho_i = mean 1{sign f_i(x) = y}`` (clean test accuracy of feature ``i``) and
    ``gamma_i = mean 1{sign f_i(x + delta_i) = y}`` with ``delta_i`` an linf attack (``"pgd"``: ``steps`` steps,
    no random start, as in the authors' notebook; ``"fgsm"``) made against ``f_i`` itself, inputs clipped to [0, 1].
    Binary tasks (labels +-1).

    Parameters
    ----------
    machine : KernelMachine
        The kernel machine whose eigen-features are measured.
    X_test, y_test : torch.Tensor
        Test inputs in [0, 1] and +-1 labels.
    indices : sequence of int
        The features (by decreasing eigenvalue).
    eps : float
        linf radius.
    steps : int, default 10
        PGD steps.
    step_size : float, optional
        PGD step size.
    attack : {"pgd", "fgsm"}, default "pgd"
        The attack.

    Returns
    -------
    dict
        ``index``, ``usefulness``, ``robustness`` (accuracies, fractions) and ``eigenvalue`` lists.

    Examples
    --------
    >>> import torch
    >>> from deep.ntk import KernelMachine
    >>> X = torch.rand(8, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> y = torch.where(X[:, 0] > 0.5, 1.0, -1.0).double()
    >>> machine = KernelMachine(X, y, kernel="ntk")
    >>> from deep.ntk import feature_metrics
    >>> out = feature_metrics(machine, X, y, [0, 1], eps=0.05, steps=2)
    >>> out["index"], [round(v, 3) for v in out["eigenvalue"]]
    ([0, 1], [8.789, 0.588])
    """
    from deep.attacks import fgsm, pgd

    X_test, y_test = _as64(X_test), _as64(y_test)
    if machine.Y.ndim != 1:
        raise InvalidParameter("machine", "feature_metrics is defined for binary (+-1) kernel machines")
    nonnegative("eps", eps)
    out = {"index": [], "usefulness": [], "robustness": [], "eigenvalue": []}
    for i in [int(i) for i in indices]:
        f = machine.feature([i])
        clean = predictions_accuracy(f(X_test), y_test)
        if eps == 0:
            robust = clean
        elif attack == "fgsm":
            robust = predictions_accuracy(f(fgsm(f, X_test, y_test, eps)), y_test)
        else:
            x_adv = pgd(f, X_test, y_test, eps, steps=steps, step_size=step_size or eps / 4, random_start=False)
            robust = predictions_accuracy(f(x_adv), y_test)
        out["index"].append(i)
        out["usefulness"].append(clean)
        out["robustness"].append(robust)
        out["eigenvalue"].append(float(machine.eigenvalues[i]))
    return out


def majority_rate(y) -> float:
    """``max_y' P(y = y')`` (a feature is useful when its accuracy exceeds this).

    Parameters
    ----------
    y : torch.Tensor
        Labels.

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from deep.ntk import majority_rate
    >>> majority_rate(torch.tensor([1.0, 1.0, -1.0]))
    0.6666666666666666
    """
    _, counts = np.unique(np.asarray(torch.as_tensor(y).cpu()), return_counts=True)
    return float(counts.max() / counts.sum())
