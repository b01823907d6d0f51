r"""Neural-collapse metrics NC1-NC4, the simplex "leap" measure and the nearest-class-centre (NCC) classifier.

Conventions (spec deep_robustness_ntk.md §3.2; the authors' public code unless noted). For features
``h_i`` (rows of ``H``, shape ``(N, p)``) grouped by labels ``y_i`` in ``{0..C-1}``:

* class means ``mu_c`` (``N_c`` points), global mean ``mu_G = sum_c N_c mu_c / N`` (count-weighted),
  ``M~ = [mu_c - mu_G]_c`` (``p x C``);
* ``Sigma_W = (1/N) sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T``, ``Sigma_B = (1/C) M~ M~^T``;
* ``nc1 = Tr(Sigma_W Sigma_B^+)`` (the public code), ``nc1_papyan = nc1 / C`` (Papyan et al. 2020);
* ``nc2_norm = std_c ||mu_c - mu_G|| / mean_c ||mu_c - mu_G||`` (unbiased std, divisor C - 1), and the same for
  the rows ``w_c`` of the classifier (``nc2_norm_w``);
* ``nc2_angle = 1/(C(C-1)) sum_{c != c'} |cos(mu~_c, mu~_c') + 1/(C-1)|`` (zero iff all pairwise cosines equal the
  simplex-ETF value ``-1/(C-1)``), ``nc2_angle_w`` for the classifier rows;
* ``nc3 = || W^T/||W||_F - M~/||M~||_F ||_F^2``;
* ``nc4 = 1 - (1/N) sum_i 1{argmin_c ||h_i - mu_c|| = argmax_c f_c(x_i)}`` (NCC vs network disagreement).

Classes without samples are dropped (``C`` = number of classes present). All reductions run in float64; the
pseudo-inverse drops singular values below ``1e-10`` times the largest.

Vectorised NC1: with ``H_c`` the class-centred features and ``M~^+`` the pseudo-inverse (``C x p``),
``Sigma_B^+ = C (M~^+)^T M~^+`` so ``Tr(Sigma_W Sigma_B^+) = (C/N) ||H_c (M~^+)^T||_F^2`` — one ``N x p x C``
product instead of a ``p x p`` pseudo-inverse. :func:`collapse_metrics_loop` is the literal per-class reference.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer, positive

from ..device import draw_device

# Relative cut-off for singular values of M~ (rank C - 1 exactly: the count-weighted centring removes one
# direction, which rounding leaves at ~1e-16 relative and a default pinv cut-off may keep).
_RTOL = 1e-10


@dataclass(frozen=True)
class CollapseMetrics:
    """NC1 (both conventions), NC2 (equinorm, equiangularity; means and classifier), NC3, NC4 for one feature set.

    Entries that need a classifier ``W`` (``nc2_*_w``, ``nc3``) or predictions (``nc4``) are NaN without them.
    Formulas: the module docstring. All are 0 at perfect collapse onto a simplex ETF.

    Attributes
    ----------
    nc1 : float
        ``Tr(Sigma_W Sigma_B^+)`` (the public code's convention).
    nc1_papyan : float
        ``nc1 / C`` (Papyan et al. 2020).
    nc2_norm, nc2_angle : float
        Equinorm and equiangularity of the centred class means.
    nc2_norm_w, nc2_angle_w : float
        The same for the classifier rows.
    nc3 : float
        Self-duality ``|| W^T/||W||_F - M~/||M~||_F ||_F^2``.
    nc4 : float
        Disagreement between the nearest-class-centre classifier and the network (a fraction).
    num_classes, num_samples : int
        C (classes present) and N.

    Examples
    --------
    >>> import torch
    >>> from deep.collapse import simplex_etf
    >>> M = simplex_etf(3, 5, generator=torch.Generator().manual_seed(0))      # 3 class means in R^5
    >>> H = M.repeat(4, 1); y = torch.arange(3).repeat(4)                       # 4 collapsed points per class
    >>> from deep.collapse import collapse_metrics
    >>> noisy = H + 0.01 * torch.randn(12, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    >>> m = collapse_metrics(noisy, y)
    >>> m.nc1 < 1e-3, m.num_classes, m.nc3                 # nc3 needs the classifier W: NaN here
    (True, 3, nan)
    """

    nc1: float
    nc1_papyan: float
    nc2_norm: float
    nc2_angle: float
    nc2_norm_w: float
    nc2_angle_w: float
    nc3: float
    nc4: float
    num_classes: int
    num_samples: int

    def to_dict(self) -> dict:
        return asdict(self)


def _check(features, labels):
    if not isinstance(features, torch.Tensor) or features.ndim != 2:
        raise InvalidParameter("features", "must be a 2-D tensor (N, p)")
    if labels.ndim != 1 or labels.shape[0] != features.shape[0]:
        raise InvalidParameter("labels", f"must have shape ({features.shape[0]},), got {tuple(labels.shape)}")
    if features.shape[0] == 0:
        raise InvalidParameter("features", "is empty")
    if not bool(torch.isfinite(features).all()):
        raise InvalidParameter("features", "contains NaN or inf")


def class_means(features: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None):
    """Class means ``mu_c``, counts ``N_c`` and the count-weighted global mean ``mu_G`` (float64).

    Parameters
    ----------
    features : torch.Tensor
        Shape (N, p).
    labels : torch.Tensor
        Class indices, shape (N,).
    num_classes : int, optional
        C (default ``max(labels) + 1``).

    Returns
    -------
    means : torch.Tensor
        Shape (C, p); row ``c`` is ``mu_c`` (zeros for an empty class).
    counts : torch.Tensor
        Shape (C,).
    global_mean : torch.Tensor
        Shape (p,).

    Examples
    --------
    >>> import torch
    >>> from deep.collapse import simplex_etf
    >>> M = simplex_etf(3, 5, generator=torch.Generator().manual_seed(0))      # 3 class means in R^5
    >>> H = M.repeat(4, 1); y = torch.arange(3).repeat(4)                       # 4 collapsed points per class
    >>> from deep.collapse import class_means
    >>> means, counts, mu_g = class_means(H, y)
    >>> counts.tolist(), bool(torch.allclose(means, M)), bool(mu_g.abs().max() < 1e-12)
    ([4.0, 4.0, 4.0], True, True)
    """
    _check(features, labels)
    labels = labels.long()
    C = int(labels.max()) + 1 if num_classes is None else integer("num_classes", num_classes, low=1)
    if int(labels.min()) < 0 or int(labels.max()) >= C:
        raise InvalidParameter("labels", f"must lie in 0..{C - 1}")
    H = features.detach().to(torch.float64)
    labels = labels.to(H.device)
    sums = torch.zeros(C, H.shape[1], dtype=H.dtype, device=H.device).index_add_(0, labels, H)
    counts = torch.bincount(labels, minlength=C).to(H.dtype)
    means = sums / counts.clamp_min(1)[:, None]
    return means, counts, H.mean(0)


def _equinorm(vectors):
    norms = vectors.norm(dim=1)
    return float(norms.std() / norms.mean()) if vectors.shape[0] > 1 else 0.0


def _equiangular(vectors):
    C = vectors.shape[0]
    if C < 2:
        return 0.0
    u = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-300)
    cos = u @ u.T
    off = ~torch.eye(C, dtype=torch.bool, device=u.device)
    return float((cos[off] + 1.0 / (C - 1)).abs().sum() / (C * (C - 1)))


def ncc_predict(features: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """Nearest-class-centre labels ``argmin_c ||h_i - mu_c||_2`` (vectorised: ``||mu_c||^2 - 2 <h_i, mu_c>``).

    Parameters
    ----------
    features : torch.Tensor
        Shape (N, p).
    means : torch.Tensor
        Class means, shape (C, p).

    Returns
    -------
    torch.Tensor
        Class indices, shape (N,).

    Examples
    --------
    >>> import torch
    >>> from deep.collapse import simplex_etf
    >>> M = simplex_etf(3, 5, generator=torch.Generator().manual_seed(0))      # 3 class means in R^5
    >>> H = M.repeat(4, 1); y = torch.arange(3).repeat(4)                       # 4 collapsed points per class
    >>> from deep.collapse import ncc_predict
    >>> ncc_predict(H[:3], M)
    tensor([0, 1, 2])
    """
    if means.ndim != 2 or features.ndim != 2 or means.shape[1] != features.shape[1]:
        raise InvalidParameter("means", f"must have shape (C, {features.shape[-1]}), got {tuple(means.shape)}")
    H = features.detach().to(torch.float64)
    M = means.to(torch.float64)
    return ((M * M).sum(1)[None, :] - 2.0 * H @ M.T).argmin(1)


def ncc_accuracy(features: torch.Tensor, labels: torch.Tensor, means: torch.Tensor) -> float:
    """Accuracy of the NCC classifier with the given (e.g. clean) class means on (e.g. perturbed) features.

    Parameters
    ----------
    features : torch.Tensor
        Shape (N, p).
    labels : torch.Tensor
        Class indices, shape (N,).
    means : torch.Tensor
        Class means, shape (C, p).

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> import torch
    >>> from deep.collapse import simplex_etf
    >>> M = simplex_etf(3, 5, generator=torch.Generator().manual_seed(0))      # 3 class means in R^5
    >>> H = M.repeat(4, 1); y = torch.arange(3).repeat(4)                       # 4 collapsed points per class
    >>> from deep.collapse import ncc_accuracy
    >>> ncc_accuracy(H, y, M), ncc_accuracy(H, (y + 1) % 3, M)
    (1.0, 0.0)
    """
    return float((ncc_predict(features, means) == labels.to(features.device).long()).double().mean())


def collapse_metrics(features: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None,
                     predictions: torch.Tensor | None = None, num_classes: int | None = None) -> CollapseMetrics:
    r"""NC1-NC4 of ``features`` grouped by ``labels`` (see the module docstring for the exact formulas).

    Parameters
    ----------
    features : tensor (N, p)
        Penultimate (or any layer's) features.
    labels : tensor (N,)
        Grouping labels (true labels; target labels for a targeted attack).
    weights : tensor (C, p), optional
        Last-layer weights ``W`` (enables ``nc2_*_w`` and ``nc3``; ``predictions`` default to ``argmax W h``).
    predictions : tensor (N,), optional
        The network's predicted labels (for ``nc4``).
    num_classes : int, optional

    Returns
    -------
    CollapseMetrics

    Examples
    --------
    >>> import torch
    >>> M = simplex_etf(3, 5, radius=2.0)
    >>> y = torch.arange(3).repeat(4)
    >>> round(collapse_metrics(M[y], y, weights=M).nc1, 12)
    0.0
    """
    means, counts, mu_g = class_means(features, labels, num_classes)
    present = counts > 0
    C = int(present.sum())
    H = features.detach().to(torch.float64)
    N = H.shape[0]
    labels = labels.long().to(H.device)
    centred = means - mu_g[None, :]
    Mt = centred[present].T                                    # p x C
    Hc = H - means[labels]
    if C >= 2 and float(Mt.abs().max()) > 0:
        pinv = torch.linalg.pinv(Mt, rtol=_RTOL)              # C x p
        nc1 = C / N * float(((Hc @ pinv.T) ** 2).sum())
    else:
        nc1 = math.nan
    nan = math.nan
    nc2_norm_w = nc2_angle_w = nc3 = nan
    if weights is not None:
        W = weights.detach().to(torch.float64).to(H.device)
        if W.ndim != 2 or W.shape[1] != H.shape[1]:
            raise InvalidParameter("weights", f"must have shape (C, {H.shape[1]}), got {tuple(W.shape)}")
        if means.shape[0] > W.shape[0]:
            raise InvalidParameter("weights", f"has {W.shape[0]} rows for {means.shape[0]} classes")
        Wp = W[:means.shape[0]][present]
        nc2_norm_w, nc2_angle_w = _equinorm(Wp), _equiangular(Wp)
        nc3 = float(((Wp.T / Wp.norm()) - Mt / Mt.norm()).pow(2).sum())
        if predictions is None:
            predictions = (H @ W.T).argmax(1)
    nc4 = nan
    if predictions is not None:
        if predictions.shape != labels.shape:
            raise InvalidParameter("predictions", f"must have shape {tuple(labels.shape)}")
        ncc = ncc_predict(H, means[present])
        classes = torch.nonzero(present).flatten()
        nc4 = 1.0 - float((classes[ncc] == predictions.to(H.device).long()).double().mean())
    return CollapseMetrics(nc1=nc1, nc1_papyan=nc1 / C if C else nan, nc2_norm=_equinorm(centred[present]),
                           nc2_angle=_equiangular(centred[present]), nc2_norm_w=nc2_norm_w, nc2_angle_w=nc2_angle_w,
                           nc3=nc3, nc4=nc4, num_classes=C, num_samples=N)


def collapse_metrics_loop(features: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None) -> float:
    """Reference NC1 ``Tr(Sigma_W Sigma_B^+)`` with a per-class Python loop and an explicit ``p x p``
    pseudo-inverse (the public code's way; used by tests and the benchmark).

    Parameters
    ----------
    features : torch.Tensor
        Shape (N, p).
    labels : torch.Tensor
        Class indices, shape (N,).
    num_classes : int, optional
        C.

    Returns
    -------
    float
        Equal to ``collapse_metrics(features, labels).nc1`` to rounding.

    Examples
    --------
    >>> import torch
    >>> from deep.collapse import simplex_etf
    >>> M = simplex_etf(3, 5, generator=torch.Generator().manual_seed(0))      # 3 class means in R^5
    >>> H = M.repeat(4, 1); y = torch.arange(3).repeat(4)                       # 4 collapsed points per class
    >>> from deep.collapse import collapse_metrics, collapse_metrics_loop
    >>> noisy = H + 0.01 * torch.randn(12, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    >>> abs(collapse_metrics_loop(noisy, y) - collapse_metrics(noisy, y).nc1) < 1e-12
    True
    """
    _check(features, labels)
    H = features.detach().to(torch.float64)
    labels = labels.long()
    C = int(labels.max()) + 1 if num_classes is None else num_classes
    N, p = H.shape
    mu_g = H.mean(0)
    sigma_w = torch.zeros(p, p, dtype=H.dtype, device=H.device)
    cols = []
    for c in range(C):
        Hc = H[labels == c]
        if Hc.shape[0] == 0:
            continue
        mu = Hc.mean(0)
        D = Hc - mu
        sigma_w += D.T @ D
        cols.append(mu - mu_g)
    sigma_w /= N
    Mt = torch.stack(cols, 1)
    sigma_b = Mt @ Mt.T / Mt.shape[1]
    return float(torch.trace(sigma_w @ torch.linalg.pinv(sigma_b, rtol=_RTOL, hermitian=True)))


def simplex_etf(num_classes: int, dim: int, radius: float = 1.0, generator: torch.Generator | None = None,
                dtype=torch.float64, device=None) -> torch.Tensor:
    """Rows of a centred simplex ETF with norms ``radius``: ``M = r sqrt(C/(C-1)) (I_C - 11^T/C) U^T``,
    U a random ``dim x C`` partial orthogonal matrix (the random ``U`` is drawn on the generator's device, the CPU,
    and moved to ``device``).

    Parameters
    ----------
    num_classes : int
        C.
    dim : int
        The feature dimension (>= C).
    radius : float, default 1.0
        The norm of every row.
    generator : torch.Generator, optional
        Source of U.
    dtype : torch.dtype, default torch.float64
        Result dtype.
    device : str or torch.device, optional
        Result device.

    Returns
    -------
    torch.Tensor
        Shape (C, dim): equal norms, pairwise cosines ``-1/(C-1)``.

    Examples
    --------
    >>> import torch
    >>> from deep.collapse import simplex_etf
    >>> M = simplex_etf(3, 5, generator=torch.Generator().manual_seed(0))
    >>> M.norm(dim=1).round(decimals=12).tolist(), round(float(M[0] @ M[1]), 6)
    ([1.0, 1.0, 1.0], -0.5)
    """
    C = integer("num_classes", num_classes, low=2)
    d = integer("dim", dim, low=1)
    positive("radius", radius)
    if d < C:
        raise InvalidParameter("dim", f"must be >= num_classes = {C}, got {d}")
    device = torch.get_default_device() if device is None else torch.device(device)
    if generator is None:
        U = torch.eye(d, C, dtype=dtype, device=device)
    else:
        draw = torch.randn(d, C, generator=generator, dtype=dtype, device=draw_device(generator, device))
        U, _ = torch.linalg.qr(draw.to(device))
    P = torch.eye(C, dtype=dtype, device=device) - 1.0 / C
    return radius * math.sqrt(C / (C - 1)) * P @ U.T


def leap(clean_features: torch.Tensor, clean_labels: torch.Tensor, perturbed_features: torch.Tensor,
         group_labels: torch.Tensor, num_classes: int | None = None) -> dict:
    r"""Where perturbed features land relative to the clean class-mean simplex.

    Parameters
    ----------
    clean_features, clean_labels : tensors
        Define the clean class means ``mu_c`` (the simplex vertices) and global mean ``mu_G``.
    perturbed_features : tensor (N', p)
    group_labels : tensor (N',)
        Labels the perturbed points are grouped by and compared with: the target ``(y+1) mod C`` for a targeted
        attack, the true label otherwise.
    num_classes : int, optional
        C (default from the clean labels).

    Returns
    -------
    dict
        ``fraction_at_group``: fraction of perturbed points whose nearest clean centre is their group label
        (targeted: "leapt to the target vertex"; untargeted: "stayed at their own vertex");
        ``distance`` / ``angle`` (degrees): per class, between ``mu_c^clean`` and ``mu_c^pert`` raw, and
        ``distance_centred`` / ``angle_centred`` after subtracting each set's own global mean;
        ``global_distance`` / ``global_angle`` between the two global means; ``ncc_accuracy_clean_means``:
        NCC accuracy of the perturbed points w.r.t. ``group_labels`` with the clean means (same as
        ``fraction_at_group``, kept under its classifier name).

    Examples
    --------
    >>> import torch
    >>> from deep.collapse import simplex_etf
    >>> M = simplex_etf(3, 5, generator=torch.Generator().manual_seed(0))      # 3 class means in R^5
    >>> H = M.repeat(4, 1); y = torch.arange(3).repeat(4)                       # 4 collapsed points per class
    >>> from deep.collapse import leap
    >>> moved = H[torch.tensor([1, 2, 0])]                        # every point moved to the next class's vertex
    >>> leap(H, y, moved, torch.tensor([1, 2, 0]))["fraction_at_group"]
    1.0
    """
    means, counts, mu_g = class_means(clean_features, clean_labels, num_classes)
    C = means.shape[0]
    pmeans, pcounts, pmu_g = class_means(perturbed_features, group_labels, C)
    frac = ncc_accuracy(perturbed_features, group_labels, means)

    def angle(a, b):
        cos = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(1e-300)
        return torch.rad2deg(torch.arccos(cos.clamp(-1, 1)))

    ok = (counts > 0) & (pcounts > 0)
    nanvec = lambda v: torch.where(ok, v, torch.full_like(v, math.nan)).tolist()  # noqa: E731
    return {"fraction_at_group": frac, "ncc_accuracy_clean_means": frac,
            "distance": nanvec((means - pmeans).norm(dim=1)), "angle": nanvec(angle(means, pmeans)),
            "distance_centred": nanvec(((means - mu_g) - (pmeans - pmu_g)).norm(dim=1)),
            "angle_centred": nanvec(angle(means - mu_g, pmeans - pmu_g)),
            "global_distance": float((mu_g - pmu_g).norm()), "global_angle": float(angle(mu_g, pmu_g))}
