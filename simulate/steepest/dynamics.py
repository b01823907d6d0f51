"""Steepest descent on separable data: linear models and depth-D diagonal networks, numba-compiled and batched.

Algorithms (spec margins §1.3, robust spec §2.2): the unnormalised step is
``Delta = argmin_u <g, u> + 1/2 ||u||^2`` and the normalised one ``argmin_{||u|| <= 1} <g, u>``:

* ``norm="l2"``: gradient descent (``-g``, ``-g/||g||_2``);
* ``norm="linf"``: sign descent (``-||g||_1 sign g``, ``-sign g``);
* ``norm="l1"``: greedy (Gauss-Southwell) coordinate descent, lowest index among ties (``-g_j e_j``, ``-sign(g_j) e_j``);
* ``norm="l<p>"``: ``-||g||_r^{2-r} sign(g)|g|^{r-1}`` (normalised: divided by ``||g||_r``), ``1/p + 1/r = 1``.

Loss ``L(w) = sum_i l(<w, z_i> - eps ||w||_{p*})`` (exponential or logistic; ``eps > 0``: the closed-form worst case of
an lp input attack ``||delta||_p <= eps``, raw units), ``z_i = y_i x_i``. Steps ``eta_t = lr_t`` (``"constant"``) or
``min(lr_t / L(w_t), max_lr)`` (``"loss_scaled"``), ``lr_t = lr (1 + t)^(-decay)`` (``decay = 0`` by default). The loss is kept in log space (see :mod:`._kernels`), so runs of
1e6+ steps neither underflow nor overflow. Diagonal networks ``w = u^D - v^D`` start at ``u = v = init_scale /
sqrt(2d)`` (so ``w_0 = 0``) and are renormalised internally (``theta = e^kappa phi``), which lets loss-scaled runs
grow the parameter norm exponentially without overflow.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from asymptotics import InvalidParameter, parse_attack
from asymptotics import validation as V
from asymptotics.margins import parse_norm

from . import _kernels as K

SCHEDULES = ("constant", "loss_scaled")
LOSSES = ("exp", "logistic")


def checkpoint_steps(steps: int, count: int = 60) -> np.ndarray:
    """0 and about ``count`` log-spaced steps in [1, steps], unique and sorted (int64), ending at ``steps``."""
    steps = V.integer("steps", steps, low=1)
    count = V.integer("checkpoints", count, low=1)
    grid = np.unique(np.round(np.logspace(0.0, math.log10(steps), count)).astype(np.int64))
    return np.unique(np.r_[0, grid, steps]).astype(np.int64)


@dataclass(frozen=True)
class SteepestRun:
    """Checkpointed trajectory. Arrays have a leading batch axis when the data were batched.

    ``stats[name]`` for name in ``STATS``: ``log_loss``; ``margin_l1/l2/linf`` = ``min_i <w, z_i> / ||w||_q`` of the
    predictor; ``margin_own`` = ``min_i q_i(theta) / ||theta||^D`` in the algorithm's norm (parameter space);
    ``robust_margin_*`` the same with ``min_i <w, z_i> - eps ||w||_{p*}``; ``smoothed_margin_own`` =
    ``l^{-1}(L) / ||theta||^D``; ``beta`` = ``<theta, -grad L> / (||theta|| ||grad L||_*)`` (1 - beta is the
    Bregman/Fenchel-Young stationarity gap); ``log_norm_own`` = ``log ||theta||``. ``w``: unit-l2 predictor directions.
    """

    steps: np.ndarray
    stats: dict
    w: np.ndarray
    params: dict = field(default_factory=dict)

    def __getitem__(self, name):
        return self.stats[name]

    @property
    def gap(self):
        return 1.0 - self.stats["beta"]

    def to_dict(self) -> dict:
        return {"steps": self.steps, "stats": self.stats, "w": self.w, "params": self.params}


def _prepare(X, y):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    batched = X.ndim == 3
    if X.ndim == 2:
        X, y = X[None], y[None]
    if X.ndim != 3 or X.shape[1] < 1 or X.shape[2] < 1:
        raise InvalidParameter("X", f"must be (m, d) or a batch (B, m, d), got shape {np.shape(X)}")
    if y.shape != X.shape[:2]:
        raise InvalidParameter("y", f"must have shape {X.shape[1:2] if not batched else X.shape[:2]}, got {y.shape}")
    if not np.all(np.isfinite(X)):
        raise InvalidParameter("X", "contains NaN or inf")
    if not np.all(np.abs(y) == 1.0):
        raise InvalidParameter("y", "labels must be -1 or +1")
    return np.ascontiguousarray(y[:, :, None] * X), batched


def _simulate(X, y, *, model, depth, norm, steps, lr, normalized, schedule, loss, eps, attack, theta0, checkpoints,
              max_lr, decay=0.0):
    Z, batched = _prepare(X, y)
    B, m, d = Z.shape
    nrm = parse_norm(norm)
    if nrm.kind != "lp":
        raise InvalidParameter("norm", "the dynamics support lp norms only (Mahalanobis: use the programs)")
    eps = V.nonnegative("eps", eps)
    att = parse_attack(attack)
    if att.kind != "lp":
        raise InvalidParameter("attack", "the dynamics support lp attacks only")
    schedule = V.choice("schedule", schedule, SCHEDULES)
    loss = V.choice("loss", loss, LOSSES)
    lrs = np.broadcast_to(np.asarray(lr, dtype=np.float64), (B,)).copy()
    if not (np.all(np.isfinite(lrs)) and np.all(lrs > 0)):
        raise InvalidParameter("lr", f"must be finite and > 0, got {lr!r}")
    max_lr = V.real("max_lr", max_lr, low=0.0, low_open=True, allow_inf=True)
    decay = V.real("decay", decay, low=0.0)
    if normalized and schedule == "loss_scaled" and math.isinf(max_lr):
        raise InvalidParameter("max_lr", "normalized steps with eta_t = lr/L_t grow like e^{q_min}: give a finite "
                                         "max_lr (e.g. 1.0)")
    ckpt = checkpoint_steps(steps, checkpoints) if np.ndim(checkpoints) == 0 else _explicit(checkpoints)
    P = theta0.shape[-1]
    theta0 = np.ascontiguousarray(np.broadcast_to(theta0, (B, P)), dtype=np.float64)
    stats = np.full((B, ckpt.size, K.N_STATS), np.nan)
    wout = np.full((B, ckpt.size, d), np.nan)
    with np.errstate(all="ignore"):
        K.run_batch(Z, theta0, model, float(depth), float(nrm.p), float(att.dual_exponent), eps, lrs, max_lr,
                    bool(normalized), schedule == "loss_scaled", loss == "logistic", ckpt, stats, wout, decay)
    if np.isnan(stats[:, 1:, 0]).any():
        import warnings

        warnings.warn("steepest descent diverged (NaN loss): the step size is too large for this norm and data",
                      RuntimeWarning, stacklevel=3)
    if not batched:
        stats, wout = stats[0], wout[0]
    table = {name: stats[..., i] for i, name in enumerate(K.STATS)}
    params = dict(model="linear" if model == 0 else "diagonal", depth=depth, norm=nrm.name, steps=int(ckpt[-1]),
                  lr=lr if np.ndim(lr) == 0 else list(np.asarray(lr, float)), normalized=bool(normalized),
                  schedule=schedule, loss=loss, eps=eps, attack=att.name, max_lr=max_lr, decay=decay)
    return SteepestRun(steps=ckpt, stats=table, w=wout, params=params)


def _explicit(checkpoints):
    ckpt = np.unique(np.asarray(checkpoints, dtype=np.int64))
    if ckpt.size == 0 or ckpt[0] < 0:
        raise InvalidParameter("checkpoints", "must be nonnegative step numbers")
    return ckpt


def steepest_descent(X, y, norm="l2", steps=10_000, lr=0.1, normalized=False, schedule="constant", loss="exp",
                     eps=0.0, attack="linf", w0=None, checkpoints=60, max_lr=math.inf, decay=0.0) -> SteepestRun:
    """Steepest descent w.r.t. ``norm`` on a linear model (``w0 = 0`` by default), batched over a leading data axis.

    Parameters
    ----------
    X : (m, d) or (B, m, d); y : (m,) or (B, m) labels in {-1, +1}.
    norm : "l2" (GD), "linf" (sign descent), "l1" (greedy coordinate descent), "l<p>".
    steps, lr : number of steps and step size (scalar or one per batch element).
    normalized : use ``argmin_{||u||<=1} <g, u>`` instead of the unnormalised steepest step.
    schedule : "constant" or "loss_scaled" (``eta_t = min(lr_t / L_t, max_lr)``), with ``lr_t = lr (1 + t)^(-decay)``.
    decay : float >= 0
        Polynomial decay of the step (default 0: none). A loss-scaled step moves every margin by ``O(lr_t)`` per
        step, which for the non-smooth norms (l1, linf) leaves ties between coordinates resolved only to ``O(lr_t)``:
        the flow gap ``1 - beta_t`` then plateaus at ``O(lr)``; ``decay = 1/2`` lets it fall while ``sum lr_t``
        still diverges (the iterates still maximise the margin).
    loss : "exp" or "logistic"; eps, attack : robust loss against ``||delta||_p <= eps`` (lp attack).
    checkpoints : number of log-spaced checkpoints, or explicit step numbers.

    Returns
    -------
    SteepestRun

    Examples
    --------
    >>> run = steepest_descent([[1.0, 2.0]], [1.0], norm="linf", steps=10, lr=0.1, normalized=True)
    >>> run.w[-1].round(6).tolist()          # oracle A: sign descent stays on the ray (1, 1)
    [0.707107, 0.707107]
    """
    Z, _ = _prepare(X, y)
    d = Z.shape[2]
    theta0 = np.zeros(d) if w0 is None else np.asarray(w0, dtype=np.float64)
    if theta0.shape[-1] != d or not np.all(np.isfinite(theta0)):
        raise InvalidParameter("w0", f"must be finite with last dimension {d}, got shape {theta0.shape}")
    return _simulate(X, y, model=0, depth=1, norm=norm, steps=steps, lr=lr, normalized=normalized,
                     schedule=schedule, loss=loss, eps=eps, attack=attack, theta0=theta0, checkpoints=checkpoints,
                     max_lr=max_lr, decay=decay)


def diagonal_descent(X, y, norm="l2", depth=2, init_scale=1e-2, steps=10_000, lr=0.1, normalized=False,
                     schedule="constant", loss="exp", eps=0.0, attack="linf", checkpoints=60,
                     max_lr=math.inf, decay=0.0) -> SteepestRun:
    """Steepest descent w.r.t. ``norm`` on the parameters (u, v) of the depth-D diagonal net ``w = u^D - v^D``.

    Initialisation ``u_0 = v_0 = init_scale / sqrt(2 d)`` (so ``w_0 = 0``). The norm acts on the concatenated
    ``theta = (u, v)``; margins in the algorithm's norm are normalised by ``||theta||^D`` (D-homogeneity), predictor
    margins by norms of w. Expected limits (spec margins §3.3): GD -> l_{2/D} (D = 2: the l1 max margin), sign
    descent -> linf, coordinate descent -> sparse KKT points. Other parameters as :func:`steepest_descent`.
    """
    Z, _ = _prepare(X, y)
    d = Z.shape[2]
    depth = V.integer("depth", depth, low=1)
    init_scale = V.positive("init_scale", init_scale)
    theta0 = np.full(2 * d, init_scale / math.sqrt(2 * d))
    return _simulate(X, y, model=1, depth=depth, norm=norm, steps=steps, lr=lr, normalized=normalized,
                     schedule=schedule, loss=loss, eps=eps, attack=attack, theta0=theta0, checkpoints=checkpoints,
                     max_lr=max_lr, decay=decay)
