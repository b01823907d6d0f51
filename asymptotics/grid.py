"""Grid sweeps of the fixed point over several axes, parallel and resumable.

``grid_sweep(axes={"alpha": [...], "eps": [...], "r": [1, 2]}, continuation="alpha", attack="linf", lam=0.01)``
solves every point of the product grid. Points along the ``continuation`` axis form a chain solved in order with
warm starts (alpha and lam downward, eps upward, r downward); chains run in parallel (see ``engine``). With
``cache=DIR`` every finished point is written at once (atomically) keyed by its parameters and a fingerprint of
the numerical code (``cache.code_version``), so an interrupted sweep loses nothing, a re-run computes only what is
missing, and changed code never reuses old numbers. Every point is validated before any worker starts (bad input
raises the same ``InvalidParameter`` serially and in parallel). A point that fails to converge is recorded with its
error and the sweep goes on; ``GridResult.summary()`` says what failed.
"""
from __future__ import annotations

import inspect
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from . import validation as V
from .cache import PointCache, code_version, prepare_folder
from .engine import EXECUTORS, capture_warnings, reissue_warnings, run_tasks
from .errors import ConvergenceError, InvalidParameter
from .fixed_point import solve
from .problem import Problem

AXES = ("alpha", "eps", "lam", "r", "eps_test")
_DESCENDING = {"alpha": True, "lam": True, "r": True, "eps": False, "eps_test": False}
_SOLVER_OPTIONS = ("tol", "max_iter", "blend", "anderson")
#: the largest grid a sweep accepts (checked before anything is allocated)
MAX_POINTS = 1_000_000
_POINT_KEYS = tuple(inspect.signature(Problem.from_point).parameters)
# other keywords of solve() a fixed parameter may set (init comes from the chain)
_EXTRA_KEYS = tuple(k for k in inspect.signature(solve).parameters if k not in _POINT_KEYS and k != "init")


