"""The price of implicit bias in robust generalization (Tsilivis et al., NeurIPS 2024), at finite d.

For each training-set size m and seed: draw a training set from a fixed teacher (sparse or dense teacher, sparse or
dense inputs: :mod:`simulate.data`), compute the robust separability radius eps*(S) exactly (the l1 max margin, an
LP: :func:`asymptotics.robust_separability_radius`), and for eps = fraction * eps*(S) train on the EXACT
linf-robust exponential loss ``sum_i exp(-(y_i <w, x_i> - eps ||w||_1))`` (the public code trains the clean loss):

* ``gd``   gradient descent (l2 steepest descent), step ``1 / ((max_i ||x_i||_2 + eps sqrt(d))^2 L_t)``;
* ``cd``   greedy coordinate descent (l1 steepest descent), step ``1 / ((max_i ||x_i||_inf + eps)^2 L_t)``;
* ``diag`` GD on the depth-2 diagonal network ``u^2 - v^2`` from ``u_0 = v_0 = 1e-3 / sqrt(2d)``, normalised steps
  of constant size 0.05 (loss-normalised steps make the parameters grow exponentially and overflow within 1e4
  steps on these data; normalised steps reach 98% of the l1 max margin in 2e4 steps).

The robust generalization gap is robust train accuracy minus robust test accuracy, both with the exact linf attack
(a point is robustly correct iff ``y <w, x> - eps ||w||_1 > 0``). Next to it: the empirical robust Rademacher
bound of the trained predictor's class (W = 1 / normalised robust margin, :func:`asymptotics.rademacher_bound`).
Randomness: teacher and test set from stream ("teacher"/"test", base), training sets from (seed, m).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from asymptotics import InvalidParameter, map_points, rademacher_bound, robust_separability_radius
from asymptotics import validation as V

from . import data as D
from . import streams
from .steepest import diagonal_descent, steepest_descent

SETTINGS = {
    "sparse_teacher_dense_data": ("sparse", "dense"),
    "dense_teacher_dense_data": ("dense", "dense"),
    "sparse_teacher_sparse_data": ("sparse", "sparse"),
    "dense_teacher_sparse_data": ("dense", "sparse"),
}
ALGORITHMS = ("gd", "cd", "diag")


def _teacher(kind, d, k_w, rng):
    return D.sparse_teacher(d, k_w, rng) if kind == "sparse" else rng.normal(size=d)


def _inputs(kind, w_star, n, k_x, rng):
    if kind == "dense":
        X = rng.normal(size=(n, w_star.size))
        field = X @ w_star
        return X, np.where(field > 0, 1.0, -1.0)            # ties (measure zero here) get -1 as in the spec
    ds = D.sparse_sample(w_star, n, k_x, rng)
    return ds.X, ds.y


def robust_accuracy(w, X, y, eps) -> float:
    """Fraction of points with a positive robust margin y <w, x> - eps ||w||_1 (exact linf attack)."""
    return float(np.mean(y * (X @ w) - eps * np.abs(w).sum() > 0))


def _train(algorithm, X, y, eps, steps):
    d = X.shape[1]
    if algorithm == "gd":
        B = float(np.linalg.norm(X, axis=1).max()) + eps * math.sqrt(d)
        run = steepest_descent(X, y, norm="l2", steps=steps, lr=1.0 / B ** 2, schedule="loss_scaled", loss="exp",
                               eps=eps, attack="linf", checkpoints=[steps], max_lr=1e5)
    elif algorithm == "cd":
        B = float(np.abs(X).max()) + eps
        run = steepest_descent(X, y, norm="l1", steps=steps, lr=1.0 / B ** 2, schedule="loss_scaled", loss="exp",
                               eps=eps, attack="linf", checkpoints=[steps], max_lr=1e5)
    else:
        run = diagonal_descent(X, y, norm="l2", depth=2, init_scale=1e-3, steps=steps, lr=0.05, normalized=True,
                               schedule="constant", loss="exp", eps=eps, attack="linf", checkpoints=[steps])
    return run.w[-1], float(run.stats["log_loss"][-1])


def _task(params: dict) -> dict:
    """One (seed, m) cell: eps*(S), then every (eps fraction, algorithm) run; returns plain numbers."""
    t_kind, x_kind = SETTINGS[params["setting"]]
    d, m, base = params["d"], params["m"], params["base"]
    w_star = _teacher(t_kind, d, params["k_w"], streams.generator(0, "teacher", base))
    X_test, y_test = _inputs(x_kind, w_star, params["n_test"], params["k_x"], streams.generator(0, "test", base))
    X, y = _inputs(x_kind, w_star, m, params["k_x"], streams.generator(params["seed"] * 100_003 + m, "train", base))
    eps_star = robust_separability_radius(X, y, attack="linf")
    out = {"eps_star": eps_star, "positive_fraction": float(np.mean(y > 0)), "runs": []}
    for frac in params["eps_fractions"]:
        eps = frac * eps_star
        for algorithm in params["algorithms"]:
            w, log_loss = _train(algorithm, X, y, eps, params["steps"])
            train_acc, test_acc = robust_accuracy(w, X, y, eps), robust_accuracy(w, X_test, y_test, eps)
            row = dict(eps_fraction=frac, eps=eps, algorithm=algorithm, robust_train_acc=train_acc,
                       robust_test_acc=test_acc, gap=train_acc - test_acc,
                       clean_gap=robust_accuracy(w, X, y, 0.0) - robust_accuracy(w, X_test, y_test, 0.0),
                       log_loss=log_loss)
            for r in (1.0, 2.0):
                margin = float(np.min(y * (X @ w)) - eps * np.abs(w).sum()) / float(np.linalg.norm(w, ord=r))
                row[f"robust_margin_l{r:g}"] = margin
                row[f"bound_l{r:g}"] = (rademacher_bound(X, y, r=r, p="linf", eps=eps, W=1.0 / margin).robust_upper
                                        if margin > 0 else math.inf)
            out["runs"].append(row)
    return out


@dataclass(frozen=True)
class PriceOfBias:
    """Per (m, seed) cells of the experiment, with helpers to aggregate gaps."""

    params: dict
    cells: list = field(repr=False)

    def table(self, key: str = "gap") -> dict:
        """{(algorithm, eps_fraction): (m values, mean over seeds, std over seeds)} of one recorded quantity."""
        out = {}
        ms = sorted({c["m"] for c in self.cells})
        for alg in self.params["algorithms"]:
            for frac in self.params["eps_fractions"]:
                vals = [[r[key] for c in self.cells if c["m"] == m for r in c["runs"]
                         if r["algorithm"] == alg and r["eps_fraction"] == frac] for m in ms]
                out[(alg, frac)] = (ms, [float(np.mean(v)) for v in vals], [float(np.std(v)) for v in vals])
        return out

    def benefit(self, other: str = "gd", better: str = "cd") -> dict:
        """Mean over m and seeds of gap(other) - gap(better), per eps fraction (the 'benefit of CD over GD')."""
        res = {}
        for frac in self.params["eps_fractions"]:
            diffs = []
            for c in self.cells:
                g = {r["algorithm"]: r["gap"] for r in c["runs"] if r["eps_fraction"] == frac}
                diffs.append(g[other] - g[better])
            res[frac] = float(np.mean(diffs))
        return res

    def to_dict(self) -> dict:
        return {"params": self.params, "cells": self.cells}

    def regularizer_preference(self) -> list[dict]:
        """Per (m, eps fraction): which class the empirical bounds favour (mean over seeds of the bound of the GD run
        in l2 vs the CD run in l1) and which r in {1, 2} the exact asymptotics favour (robust error at the optimal
        lambda, :func:`asymptotics.optimal_reg_order`) at alpha = m/d and eps_asym = eps sqrt(d) (the asymptotic
        attack is ||delta||_inf <= eps_asym / sqrt(d)). The asymptotic model has a dense Gaussian teacher and data."""
        from asymptotics import optimal_reg_order

        d = self.params["d"]
        rows = []
        for m in sorted({c["m"] for c in self.cells}):
            for frac in self.params["eps_fractions"]:
                runs = [r for c in self.cells if c["m"] == m for r in c["runs"] if r["eps_fraction"] == frac]
                b1 = float(np.mean([r["bound_l1"] for r in runs if r["algorithm"] == "cd"]))
                b2 = float(np.mean([r["bound_l2"] for r in runs if r["algorithm"] == "gd"]))
                eps = float(np.mean([r["eps"] for r in runs]))
                opt = optimal_reg_order(r_values=[1.0, 2.0], refine=False, alpha=m / d, eps=eps * math.sqrt(d),
                                        attack="linf", lam_bounds=(1e-4, 10.0))
                rows.append(dict(m=m, eps_fraction=frac, eps=eps, bound_l1_cd=b1, bound_l2_gd=b2,
                                 bounds_favour=1.0 if b1 < b2 else 2.0, asymptotics_favour=opt.r_star,
                                 asymptotic_errors=opt.values.tolist()))
        return rows


def price_of_implicit_bias(setting="sparse_teacher_dense_data", *, d=256, m_values=(32, 64, 128, 256),
                           eps_fractions=(0.0, 0.25, 0.5), algorithms=ALGORITHMS, seeds=3, k_w=16, k_x=4,
                           steps=20_000, n_test=20_000, base=streams.DEFAULT_BASE, jobs=1, executor="joblib",
                           address=None, cache=None, progress=False) -> PriceOfBias:
    """Run the robust-generalization-gap experiment (see the module docstring) on the sweep engine."""
    if setting not in SETTINGS:
        raise InvalidParameter("setting", f"must be one of {sorted(SETTINGS)}, got {setting!r}")
    d = V.integer("d", d, low=2)
    ms = [V.integer("m_values", m, low=2) for m in m_values]
    fracs = [V.real("eps_fractions", f, low=0.0, high=1.0, high_open=True) for f in eps_fractions]
    algs = list(algorithms)
    bad = [a for a in algs if a not in ALGORITHMS]
    if bad or not algs:
        raise InvalidParameter("algorithms", f"choose from {ALGORITHMS}, got {algorithms!r}")
    seeds = V.integer("seeds", seeds, low=1)
    params = dict(setting=setting, d=d, k_w=float(k_w), k_x=float(k_x), eps_fractions=fracs, algorithms=algs,
                  steps=V.integer("steps", steps, low=1), n_test=V.integer("n_test", n_test, low=1), base=int(base))
    tasks = [dict(params, m=m, seed=s) for m in ms for s in range(seeds)]
    records = map_points(_task, tasks, jobs=jobs, executor=executor, address=address, cache=cache,
                         progress=progress, desc="price of implicit bias")
    failed = [r for r in records if not r["ok"]]
    if failed:
        raise RuntimeError(f"{len(failed)} cells failed; first: {failed[0]['error']}")
    cells = [dict(m=r["params"]["m"], seed=r["params"]["seed"], **r["result"]) for r in records]
    return PriceOfBias(dict(params, m_values=ms, seeds=seeds), cells)
