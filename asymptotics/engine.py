"""The sweep engine: run independent tasks serially, on local joblib (loky) workers, or on a Dask cluster.

A *task* is a picklable module-level function applied to one argument; the engine only schedules, shows progress
and collects results in input order. Theory sweeps send one task per continuation chain (the points along the
warm-started axis, solved in order inside one worker), so they parallelise across the other axes without losing
warm starts. Simulation and network sweeps send one task per point, with seeds from ``cache.seed_sequence``:
results never depend on the number of workers or the order of execution.

``executor``: "serial", "joblib" (default; ``jobs`` local processes) or "dask" (``address`` is a scheduler
address such as "tcp://host:8786" or a ``distributed.Client``).
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from .errors import InvalidParameter

EXECUTORS = ("serial", "joblib", "dask")


def _progress_bar(total: int, desc: str, progress):
    from tqdm.auto import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else not progress
    return tqdm(total=total, desc=desc, disable=disable)


def run_tasks(fn: Callable, args: Sequence, *, jobs: int = 1, executor: str = "joblib", address=None,
              progress=None, desc: str = "sweep") -> list:
    """Apply ``fn`` to every element of ``args``; return the results in input order.

    ``progress``: None shows a bar only on a terminal; True/False force it on/off.
    """
    if executor not in EXECUTORS:
        raise InvalidParameter("executor", f"must be one of {EXECUTORS}, got {executor!r}")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise InvalidParameter("jobs", f"must be a positive integer, got {jobs!r}")
    args = list(args)
    bar = _progress_bar(len(args), desc, progress)
    try:
        if executor == "serial" or (executor == "joblib" and (jobs == 1 or len(args) <= 1)):
            out = []
            for a in args:
                out.append(fn(a))
                bar.update()
            return out
        if executor == "joblib":
            from joblib import Parallel, delayed

            out = []
            workers = min(jobs, len(args))        # never more processes than tasks (--jobs 100000 on 4 chains)
            for result in Parallel(n_jobs=workers, backend="loky", return_as="generator")(delayed(fn)(a) for a in args):
                out.append(result)
                bar.update()
            return out
        return _run_dask(fn, args, address, bar)
    finally:
        bar.close()


def _run_dask(fn, args, address, bar):
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise InvalidParameter("executor", "dask needs the 'dask' extra: pip install 'robustbias[dask]'") from exc
    if address is None:
        raise InvalidParameter("address", "executor='dask' needs a scheduler address or a distributed.Client")
    client = address if isinstance(address, Client) else Client(address)
    try:
        futures = client.map(fn, args, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out = [None] * len(args)
        for fut in as_completed(futures):
            out[index[fut.key]] = fut.result()
            bar.update()
        return out
    finally:
        if client is not address:
            client.close()


def capture_warnings(fn: Callable, arg):
    """``(fn(arg), [(category, message), ...])``: the warnings ``fn`` raised, to be re-issued by
    :func:`reissue_warnings` in the process that started the sweep (a worker's own stderr is not the user's
    terminal: loky prints there in the raw format, Dask in a remote log)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(arg)
    return result, [(w.category, str(w.message)) for w in caught]


def reissue_warnings(caught) -> None:
    import warnings

    for category, message in caught:
        warnings.warn(message, category, stacklevel=3)


def _cached_point_task(task):
    return capture_warnings(_cached_point, task)


def _cached_point(task):
    fn, params, folder, version = task
    from .cache import PointCache

    cache = PointCache(folder, version) if folder else None
    if cache is not None:
        hit = cache.get(params)
        if hit is not None:
            return dict(hit, cached=True)
    try:
        record = {"params": params, "ok": True, "result": fn(params), "error": None}
    except (ArithmeticError, RuntimeError, ValueError) as exc:   # recorded, the sweep goes on
        return {"params": params, "ok": False, "result": None, "error": f"{type(exc).__name__}: {exc}",
                "cached": False}
    if cache is not None:
        cache.put(params, record)
    return dict(record, cached=False)


def _code_of(fn) -> tuple:
    """The packages whose source the cache key of ``fn``'s points fingerprints: asymptotics and ``fn``'s own."""
    module = getattr(fn, "__module__", None) or ""
    top = module.split(".")[0]
    if top in ("", "__main__"):
        main = getattr(sys.modules.get(module or "__main__"), "__file__", None)
        return ("asymptotics",) + ((main,) if main else ())
    return ("asymptotics", top)


def map_points(fn: Callable, points: Sequence[dict], *, jobs: int = 1, executor: str = "joblib", address=None,
               cache=None, progress=None, desc: str = "points") -> list[dict]:
    """Evaluate ``fn(params) -> dict`` on every point with the sweep engine (serial, joblib workers or Dask) and an
    optional resumable cache.

    ``fn`` should draw its randomness from :func:`asymptotics.seed_sequence` ``(params)`` so that results do not
    depend on the number of workers or the order of execution. The cache key fingerprints the source of
    ``asymptotics`` and of ``fn``'s top-level package (see ``cache.code_fingerprint``), so changed code never serves
    old numbers.

    Parameters
    ----------
    fn : callable
        ``fn(params: dict) -> dict``; a module-level function (picklable) for process or Dask workers.
    points : sequence of dict
        The parameters of each point (JSON-serialisable).
    jobs : int, default 1
        Local worker processes.
    executor : {"serial", "joblib", "dask"}, default "joblib"
        Where the points run.
    address : str or distributed.Client, optional
        The Dask scheduler (with ``executor="dask"``).
    cache : str or path, optional
        Folder of the resumable on-disk cache (None: no cache).
    progress : bool, optional
        Show a progress bar (None: when attached to a terminal).
    desc : str, default "points"
        The progress bar's label.

    Returns
    -------
    list of dict
        ``{"params", "ok", "result", "error", "cached"}`` per point, in input order; a point whose ``fn`` raised has
        ``ok=False`` and the error text.

    Examples
    --------
    >>> from asymptotics import map_points
    >>> def square(params):
    ...     return {"y": params["x"] ** 2}
    >>> [r["result"]["y"] for r in map_points(square, [{"x": 1.0}, {"x": 3.0}], executor="serial")]
    [1.0, 9.0]
    """
    from .cache import code_version, prepare_folder

    version = code_version(*_code_of(fn))
    folder = prepare_folder(cache, version)
    tasks = [(fn, dict(p), folder, version) for p in points]
    out = []
    for record, caught in run_tasks(_cached_point_task, tasks, jobs=jobs, executor=executor, address=address,
                                    progress=progress, desc=desc):
        reissue_warnings(caught)
        out.append(record)
    return out