@dataclass(frozen=True)
class GridResult:
    """One record per point of a product grid, in the order of ``itertools.product`` over the axes as given.

    Attributes
    ----------
    axes : dict
        Axis name -> list of values, in the order given to :func:`grid_sweep`.
    records : list of dict
        ``{"params", "ok", "result", "error", "cached"}`` per point; ``result`` is :meth:`FixedPoint.to_dict`.
    cached : int
        Points read from the cache instead of solved.
    failures : list of dict
        ``{"params", "error"}`` for every failed point.

    Examples
    --------
    >>> import asymptotics
    >>> g = asymptotics.grid_sweep({"alpha": [0.5, 2.0], "eps": [0.0, 0.2]}, lam=0.1)
    >>> g.grid("adv_error").round(3).tolist()
    [[0.324, 0.387], [0.185, 0.254]]
    """

    axes: dict
    records: list
    cached: int = 0                       # points read from the cache instead of solved
    failures: list = field(default_factory=list)

    def column(self, name: str) -> np.ndarray:
        """One output of every point (e.g. "adv_error"), in record order, NaN where a point failed."""
        return np.array([r["result"][name] if r["ok"] else np.nan for r in self.records], dtype=np.float64)

    def grid(self, name: str) -> np.ndarray:
        """``column(name)`` reshaped to the grid (one dimension per axis, in the order given)."""
        return self.column(name).reshape([len(v) for v in self.axes.values()])

    def to_records(self) -> list[dict]:
        """One flat dict per point: its axis values, then the fields of its result (or ``error`` if it failed)."""
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
        """The records as a ``pandas.DataFrame``, one row per grid point (needs the ``tables`` extra).

        Returns
        -------
        pandas.DataFrame
            Columns: the point's parameters (axes and fixed ones), then the fields of :meth:`FixedPoint.to_dict`;
            a failed point has NaN there and its ``error`` text.

        Examples
        --------
        >>> import asymptotics
        >>> g = asymptotics.grid_sweep({"alpha": [0.5, 2.0]}, eps=0.2, lam=0.1)
        >>> g.to_frame()[["alpha", "gen_error", "adv_error"]].round(3)
           alpha  gen_error  adv_error
        0    0.5      0.325      0.387
        1    2.0      0.189      0.254
        """
        from .tables import require

        return require("pandas").DataFrame.from_records(self.to_records())

    def to_xarray(self):
        """The numeric outputs as an ``xarray.Dataset`` with one dimension per axis (needs the ``tables`` extra).

        Returns
        -------
        xarray.Dataset
            Coordinates: the axes (values as given); one data variable per scalar field of :class:`FixedPoint`
            shaped like the grid (NaN where a point failed), plus ``ok`` and ``cached`` (bool); attributes ``cached``
            (count) and ``failures`` (JSON).

        Examples
        --------
        >>> import asymptotics
        >>> ds = asymptotics.grid_sweep({"alpha": [0.5, 2.0], "eps": [0.0, 0.2]}, lam=0.1).to_xarray()
        >>> ds["adv_error"].dims
        ('alpha', 'eps')
        >>> round(float(ds["adv_error"].sel(alpha=2.0, eps=0.2)), 3)
        0.254
        """
        from .tables import column, json_attr, require, scalar_fields

        xr = require("xarray")
        dims = tuple(self.axes)
        shape = tuple(len(v) for v in self.axes.values())
        rows = [{k: v for k, v in r["result"].items() if k != "point"} if r["ok"] else None for r in self.records]
        data = {k: (dims, column(rows, k).reshape(shape)) for k in scalar_fields(rows)}
        data["ok"] = (dims, np.array([bool(r["ok"]) for r in self.records]).reshape(shape))
        data["cached"] = (dims, np.array([bool(r.get("cached")) for r in self.records]).reshape(shape))
        coords = {k: np.asarray(v, dtype=np.float64) for k, v in self.axes.items()}
        attrs = {"cached": int(self.cached), "failures": json_attr(self.failures)}
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def to_dict(self) -> dict:
        """``{"axes", "records", "cached", "failures"}``: what ``robustbias grid --json`` prints."""
        return {"axes": {k: list(v) for k, v in self.axes.items()}, "records": self.to_records(),
                "cached": self.cached, "failures": self.failures}

    def summary(self, limit: int | None = None) -> str:
        """A count line, then one line per failure (its parameters and full error text with the hint);
        ``limit``: at most that many failure lines (None: all)."""
        text = f"{len(self.records)} points: {len(self.records) - len(self.failures)} solved"
        text += f" ({self.cached} from cache), {len(self.failures)} failed"
        shown = self.failures if limit is None else self.failures[:limit]
        for f in shown:
            text += f"\n  {f['params']}: {f['error']}"
        if len(shown) < len(self.failures):
            text += f"\n  ... and {len(self.failures) - len(shown)} more"
        return text


def _solve_args(params: dict, options: dict) -> dict:
    args = {k: v for k, v in params.items() if k != "r"}
    if "r" in params:
        args["reg"] = f"l{params['r']:.12g}"
    return {**args, **options}


def _check_options(solver_options) -> dict:
    options = dict(solver_options or {})
    unknown = set(options) - set(_SOLVER_OPTIONS)
    if unknown:
        raise InvalidParameter("solver_options", f"unknown {sorted(unknown)}; allowed {_SOLVER_OPTIONS}")
    if "tol" in options:
        V.positive("tol", options["tol"])
    if "max_iter" in options:
        V.integer("max_iter", options["max_iter"], low=1)
    if "blend" in options:
        V.real("blend", options["blend"], low=0.0, high=1.0, low_open=True)
    if "anderson" in options:
        V.integer("anderson", options["anderson"], low=0)
    return options


def _check_point(params: dict) -> None:
    """Raise the InvalidParameter that ``solve`` would raise on this point (without solving anything)."""
    args = _solve_args(params, {})
    if "r" in params:
        V.real("r", params["r"], low=1.0)
    Problem.from_point(**{k: v for k, v in args.items() if k in _POINT_KEYS})
    if "strategy" in args:
        V.choice("strategy", args["strategy"], ("auto", "continuation"))


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
                except (ConvergenceError, InvalidParameter):
                    if state is None:                                   # the point was validated: a cold
                        raise                                           # InvalidParameter is a real one
                    fp = solve(**_solve_args(params, options))          # a bad or failed warm start: retry cold
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


def _chain_task(task):
    return capture_warnings(solve_chain, task)


