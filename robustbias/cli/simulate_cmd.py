"""``robustbias simulate`` (finite-d robust ERM over seeds) and ``robustbias compare`` (theory vs simulation)."""
from __future__ import annotations

from . import add_command, add_json_flag
from .solve import _CONVENTIONS, _add_point_arguments, _point


def _add_sim_arguments(p):
    p.add_argument("--seeds", type=int, default=5, help="repetitions (independent teacher/train/test streams)")
    p.add_argument("--n-test", type=int, default=None, help="Monte-Carlo test points per seed (default max(2000, d))")
    p.add_argument("--solver", default="auto", help="ERM solver: auto, lbfgs, fista, clarabel, scs (default auto: "
                                                    "L-BFGS when smooth, FISTA otherwise, Clarabel for the hinge)")
    p.add_argument("--sim-tol", type=float, default=1e-8, help="certificate tolerance of every ERM solve")
    p.add_argument("--jobs", type=int, default=1, help="seeds in parallel (local worker processes)")
    p.add_argument("--executor", default="joblib", choices=["serial", "joblib", "dask"],
                   help="where the seeds run: in this process, on local joblib workers, or on a Dask cluster "
                        "(default joblib)")
    p.add_argument("--address", default=None, help="Dask scheduler address (with --executor dask)")
    p.add_argument("--cache", default=None, metavar="DIR", help="resumable cache of finished seeds")
    p.add_argument("--progress", action="store_true", help="show a progress bar")


def _engine(args) -> dict:
    from .files import output_folder

    cache = output_folder("--cache", args.cache) if args.cache is not None else None
    return dict(n_jobs=args.jobs, executor=args.executor, address=args.address, cache=cache,
                progress=args.progress)


def add_parser(sub) -> None:
    s = add_command(sub, "simulate", "finite-d robust ERM at one point, mean and std over seeds",
                    "Draws a teacher, n = round(alpha d) training points and a test set per seed, minimises the "
                    "robust regularized objective with a certified solver, and prints every observable as "
                    "mean +- standard deviation over the seeds (ddof = 1; the standard error of the mean is "
                    "std/sqrt(seeds)). " + _CONVENTIONS)
    _add_point_arguments(s)
    s.add_argument("--d", type=int, default=1000, help="dimension d; n = round(alpha d) (default 1000)")
    _add_sim_arguments(s)
    add_json_flag(s)
    s.set_defaults(func=_simulate, text=repr)

    c = add_command(sub, "compare", "theory vs simulation with a + b/d extrapolation",
                    "Simulates the point at every dimension in --ds, fits each observable's seed means as a + b/d "
                    "(weighted by their standard errors), and compares the extrapolated a (with its confidence "
                    "interval) with the theory: z = (a - theory)/se(a). " + _CONVENTIONS)
    _add_point_arguments(c)
    c.add_argument("--ds", default="250,500,1000,2000", help="comma-separated distinct dimensions (default "
                                                              "250,500,1000,2000)")
    _add_sim_arguments(c)
    c.add_argument("--level", type=float, default=0.95, help="confidence level of the extrapolated value")
    c.add_argument("--plot", default=None, metavar="PNG", help="write each observable vs 1/d (seed means +- "
                                                               "standard error), the fit and the theory to this "
                                                               "file; its path is printed")
    add_json_flag(c)
    c.set_defaults(func=_compare, text=_compare_text)


def _simulate(args):
    from simulate import erm

    point = _point(args)
    return erm(**point, d=args.d, seeds=args.seeds, n_test=args.n_test, solver=args.solver, tol=args.sim_tol,
               **_engine(args))


def _compare_text(result) -> str:
    return (repr(result) + "\n(errors are probabilities in [0, 1]; d->inf: the fit a + b/d at 1/d = 0; se: its "
            "standard error from the seed standard errors; z = (d->inf - theory)/se)")


def _parse_ds(text):
    from asymptotics.errors import InvalidParameter

    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InvalidParameter("--ds", f"expected comma-separated integers, got {text!r}") from None


def _compare(args):
    from simulate import compare

    from .files import output_file

    if args.plot:
        output_file("--plot", args.plot)
    result = compare(_point(args), ds=_parse_ds(args.ds), seeds=args.seeds, n_test=args.n_test,
                     solver=args.solver, tol=args.sim_tol, level=args.level, **_engine(args))
    if args.plot:
        plot_comparison(result, args.plot)
        args.written = [args.plot]
    return result


def plot_comparison(result, path) -> None:
    """One panel per observable: seed means +- sem vs 1/d, the fitted line a + b/d, theory at 1/d = 0."""
    from figures.style import figure_style

    with figure_style():
        _draw_comparison(result, path)


def _draw_comparison(result, path) -> None:
    import numpy as np

    from figures.io import save_figure
    from figures.style import subplots

    rows = list(result.rows.values())
    ncol = 4
    nrow = (len(rows) + ncol - 1) // ncol
    fig, axes = subplots(nrow, ncol, width=2.2, height=1.9)
    x = 1.0 / np.asarray(result.ds, dtype=float)
    grid = np.linspace(0.0, x.max() * 1.05, 50)
    for ax, r in zip(axes.flat, rows):
        ax.errorbar(x, r.means, yerr=r.sems, fmt="o", ms=3, color="C0", label="simulation")
        ax.plot(grid, r.intercept + r.slope * grid, "-", color="C0", lw=0.8, label="a + b/d")
        # asymmetric: probability intervals are clipped to [0, 1]
        err = [[max(r.intercept - r.ci_low, 0.0)], [max(r.ci_high - r.intercept, 0.0)]]
        ax.errorbar([0.0], [r.intercept], yerr=err, fmt="s", ms=3, color="C0")
        ax.plot([0.0], [r.theory], "*", color="C3", ms=8, label="theory")
        ax.set_title(f"{r.name} (z = {r.z:.1f})" if r.z is not None else f"{r.name} (no z: {r.z_note})",
                     fontsize=8)
        ax.set_xlabel("1/d")
    for ax in list(axes.flat)[len(rows):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=6)
    save_figure(fig, path)
