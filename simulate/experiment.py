"""``simulate.erm``: finite-d robust ERM at one point, repeated over seeds — the twin of ``asymptotics.solve``.

Per seed (independent streams for teacher, training set and test set, :mod:`simulate.streams`):

1. draw theta, the training set (n = round(alpha d)) and a test set (n_test) from the Gaussian model
   (:mod:`simulate.data`);
2. minimise ``sum_i l(y_i w.x_i/sqrt(d) - eps A(w)) + lam R(w)`` (:mod:`simulate.solvers`, certificate checked);
3. measure the overlaps ``m = w^T Sigma_x theta/d``, ``q = w^T Sigma_x w/d``, ``P = Attack.functional(w)``
   (and ``P_test`` for the test attack), the training loss ``mean_i l(u_i)`` and robust training error
   ``mean_i [u_i < 0]`` at the robust margins u_i;
4. test errors twice: Monte-Carlo on the test set with the worst-case perturbation (:mod:`simulate.perturbations`)
   — ``gen_error_mc``, ``adv_error_mc`` — and exactly for this (w, theta) from the Gaussian formulas of
   :mod:`asymptotics.metrics` at the measured overlaps (``rho_x = theta^T Sigma_x theta/d`` of the drawn teacher):
   ``gen_error``, ``adv_error = P(y omega < eps_test A_test(w))``, ``boundary_error``. For w = 0 both are 1/2
   (sign(0) as a coin flip, as in ``asymptotics``).

Seeds run through the sweep engine (:func:`asymptotics.map_points`): serially, on local joblib workers, or on a
Dask cluster, with an optional resumable on-disk cache of finished seeds.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from asymptotics import Problem, map_points, metrics
from asymptotics.engine import EXECUTORS
from asymptotics import validation as V
from asymptotics.errors import ConvergenceError, InvalidParameter

from . import data as D
from . import streams
from .objective import RobustObjective, product, smoothness
from .perturbations import robust_margins
from .solvers import resolve_solver, solve

OBSERVABLES = ("m", "q", "P", "P_test", "train_loss", "train_error", "gen_error", "adv_error", "boundary_error",
               "gen_error_mc", "adv_error_mc", "estimation_error", "rho_x", "positive_fraction")


@dataclass(frozen=True)
class ErmResult:
    """Mean and standard deviation (ddof = 1) over seeds of every observable, with per-seed values and diagnostics.

    Attributes
    ----------
    point : dict
        The point (as for :func:`asymptotics.solve`).
    d, n, n_test : int
        Dimension, training-set size ``round(alpha d)`` and Monte-Carlo test points per seed.
    seeds : tuple of int
        The seed indices.
    mean, std : dict
        Observable name (:data:`simulate.OBSERVABLES`) -> mean and standard deviation over seeds (ddof = 1; NaN
        for one seed). Errors are probabilities in [0, 1]; ``boundary_error = adv_error - gen_error``.
    per_seed : tuple of dict
        Every observable and the solver diagnostics of each seed.
    seconds : float
        Wall time of the whole call.

    Examples
    --------
    >>> import simulate
    >>> r = simulate.erm(alpha=0.5, eps=0.1, lam=0.1, d=100, seeds=3)
    >>> r.seeds, r.n
    ((0, 1, 2), 50)
    >>> bool(0.0 <= r.mean["adv_error"] <= 1.0)
    True
    """

    point: dict
    d: int
    n: int
    n_test: int
    seeds: tuple
    mean: dict
    std: dict
    per_seed: tuple = field(repr=False)
    seconds: float = 0.0

    def sem(self, name: str) -> float:
        """Standard error of the mean of one observable."""
        return self.std[name] / math.sqrt(len(self.seeds))

    def to_frame(self, summary: bool = False):
        """The per-seed values as a ``pandas.DataFrame`` (needs the ``tables`` extra).

        Parameters
        ----------
        summary : bool, default False
            False: one row per seed (index ``seed``), one column per observable and numeric solver diagnostic.
            True: one row per observable (index ``observable``), columns ``mean``, ``std`` (over seeds, ddof = 1)
            and ``sem`` (standard error of the mean, ``std / sqrt(seeds)``).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import simulate
        >>> r = simulate.erm(alpha=0.5, eps=0.1, lam=0.1, d=100, seeds=3)
        >>> r.to_frame().shape
        (3, 20)
        >>> s = r.to_frame(summary=True)
        >>> bool(abs(s.loc["adv_error", "mean"] - r.mean["adv_error"]) < 1e-15)
        True
        """
        from asymptotics.tables import require

        pd = require("pandas")
        if summary:
            return pd.DataFrame({"mean": [self.mean[k] for k in OBSERVABLES], "std": [self.std[k] for k in OBSERVABLES],
                                 "sem": [self.sem(k) for k in OBSERVABLES]},
                                index=pd.Index(list(OBSERVABLES), name="observable"))
        return pd.DataFrame({k: self._seed_column(k) for k in self._seed_fields()},
                            index=pd.Index(list(self.seeds), name="seed"))

    def to_xarray(self):
        """The per-seed values as an ``xarray.Dataset`` on the dimension ``seed`` (needs the ``tables`` extra).

        Returns
        -------
        xarray.Dataset
            One data variable per observable and numeric solver diagnostic, over ``seed``; attributes ``d``, ``n``,
            ``n_test`` and ``point`` (JSON). ``ds.mean("seed")`` and ``ds.std("seed", ddof=1)`` give
            :attr:`mean` and :attr:`std`.

        Examples
        --------
        >>> import simulate
        >>> ds = simulate.erm(alpha=0.5, eps=0.1, lam=0.1, d=100, seeds=3).to_xarray()
        >>> ds["adv_error"].dims, ds.sizes["seed"]
        (('seed',), 3)
        """
        from asymptotics.tables import json_attr, require

        xr = require("xarray")
        data = {k: (("seed",), self._seed_column(k)) for k in self._seed_fields()}
        attrs = {"d": self.d, "n": self.n, "n_test": self.n_test, "point": json_attr(self.point),
                 "seconds": float(self.seconds)}
        return xr.Dataset(data, coords={"seed": np.asarray(self.seeds, dtype=np.int64)}, attrs=attrs)

    def _seed_fields(self) -> list:
        from asymptotics.tables import scalar_fields

        return [k for k in scalar_fields(list(self.per_seed)) if k != "seed"]

    def _seed_column(self, key: str) -> np.ndarray:
        from asymptotics.tables import column

        return column(list(self.per_seed), key)

    def to_dict(self) -> dict:
        return asdict(self)

    def __repr__(self) -> str:
        rows = "\n".join(f"  {k:<17} {self.mean[k]: .6g} +- {self.std[k]:.3g}" for k in OBSERVABLES)
        rows = (f"  {'observable':<17} mean +- std over {len(self.seeds)} seeds (ddof=1; sem = std/sqrt(seeds)); "
                f"errors are probabilities\n" + rows)
        solvers = sorted({s["solver"] for s in self.per_seed})
        worst = max(s["certificate"] for s in self.per_seed)
        return (f"ErmResult({self.point}, d={self.d}, n={self.n}, n_test={self.n_test}, seeds={len(self.seeds)})\n"
                f"{rows}\n  solver {', '.join(solvers)}; worst certificate {worst:.2e}; {self.seconds:.2f} s")


def _seeds(seeds) -> tuple:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        n = V.integer("seeds", seeds, low=1)
        return tuple(range(n))
    try:
        out = tuple(V.integer("seeds", s, low=0) for s in seeds)
    except TypeError:
        raise InvalidParameter("seeds", f"expected a count or a list of seed indices, got {seeds!r}") from None
    if not out or len(set(out)) != len(out):
        raise InvalidParameter("seeds", f"expected distinct seed indices, got {seeds!r}")
    return out


def run_seed(pb: Problem, d: int, n: int, n_test: int, seed: int, *, solver="auto", tol=1e-8,
             base=streams.DEFAULT_BASE) -> dict:
    """One repetition: observables and solver diagnostics (see the module docstring)."""
    theta = D.gaussian_teacher(pb, d, streams.generator(seed, "teacher", base))
    train = D.gaussian_sample(pb, theta, n, streams.generator(seed, "train", base))
    obj = RobustObjective(pb, train.X, train.y)
    sol = solve(obj, solver=solver, tol=tol)
    w = sol.w
    cov = D._covariance(pb.data.cov_x, d)
    Sw = cov * w if cov.ndim == 1 else cov @ w
    m, q = float(Sw @ theta) / d, float(Sw @ w) / d
    rho_x = D.teacher_field_variance(pb, theta)
    tau = pb.data.tau
    u = obj.margins(w)
    test = D.gaussian_sample(pb, theta, n_test, streams.generator(seed, "test", base))
    field_w = product(test.X, w) / math.sqrt(d)
    gen_mc = float(np.mean(test.y * field_w <= 0))
    adv_mc = float(np.mean(robust_margins(pb.attack_test, w, field_w, test.y, pb.eps_test) <= 0))
    test_shift = pb.eps_test * pb.attack_test.margin_shift(w) if pb.eps_test > 0 else 0.0
    if q > 0:
        gen = metrics.gen_error(m, q, rho_x, tau)
        adv = metrics.adv_error(m, q, test_shift, rho_x, tau)
    else:                                      # collapsed solution w = 0 (convention: sign(0) is a coin flip)
        gen, adv = 0.5, 0.5
    out = dict(seed=seed, m=m, q=q, P=pb.attack.functional(w), P_test=pb.attack_test.functional(w),
               train_loss=float(np.mean(pb.loss.value(u))), train_error=float(np.mean(u < 0)),
               gen_error=gen, adv_error=adv, boundary_error=adv - gen, gen_error_mc=gen_mc, adv_error_mc=adv_mc,
               estimation_error=metrics.estimation_error(m, q, rho_x), rho_x=rho_x,
               positive_fraction=train.positive_fraction)
    out.update(sol.diagnostics())
    return out


def _seed_task(task: dict) -> dict:
    """One seed as an engine task (module level, so that worker processes can unpickle it)."""
    pb = Problem.from_point(**task["point"])
    return run_seed(pb, task["d"], task["n"], task["n_test"], task["seed"], solver=task["solver"], tol=task["tol"],
                    base=task["base"])


def check_arguments(point: dict, *, d, seeds, n_test, solver, tol, base, n_jobs, executor, progress) -> tuple:
    """Validate every argument of :func:`erm` without doing any work (also used by ``simulate.compare``).

    Returns ``(problem, d, seed indices, n, n_test, tol, base, n_jobs)``; raises ``InvalidParameter``.
    """
    pb = Problem.from_point(**point)
    d = D.check_dimension(pb, d)
    seed_list = _seeds(seeds)
    n = max(1, int(round(pb.alpha * d)))
    n_test = max(2000, d) if n_test is None else V.integer("n_test", n_test, low=1)
    tol = V.positive("tol", tol)
    base = V.integer("base", base, low=0)
    resolve_solver(solver, *smoothness(pb))         # unknown solver or one unfit for the problem
    n_jobs = V.integer("n_jobs", n_jobs, low=1)
    V.choice("executor", executor, EXECUTORS)
    if not isinstance(progress, (bool, type(None))):
        raise InvalidParameter("progress", f"must be True, False or None, got {progress!r}")
    return pb, d, seed_list, n, n_test, tol, base, n_jobs


def erm(alpha, eps, lam, attack="linf", reg="l2", loss="logistic", data=None, eps_test=None, attack_test=None, *,
        d: int = 1000, seeds=5, n_test: int | None = None, solver: str = "auto", tol: float = 1e-8,
        base: int = streams.DEFAULT_BASE, n_jobs: int = 1, executor: str = "joblib", address=None, cache=None,
        progress=False) -> ErmResult:
    """Finite-d robust regularized ERM at one point, over several seeds.

    Parameters
    ----------
    alpha, eps, lam, attack, reg, loss, data, eps_test, attack_test
        The point, exactly as for :func:`asymptotics.solve` (conventions: ``docs/conventions.md``).
    d : int
        Dimension; n = round(alpha d). Spectra of length k need k | d.
    seeds : int or sequence of int
        A count (seeds 0..k-1) or explicit seed indices; each seed has its own teacher, train and test streams.
    n_test : int, optional
        Monte-Carlo test points per seed (default max(2000, d)).
    solver : "auto" | "lbfgs" | "fista" | "clarabel" | "scs"
    tol : certificate tolerance of every solve (relative KKT residual)
    base : root entropy of the streams
    n_jobs, executor, address : seeds in parallel (see :mod:`asymptotics.engine`: "serial", "joblib" processes, or
        "dask" with a scheduler address or Client); the numbers do not depend on them
    cache : str or path, optional
        Folder of the resumable cache of finished seeds (None: no cache).
    progress : bool, default False
        Show a progress bar.

    Returns
    -------
    ErmResult
        Mean and standard deviation over seeds (ddof = 1) of every observable (errors are probabilities in [0, 1]),
        with the per-seed values; ``.to_frame()`` / ``.to_xarray()`` give them as tables.

    Raises
    ------
    InvalidParameter : bad input, before any work: the point, d, seeds, n_test, tol, base, an unknown solver or one
        unfit for the problem (L-BFGS or FISTA with the hinge loss, L-BFGS with a non-smooth attack or regularizer),
        n_jobs, executor. ConvergenceError : a solve missed its certificate.

    Examples
    --------
    >>> r = erm(alpha=0.5, eps=0.3, lam=0.05, attack="linf", reg="l2", d=200, seeds=2)
    >>> sorted(r.mean)[:3]
    ['P', 'P_test', 'adv_error']
    """
    pb, d, seed_list, n, n_test, tol, base, n_jobs = check_arguments(
        dict(alpha=alpha, eps=eps, lam=lam, attack=attack, reg=reg, loss=loss, data=data, eps_test=eps_test,
             attack_test=attack_test), d=d, seeds=seeds, n_test=n_test, solver=solver, tol=tol, base=base,
        n_jobs=n_jobs, executor=executor, progress=progress)
    start = time.perf_counter()
    point = dict(alpha=alpha, eps=eps, lam=lam, attack=attack, reg=reg, loss=loss, data=data, eps_test=eps_test,
                 attack_test=attack_test)
    tasks = [dict(point=point, d=d, n=n, n_test=n_test, seed=s, solver=solver, tol=tol, base=base) for s in seed_list]
    records = map_points(_seed_task, tasks, jobs=n_jobs, executor=executor, address=address, cache=cache,
                         progress=progress, desc="seeds")
    failed = [r for r in records if not r["ok"]]
    if failed:
        raise ConvergenceError(f"{len(failed)} of {len(records)} seeds failed; first: {failed[0]['error']}",
                               hint="see the solver diagnostics; a smaller tol or another solver may help")
    rows = [r["result"] for r in records]
    table = {k: np.array([r[k] for r in rows], dtype=np.float64) for k in OBSERVABLES}
    mean = {k: float(v.mean()) for k, v in table.items()}
    std = {k: float(v.std(ddof=1)) if v.size > 1 else math.nan for k, v in table.items()}
    return ErmResult(pb.point(), d, n, n_test, seed_list, mean, std, tuple(rows), time.perf_counter() - start)
