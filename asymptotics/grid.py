"""Grid sweeps of the fixed point over several axes, parallel and resumable.

``grid_sweep(axes={"alpha": [...], "eps": [...], "r": [1, 2]}, continuation="alpha", attack="linf", lam=0.01)``
solves every point of the product grid. Points along the ``continuation`` axis form a chain solved in order with
warm starts (alpha and lam downward, eps upward, r downward); chains run in parallel (see ``engine``). With
``cache=DIR`` every finished point is written at once (atomically) keyed by its parameters and the package
version, so an interrupted sweep loses nothing and a re-run computes only what is missing. A point that fails is
recorded with its error and the sweep goes on; ``GridResult.summary()`` says what failed.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from .cache import PointCache, package_version, prepare_folder
from .engine import run_tasks
from .errors import ConvergenceError, InvalidParameter
from .fixed_point import solve

AXES = ("alpha", "eps", "lam", "r", "eps_test")
_DESCENDING = {"alpha": True, "lam": True, "r": True, "eps": False, "eps_test": False}
_SOLVER_OPTIONS = ("tol", "max_iter", "blend", "anderson")


@dataclass(frozen=True)
class GridResult:
    """One record per grid point, in the order of ``itertools.product`` over the axes as given."""

    axes: dict
    records: list
    cached: int = 0                       # points read from the cache instead of solved
    failures: list = field(default_factory=list)

    def column(self, name: str) -> np.ndarray:
        return np.array([r["result"][name] if r["ok"] else np.nan for r in self.records], dtype=np.float64)

    def grid(self, name: str) -> np.ndarray:
        """``column(name)`` reshaped to the grid (one dimension per axis, in the order given)."""
        return self.column(name).reshape([len(v) for v in self.axes.values()])

    def to_records(self) -> list[dict]:
        rows = []
        for r in self.records:
            row = dict(r["params"])
            if r["ok"]:
                row.update({k: v for k, v in r["result"].items() if k != "point"})
            else:
                row["error"] = r["error"]
            rows.append(row)
        return rows

    def to_frame(self):
        import pandas as pd  # optional dependency

        return pd.DataFrame.from_records(self.to_records())

    def to_dict(self) -> dict:
        return {"axes": {k: list(v) for k, v in self.axes.items()}, "records": self.to_records(),
                "cached": self.cached, "failures": self.failures}

    def summary(self) -> str:
        text = f"{len(self.records)} points: {len(self.records) - len(self.failures)} solved"
        text += f" ({self.cached} from cache), {len(self.failures)} failed"
        for f in self.failures[:10]:
            text += f"\n  {f['params']}: {f['error'][:120]}"
        return text


def _solve_args(params: dict, options: dict) -> dict:
    args = {k: v for k, v in params.items() if k != "r"}
    if "r" in params:
        args["reg"] = f"l{params['r']:.12g}"
    return {**args, **options}


def solve_chain(task) -> list[dict]:
    """Solve the points of one chain in order with warm starts; read/write the cache point by point."""
    points, options, cache_folder, version = task
    cache = PointCache(cache_folder, version) if cache_folder else None
    state = None
    records = []
    for params in points:
        record = cache.get(params) if cache else None
        if record is not None:
            record = dict(record, cached=True)
        else:
            try:
                try:
                    fp = solve(**_solve_args(params, options), init=state)
                except ConvergenceError:
                    if state is None:
                        raise
                    fp = solve(**_solve_args(params, options))          # retry cold
                record = {"params": params, "ok": True, "result": fp.to_dict(), "error": None}
                if cache:
                    cache.put(params, record)
            except (ConvergenceError, FloatingPointError) as exc:
                record = {"params": params, "ok": False, "result": None, "error": f"{type(exc).__name__}: {exc}"}
            record = dict(record, cached=False)
        if record["ok"]:
            res = record["result"]
            state = None if res.get("trivial") else (res["m"], res["q"], res["V"], res["P"])
        records.append(record)
    return records


def grid_sweep(axes: dict, *, continuation: str | None = "alpha", jobs: int = 1, executor: str = "joblib",
               address=None, cache=None, progress=None, solver_options: dict | None = None,
               **fixed) -> GridResult:
    """Solve the fixed point on the product grid of ``axes`` (see the module docstring).

    Parameters
    ----------
    axes : dict name -> sequence of values, names in ("alpha", "eps", "lam", "r", "eps_test")
    continuation : the axis solved in order with warm starts (None: every point cold, one task each)
    jobs, executor, address : see ``asymptotics.engine``
    cache : folder for the resumable point cache (None: no cache)
    solver_options : tol, max_iter, blend, anderson passed to ``solve``
    fixed : the remaining point parameters (attack, reg, loss, data, ...), JSON-serialisable
    """
    if not axes:
        raise InvalidParameter("axes", "give at least one axis")
    for name, values in axes.items():
        if name not in AXES:
            raise InvalidParameter("axes", f"unknown axis {name!r}; choose from {AXES}")
        if name in fixed:
            raise InvalidParameter(name, "is an axis: do not also pass it as a fixed parameter")
        if len(values) == 0:
            raise InvalidParameter(name, "axis has no values")
    if "r" in axes and "reg" in fixed:
        raise InvalidParameter("reg", "the r axis sets the regularizer: do not pass reg")
    if continuation is not None and continuation not in axes:
        raise InvalidParameter("continuation", f"must be one of the axes {list(axes)} or None")
    options = dict(solver_options or {})
    unknown = set(options) - set(_SOLVER_OPTIONS)
    if unknown:
        raise InvalidParameter("solver_options", f"unknown {sorted(unknown)}; allowed {_SOLVER_OPTIONS}")
    axes = {k: [float(v) for v in vals] for k, vals in axes.items()}
    names = list(axes)
    grid_points = [dict(zip(names, combo)) for combo in itertools.product(*axes.values())]
    version = package_version()
    folder = prepare_folder(cache, version)
    # chains: group by every axis but the continuation one; order along it in the easy direction
    chains: dict[tuple, list[int]] = {}
    for i, p in enumerate(grid_points):
        key = tuple((k, v) for k, v in p.items() if k != continuation) if continuation else (i,)
        chains.setdefault(key, []).append(i)
    tasks, order = [], []
    for idx in chains.values():
        if continuation:
            idx = sorted(idx, key=lambda i: grid_points[i][continuation], reverse=_DESCENDING[continuation])
        tasks.append(([{**fixed, **grid_points[i]} for i in idx], options, folder, version))
        order.append(idx)
    results = run_tasks(solve_chain, tasks, jobs=jobs, executor=executor, address=address, progress=progress,
                        desc="grid sweep")
    records = [None] * len(grid_points)
    for idx, chain_records in zip(order, results):
        for i, rec in zip(idx, chain_records):
            records[i] = rec
    failures = [{"params": r["params"], "error": r["error"]} for r in records if not r["ok"]]
    cached = sum(1 for r in records if r.get("cached"))
    return GridResult(axes, records, cached, failures)
