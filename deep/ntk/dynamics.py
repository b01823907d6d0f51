r"""Kernel-dynamics metrics (spec deep_robustness_ntk.md §1.2, from the measurements of Tsilivis & Kempe 2022).

* similarity ``S(K1, K2) = Tr(K1 K2^T) / sqrt(Tr(K1 K1^T) Tr(K2 K2^T))`` (Frobenius cosine); distance ``D = 1 - S``
  (Fort et al. 2020);
* polar dynamics ``r_t = ||K_t - K_0||_F / ||K_T - K_0||_F`` (final radius 1) and ``phi_t = arccos S(K_t, K_0)``;
* spectral truncations ``V_k diag(lambda_1..lambda_k) V_k^T`` ("top") and the complementary ``n - k`` pairs ("bottom");
* eigen-mass ``m_k = sum_{i<=k} lambda_i^2 / sum_i lambda_i^2``;
* kernel-target alignment ``A(K, Y) = <K, Y Y^T>_F / (||K||_F ||Y Y^T||_F)`` (Cristianini et al. 2002).
All inputs are symmetric matrices (torch tensors or numpy arrays, computed in float64).
"""
from __future__ import annotations

import math

import numpy as np

from asymptotics.errors import InvalidParameter
from asymptotics.validation import choice, integer


def _np(K) -> np.ndarray:
    a = np.asarray(K.detach().cpu().numpy() if hasattr(K, "detach") else K, dtype=np.float64)
    if a.ndim == 4:                                     # (n, n, C, C) -> (nC, nC)
        n, _, C, _ = a.shape
        a = a.transpose(0, 2, 1, 3).reshape(n * C, n * C)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InvalidParameter("K", f"must be a square matrix (or n x n x C x C), got shape {a.shape}")
    return a


def kernel_similarity(K1, K2) -> float:
    """Frobenius cosine ``S(K1, K2) = <K1, K2>_F / (||K1||_F ||K2||_F)``; 1 for ``K2 = c K1`` with ``c > 0``.

    Parameters
    ----------
    K1, K2 : array_like
        Kernel matrices of the same shape.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from deep.ntk import kernel_similarity
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> kernel_similarity(K, 3 * K)
    1.0
    """
    a, b = _np(K1), _np(K2)
    if a.shape != b.shape:
        raise InvalidParameter("K2", f"shape {b.shape} differs from K1's {a.shape}")
    den = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    if den == 0:
        raise InvalidParameter("K1", "zero kernel: similarity undefined")
    return float((a * b).sum()) / den


def kernel_distance(K1, K2) -> float:
    """``D = 1 - S(K1, K2)``; in ``[0, 1]`` for PSD inputs (their Frobenius inner product is >= 0).

    Parameters
    ----------
    K1, K2 : array_like
        Kernel matrices of the same shape.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from deep.ntk import kernel_distance
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> round(kernel_distance(K, np.eye(2)), 4)
    0.1056
    """
    return 1.0 - kernel_similarity(K1, K2)


def distance_matrix(kernels) -> np.ndarray:
    """``D(K_i, K_j)`` for every pair of a sequence of kernels (the epochs x epochs heatmap).

    Parameters
    ----------
    kernels : sequence of array_like
        Kernel matrices of one shape (e.g. the NTK at successive epochs).

    Returns
    -------
    numpy.ndarray
        Symmetric, zero diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from deep.ntk import distance_matrix
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> distance_matrix([K, 3 * K, np.eye(2)]).round(3)
    array([[0.   , 0.   , 0.106],
           [0.   , 0.   , 0.106],
           [0.106, 0.106, 0.   ]])
    """
    mats = [_np(K) for K in kernels]
    flat = np.stack([m.ravel() / np.linalg.norm(m) for m in mats])
    return np.clip(1.0 - flat @ flat.T, 0.0, 2.0)