def grid_sweep(axes: dict, *, continuation: str | None = "alpha", jobs: int = 1, executor: str = "joblib",
               address=None, cache=None, progress=None, solver_options: dict | None = None,
               **fixed) -> GridResult:
    """Solve the fixed point on the product grid of ``axes`` (see the module docstring).

    Parameters
    ----------
    axes : dict
        Axis name -> sequence of values; names in ("alpha", "eps", "lam", "r", "eps_test") (r: the order of the
        regularizer l<r>).
    continuation : str or None, default "alpha"
        The axis solved in order with warm starts (None: every point cold, one task each).
    jobs : int, default 1
        Local worker processes (chains run in parallel).
    executor : {"serial", "joblib", "dask"}, default "joblib"
        Where the chains run (see :func:`asymptotics.map_points`).
    address : str or distributed.Client, optional
        The Dask scheduler.
    cache : str or path, optional
        Folder of the resumable point cache (None: no cache).
    progress : bool, optional
        Show a progress bar (None: when attached to a terminal).
    solver_options : dict, optional
        ``tol``, ``max_iter``, ``blend``, ``anderson`` passed to :func:`asymptotics.solve`.
    **fixed
        The remaining point parameters (``attack``, ``reg``, ``loss``, ``data``, ...), JSON-serialisable.

    Returns
    -------
    GridResult
        One record per point (errors are probabilities); failed points are recorded, not raised.

    Raises
    ------
    InvalidParameter : a bad axis, option or point (every point is checked before any work), or a grid of more
        than ``MAX_POINTS`` points, or an unusable cache folder.

    Examples
    --------
    >>> import asymptotics
    >>> g = asymptotics.grid_sweep({"alpha": [0.5, 2.0], "r": [1.0, 2.0]}, eps=0.2, lam=0.1, executor="serial")
    >>> g.summary()
    '4 points: 4 solved (0 from cache), 0 failed'
    >>> g.grid("adv_error").shape
    (2, 2)
    """
    if not isinstance(axes, dict) or not axes:
        raise InvalidParameter("axes", "give a dict with at least one axis")
    for name, values in axes.items():
        if name not in AXES:
            raise InvalidParameter("axes", f"unknown axis {name!r}; choose from {AXES}")
        if name in fixed:
            raise InvalidParameter(name, "is an axis: do not also pass it as a fixed parameter")
        try:
            count = len(values)
        except TypeError:
            raise InvalidParameter(name, f"axis values must be a sequence, got {type(values).__name__}") from None
        if count == 0:
            raise InvalidParameter(name, "axis has no values")
    size = math.prod(len(v) for v in axes.values())
    if size > MAX_POINTS:
        raise InvalidParameter("axes", f"the grid has {size} points, more than the limit {MAX_POINTS}; "
                                       "split it into several sweeps")
    if "r" in axes and "reg" in fixed:
        raise InvalidParameter("reg", "the r axis sets the regularizer: do not pass reg")
    if continuation is not None and continuation not in axes:
        raise InvalidParameter("continuation", f"must be one of the axes {list(axes)} or None")
    if executor not in EXECUTORS:
        raise InvalidParameter("executor", f"must be one of {EXECUTORS}, got {executor!r}")
    V.integer("jobs", jobs, low=1)
    options = _check_options(solver_options)
    unknown = sorted(set(fixed) - set(_POINT_KEYS) - set(_EXTRA_KEYS))
    if unknown:
        raise InvalidParameter(unknown[0], f"is not a parameter of a point; allowed {_POINT_KEYS + _EXTRA_KEYS}")
    _check_options({k: v for k, v in fixed.items() if k in _SOLVER_OPTIONS})
    axes = {k: [V.real(k, v, allow_inf=False) for v in vals] for k, vals in axes.items()}
    names = list(axes)
    grid_points = [dict(zip(names, combo)) for combo in itertools.product(*axes.values())]
    for p in grid_points:                          # every point, before any worker starts
        _check_point({**fixed, **p})
    version = code_version()
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
    results = run_tasks(_chain_task, tasks, jobs=jobs, executor=executor, address=address, progress=progress,
                        desc="grid sweep")
    records = [None] * len(grid_points)
    for idx, (chain_records, caught) in zip(order, results):
        reissue_warnings(caught)                   # e.g. a corrupt cache entry met by a worker
        for i, rec in zip(idx, chain_records):
            records[i] = rec
    failures = [{"params": r["params"], "error": r["error"]} for r in records if not r["ok"]]
    cached = sum(1 for r in records if r.get("cached"))
    return GridResult(axes, records, cached, failures)
