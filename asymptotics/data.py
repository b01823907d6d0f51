"""Data model: Gaussian covariates, a Gaussian teacher and probit label noise.

``x ~ N(0, Sigma_x)`` in R^d, teacher ``theta ~ N(0, rho * Sigma_theta)`` (so ``||theta||^2/d -> rho`` for the
default ``Sigma_theta = I``), labels ``y = sign(theta.x / sqrt(d) + tau * z)``, ``z ~ N(0, 1)``.
Covariances are given as 1-D spectra (diagonal matrices, the common case) or as symmetric matrices; the solver
needs every matrix (data, teacher, attack, regularizer) to commute, i.e. to share an eigenbasis.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import validation as V
from .errors import InvalidParameter


@dataclass(frozen=True)
class DataModel:
    """The data model: ``x ~ N(0, Sigma_x)`` in R^d, a teacher ``theta ~ N(0, rho Sigma_theta)`` and labels
    ``y = sign(theta.x/sqrt(d) + tau z)`` with ``z ~ N(0, 1)``.

    Default: isotropic (``Sigma_x = Sigma_theta = I``), ``rho = 1`` (so ``||theta||^2/d -> 1``), ``tau = 0`` (noiseless).

    Parameters
    ----------
    rho : float, default 1.0
        Teacher norm ``||theta||^2/d`` (> 0).
    tau : float, default 0.0
        Probit label noise (>= 0).
    cov_x : numpy.ndarray, optional
        Sigma_x as a spectrum (1-D, positive) or a symmetric positive-definite matrix (None: identity).
    cov_teacher : numpy.ndarray, optional
        Sigma_theta as a spectrum or a positive semi-definite matrix (None: identity).

    Attributes
    ----------
    isotropic : bool
        True when neither covariance is given.

    Examples
    --------
    >>> from asymptotics import DataModel
    >>> DataModel(rho=2.0, tau=0.1).to_dict()
    {'rho': 2.0, 'tau': 0.1}
    >>> DataModel().isotropic
    True
    """
    rho: float = 1.0
    tau: float = 0.0
    cov_x: np.ndarray | None = field(default=None, compare=False, repr=False)
    cov_teacher: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "rho", V.positive("rho", self.rho))
        object.__setattr__(self, "tau", V.nonnegative("tau", self.tau))
        if self.cov_x is not None:
            object.__setattr__(self, "cov_x", V.spectrum_or_matrix("Sigma_x", self.cov_x))
        if self.cov_teacher is not None:
            object.__setattr__(self, "cov_teacher",
                               V.spectrum_or_matrix("Sigma_theta", self.cov_teacher, positive_definite=False))

    @property
    def isotropic(self) -> bool:
        return self.cov_x is None and self.cov_teacher is None

    def to_dict(self) -> dict:
        out = {"rho": self.rho, "tau": self.tau}
        if self.cov_x is not None:
            out["cov_x"] = self.cov_x.tolist()
        if self.cov_teacher is not None:
            out["cov_teacher"] = self.cov_teacher.tolist()
        return out


def parse_data(data) -> DataModel:
    if data is None:
        return DataModel()
    if isinstance(data, DataModel):
        return data
    if isinstance(data, dict):
        unknown = set(data) - {"rho", "tau", "cov_x", "cov_teacher"}
        if unknown:
            raise InvalidParameter("data", f"unknown keys {sorted(unknown)}; use rho, tau, cov_x, cov_teacher")
        return DataModel(**data)
    raise InvalidParameter("data", f"expected None, a dict or a DataModel, got {type(data).__name__}")


@dataclass(frozen=True)
class Spectra:
    """The joint spectral description the solver works with (classes of coordinates in the common eigenbasis).

    Every array has one entry per class; ``weight`` sums to 1.

    s: eigenvalue of Sigma_x; t: teacher variance rho * eig(Sigma_theta); a: eigenvalue of Sigma_w (1 for lr);
    b: eigenvalue of Sigma_delta (1 for lp attacks).
    """

    s: np.ndarray
    t: np.ndarray
    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    b_test: np.ndarray | None = None   # eigenvalue of the test attack's Sigma_delta (1 for lp)

    @property
    def teacher_field_variance(self) -> float:
        """rho_x = theta^T Sigma_x theta / d, the variance of the noiseless teacher field."""
        return float(np.sum(self.weight * self.s * self.t))


def _as_diagonal(name, cov):
    if cov.ndim == 1:
        return cov
    off = cov - np.diag(np.diag(cov))
    if np.max(np.abs(off)) > 1e-12 * max(1.0, np.max(np.abs(cov))):
        return None
    return np.diag(cov).copy()


def joint_spectra(data: DataModel, reg, attack, attack_test, quadratic_only: bool) -> Spectra:
    """Express every covariance in a common eigenbasis and group equal coordinates into classes.

    Non-diagonal matrices are allowed only when every term is quadratic (l2 or Mahalanobis regularizer and
    attack): the problem is then rotation invariant and a common eigenbasis is found numerically.
    """
    named = {"Sigma_x": data.cov_x, "Sigma_theta": data.cov_teacher,
             "Sigma_w": getattr(reg, "covariance", None), "Sigma_delta": getattr(attack, "covariance", None),
             "Sigma_delta_test": getattr(attack_test, "covariance", None)}
    given = {k: v for k, v in named.items() if v is not None}
    dims = {k: v.shape[0] for k, v in given.items()}
    if len(set(dims.values())) > 1:
        raise InvalidParameter("covariance", f"covariances have different dimensions: {dims}")
    if not given:
        one = np.ones(1)
        return Spectra(one, data.rho * one, one, one, one, one)
    D = next(iter(dims.values()))
    diag = {k: _as_diagonal(k, v) for k, v in given.items()}
    if any(v is None for v in diag.values()):
        if not quadratic_only:
            bad = [k for k, v in diag.items() if v is None]
            raise InvalidParameter(bad[0], "non-diagonal covariances need a quadratic (l2 or Mahalanobis) regularizer "
                                           "and attack; give lp/lr problems diagonal covariances (spectra)")
        mats = {k: (np.diag(v) if v.ndim == 1 else v) for k, v in given.items()}
        keys = list(mats)
        for i in range(len(keys)):
            for j in range(i + 1, len(keys)):
                A, B = mats[keys[i]], mats[keys[j]]
                comm = A @ B - B @ A
                if np.max(np.abs(comm)) > 1e-8 * max(1.0, np.max(np.abs(A)) * np.max(np.abs(B))):
                    raise InvalidParameter(keys[j], f"must commute with {keys[i]} (share its eigenbasis)")
        rng = np.random.default_rng(0)
        combo = sum(c * m for c, m in zip(rng.uniform(1.0, 2.0, len(mats)), mats.values()))
        _, basis = np.linalg.eigh(combo)
        diag = {k: np.einsum("ij,jk,ki->i", basis.T, m, basis) for k, m in mats.items()}
    ones = np.ones(D)
    s = diag.get("Sigma_x", ones)
    t = data.rho * diag.get("Sigma_theta", ones)
    a = diag.get("Sigma_w", ones)
    b = diag.get("Sigma_delta", ones)
    bt = diag.get("Sigma_delta_test", ones)
    rows = np.round(np.stack([s, t, a, b, bt], axis=1), 12)
    uniq, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    # use the exact (unrounded) values of the first member of each class
    first = np.array([np.flatnonzero(inverse.ravel() == k)[0] for k in range(len(uniq))])
    return Spectra(s[first], t[first], a[first], b[first], counts / D, bt[first])