def kernel_target_alignment(K, Y) -> float:
    """``<K, Y Y^T>_F / (||K||_F ||Y Y^T||_F)`` with ``Y`` (n,) or (n, C) (e.g. one-hot, or +-1 labels).

    Parameters
    ----------
    K : array_like
        Kernel matrix (n, n).
    Y : array_like
        Targets, (n,) or (n, C).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from deep.ntk import kernel_target_alignment
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> round(kernel_target_alignment(K, np.array([1.0, -1.0])), 4)
    0.3162
    """
    a = _np(K)
    y = np.asarray(Y.detach().cpu().numpy() if hasattr(Y, "detach") else Y, dtype=np.float64)
    y = y.reshape(a.shape[0], -1)
    T = y @ y.T
    return float((a * T).sum() / (np.linalg.norm(a) * np.linalg.norm(T)))


def polar_dynamics(kernels) -> dict:
    """Radius ``r_t = ||K_t - K_0||_F / ||K_T - K_0||_F`` and angle ``phi_t = arccos S(K_t, K_0)`` (radians).

    Parameters
    ----------
    kernels : sequence of array_like
        ``K_0, ..., K_T``.

    Returns
    -------
    dict
        ``radius`` and ``angle``, arrays of length T + 1.

    Examples
    --------
    >>> import numpy as np
    >>> from deep.ntk import polar_dynamics
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> out = polar_dynamics([np.eye(2), K, 2 * K])
    >>> out["radius"].round(3), out["angle"].round(3)
    (array([0.   , 0.392, 1.   ]), array([0.   , 0.464, 0.464]))
    """
    mats = [_np(K) for K in kernels]
    if len(mats) < 2:
        raise InvalidParameter("kernels", "need at least two kernels")
    dist = np.array([np.linalg.norm(m - mats[0]) for m in mats])
    if dist[-1] == 0:
        raise InvalidParameter("kernels", "the last kernel equals the first: radius undefined")
    angle = np.array([math.acos(min(1.0, max(-1.0, kernel_similarity(m, mats[0])))) for m in mats])
    return {"radius": dist / dist[-1], "angle": angle}


def spectral_truncation(K, k: int, part: str = "top") -> np.ndarray:
    """Rank-``k`` truncation ``V_k diag(lambda_1..lambda_k) V_k^T`` (``part="top"``) or the rest of the spectrum,
    the ``n - k`` smallest eigenpairs (``part="bottom"``).

    Parameters
    ----------
    K : array_like
        Symmetric kernel matrix.
    k : int
        Number of top eigenpairs.
    part : {"top", "bottom"}, default "top"
        Which part to keep.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from deep.ntk import spectral_truncation
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> spectral_truncation(K, 1)                  # eigenvalue 3, eigenvector (1, 1)/sqrt(2)
    array([[1.5, 1.5],
           [1.5, 1.5]])
    >>> bool(np.allclose(spectral_truncation(K, 1) + spectral_truncation(K, 1, part="bottom"), K))
    True
    """
    a = _np(K)
    integer("k", k, low=1)
    choice("part", part, ("top", "bottom"))
    if k > a.shape[0]:
        raise InvalidParameter("k", f"must be <= n = {a.shape[0]}")
    lam, V = np.linalg.eigh((a + a.T) / 2)
    lam, V = lam[::-1], V[:, ::-1]
    sl = slice(0, k) if part == "top" else slice(k, None)
    return (V[:, sl] * lam[sl]) @ V[:, sl].T


def eigen_mass(K, k: int) -> float:
    """``m_k = sum_{i<=k} lambda_i^2 / sum_i lambda_i^2`` (``m_k(I_n) = k/n``, ``m_n = 1``).

    Parameters
    ----------
    K : array_like
        Symmetric kernel matrix.
    k : int
        Number of top eigenvalues.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from deep.ntk import eigen_mass
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> eigen_mass(K, 1), eigen_mass(np.eye(4), 1)
    (0.9, 0.25)
    """
    a = _np(K)
    integer("k", k, low=1)
    lam2 = np.sort(np.linalg.eigvalsh((a + a.T) / 2) ** 2)[::-1]
    return float(lam2[:k].sum() / lam2.sum())
