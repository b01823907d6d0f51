"""``robustbias solve``, ``robustbias sweep`` and ``robustbias grid``: the fixed point of regularized adversarial
ERM from the shell."""
from __future__ import annotations

import numpy as np

from . import add_command, add_json_flag

_POINT_HELP = {
    "alpha": "sample ratio alpha = n/d (> 0)",
    "eps": "training attack size: the objective has loss(y w.x/sqrt(d) - eps A(w)) (>= 0)",
    "lam": "regularization strength: + lam R(w), R(w) = sum_j |w_j|^r (no 1/r) (>= 0)",
}
_CONVENTIONS = ("Data x ~ N(0, I_d), teacher ||theta||^2/d = rho, labels y = sign(theta.x/sqrt(d) + tau z); "
                "training objective sum_i loss(y_i w.x_i/sqrt(d) - eps A(w)) + lam R(w) with A(w) = "
                "||w||_{p*}/d^{1/p*} for an lp attack (||w||_1/d for linf). Errors are probabilities in [0, 1]; "
                "boundary error = robust (adv) error - clean (gen) error. Details: docs/conventions.md.")


def _add_point_arguments(p, *, with_param=None):
    for name in ("alpha", "eps", "lam"):
        if name != with_param:
            p.add_argument(f"--{name}", type=float, required=True, help=_POINT_HELP[name])
    _add_model_arguments(p, reg_help="regularizer: l1, l2 or l<r> for R(w) = sum_j |w_j|^r, r >= 1 (default l2)")
    p.add_argument("--tol", type=float, default=1e-8, help="tolerance of the fixed-point residual (default 1e-8)")


def _add_model_arguments(p, reg_help="regularizer: l1, l2 or l<r>, r >= 1 (default l2; do not pass it when r "
                                     "is swept or an axis)"):
    p.add_argument("--attack", default="linf", help="training attack geometry: linf, l2, l1 or l<p>, p >= 1 "
                                                    "(default linf)")
    p.add_argument("--reg", default=None, help=reg_help)
    p.add_argument("--loss", default="logistic", help="logistic, hinge, square or exponential (default logistic)")
    p.add_argument("--rho", type=float, default=1.0, help="teacher norm rho = ||theta||^2/d (default 1)")
    p.add_argument("--tau", type=float, default=0.0, help="label noise: y = sign(theta.x/sqrt(d) + tau z), "
                                                          "z ~ N(0, 1) (default 0)")
    p.add_argument("--eps-test", type=float, default=None, help="test-time attack size (default: --eps)")
    p.add_argument("--attack-test", default=None, help="test-time attack geometry (default: --attack)")


def _point(args, skip=None) -> dict:
    point = {"attack": args.attack, "reg": args.reg or "l2", "loss": args.loss,
             "data": {"rho": args.rho, "tau": args.tau}, "eps_test": args.eps_test, "attack_test": args.attack_test}
    for name in ("alpha", "eps", "lam"):
        if name != skip:
            point[name] = getattr(args, name)
    return point


def add_parser(sub) -> None:
    p = add_command(sub, "solve", "solve the fixed-point equations at one point",
                    "Prints the order parameters (m, q, V, P and their conjugates), the clean, robust and boundary "
                    "test errors, the training error and loss, and the solver's convergence certificate. "
                    + _CONVENTIONS)
    _add_point_arguments(p)
    add_json_flag(p)
    p.set_defaults(func=_solve, text=_solve_text)

    s = add_command(sub, "sweep", "sweep one parameter with warm starts",
                    "Solves the point at every value of PARAM, walking the values in the direction where the fixed "
                    "point is easiest to follow, each warm-started from the last success (the API's "
                    "asymptotics.sweep; --json prints its SweepResult.to_dict()). A point that does not converge is "
                    "reported and the sweep goes on (exit status 1). " + _CONVENTIONS)
    s.add_argument("param", choices=["alpha", "eps", "lam", "r", "eps_test"], metavar="PARAM",
                   help="the swept parameter: alpha, eps, lam, r (the order of the regularizer l<r>) or eps_test")
    s.add_argument("grid", metavar="GRID", help="its values: START:STOP:NUM (log-spaced for alpha and lam, linear otherwise) or "
                                "v1,v2,...")
    for name in ("alpha", "eps", "lam"):
        s.add_argument(f"--{name}", type=float, help=_POINT_HELP[name] + "; required unless it is PARAM")
    _add_model_arguments(s)
    s.add_argument("--tol", type=float, default=1e-8, help="tolerance of each fixed-point solve (default 1e-8)")
    s.add_argument("--plot", default=None, metavar="PNG", help="write a plot of the errors along the sweep to this "
                                                               "file (.png, .pdf, .svg); its path is printed")
    _add_engine_arguments(s)
    s.set_defaults(func=_sweep, text=_sweep_text)

    g = add_command(sub, "grid", "solve a product grid of points (parallel, resumable)",
                    "Every combination of the --axis values is solved; points along the continuation axis form a "
                    "chain solved in order with warm starts, chains run in parallel (--jobs, --executor), and "
                    "--cache makes an interrupted grid resume where it stopped. " + _CONVENTIONS)
    g.add_argument("--axis", action="append", required=True, metavar="NAME=GRID",
                   help="an axis, e.g. alpha=0.01:10:20 (log), eps=0,0.1,0.3, r=1:3:5; names alpha, eps, lam, r, "
                        "eps_test; repeat for more axes")
    g.add_argument("--continuation", default=None, help="axis solved in order with warm starts (default: alpha "
                                                           "if it is an axis, else none)")
    for name in ("alpha", "eps", "lam"):
        g.add_argument(f"--{name}", type=float, help=_POINT_HELP[name] + "; required unless it is an axis")
    _add_model_arguments(g)
    g.add_argument("--tol", type=float, default=1e-8, help="tolerance of each fixed-point solve (default 1e-8)")
    _add_engine_arguments(g)
    g.set_defaults(func=_grid, text=_grid_text)


def _add_engine_arguments(p):
    p.add_argument("--jobs", type=int, default=1, help="local worker processes (joblib; default 1)")
    p.add_argument("--executor", default="joblib", choices=["serial", "joblib", "dask"],
                   help="where the work runs: in this process, on local joblib workers, or on a Dask cluster "
                        "(default joblib)")
    p.add_argument("--address", default=None, help="Dask scheduler address, e.g. tcp://host:8786 (with --executor "
                                                    "dask)")
    p.add_argument("--cache", default=None, metavar="DIR", help="folder of a resumable cache of finished points "
                                                                 "(docs/sweeps.md)")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    add_json_flag(p)


def _solve(args):
    from asymptotics import solve

    return solve(**_point(args), tol=args.tol)


def _solve_text(fp) -> str:
    return (repr(fp) + "\n  (gen_error, adv_error, boundary_error, train_error are probabilities in [0, 1]; "
            "boundary = adv - gen)")


def parse_grid(text: str, log: bool, name: str = "grid") -> np.ndarray:
    """``START:STOP:NUM`` (log-spaced if ``log``, else linear) or ``v1,v2,...``; at most ``MAX_POINTS`` values,
    checked before anything is allocated. ``name`` is the parameter named in errors."""
    from asymptotics.errors import InvalidParameter
    from asymptotics.grid import MAX_POINTS

    try:
        if ":" in text:
            start, stop, num = text.split(":")
            start, stop, num = float(start), float(stop), int(num)
            if num < 1:
                raise ValueError("NUM must be >= 1")
            if num > MAX_POINTS:
                raise InvalidParameter(name, f"{num} values requested in {text!r}: more than the limit {MAX_POINTS}")
            if not (np.isfinite(start) and np.isfinite(stop)):
                raise ValueError("START and STOP must be finite")
            if log:
                if start <= 0 or stop <= 0:
                    raise ValueError("log-spaced grids need positive ends")
                return np.logspace(np.log10(start), np.log10(stop), num)
            return np.linspace(start, stop, num)
        values = text.split(",")
        if len(values) > MAX_POINTS:
            raise InvalidParameter(name, f"{len(values)} values: more than the limit {MAX_POINTS}")
        return np.array([float(v) for v in values])
    except InvalidParameter:
        raise
    except ValueError as exc:
        raise InvalidParameter(name, f"expected START:STOP:NUM or v1,v2,..., got {text!r} ({exc})") from None


def _fixed(args, axes) -> dict:
    from asymptotics.errors import InvalidParameter

    fixed = {"attack": args.attack, "loss": args.loss, "eps_test": args.eps_test, "attack_test": args.attack_test}
    if args.rho != 1.0 or args.tau != 0.0:
        fixed["data"] = {"rho": args.rho, "tau": args.tau}
    if "r" not in axes:
        fixed["reg"] = args.reg or "l2"
    elif args.reg:
        raise InvalidParameter("--reg", "r is an axis: do not pass --reg")
    for name in ("alpha", "eps", "lam", "eps_test"):
        value = getattr(args, name)
        if name in axes and value is not None:
            raise InvalidParameter(f"--{name.replace('_', '-')}", f"{name} is an axis: do not also pass it as a flag")
    for name in ("alpha", "eps", "lam"):
        if name not in axes:
            value = getattr(args, name)
            if value is None:
                raise InvalidParameter(f"--{name}", "is required (or make it an axis)")
            fixed[name] = value
    return {k: v for k, v in fixed.items() if v is not None}


def _run_grid(args, axes, continuation):
    from asymptotics import grid_sweep

    from .files import output_folder

    cache = output_folder("--cache", args.cache) if args.cache is not None else None
    return grid_sweep(axes, continuation=continuation, jobs=args.jobs, executor=args.executor, address=args.address,
                      cache=cache, progress=args.progress or None, solver_options={"tol": args.tol},
                      **_fixed(args, axes))


def _sweep(args):
    from asymptotics import sweep

    from .files import output_file, output_folder

    values = parse_grid(args.grid, log=args.param in ("alpha", "lam"))
    if args.plot:
        output_file("--plot", args.plot)
    fixed = _fixed(args, (args.param,))
    cache = output_folder("--cache", args.cache) if args.cache is not None else None
    result = sweep(args.param, values, jobs=args.jobs, executor=args.executor, address=args.address, cache=cache,
                   progress=args.progress or None, solver_options={"tol": args.tol}, **fixed)
    if args.plot:
        _plot(result, args.plot)
        args.written = [args.plot]
    return result


def _grid(args):
    from asymptotics.errors import InvalidParameter

    axes = {}
    for item in args.axis:
        if "=" not in item:
            raise InvalidParameter("--axis", f"expected NAME=GRID, got {item!r}")
        name, grid = item.split("=", 1)
        if name in axes:
            raise InvalidParameter("--axis", f"axis {name!r} is given twice")
        axes[name] = parse_grid(grid, log=name in ("alpha", "lam"), name=f"--axis {name}")
    continuation = args.continuation or ("alpha" if "alpha" in axes else None)
    return _run_grid(args, axes, continuation)


def _grid_text(result) -> str:
    names = list(result.axes)
    head = " ".join(f"{n:>9}" for n in names) + f" {'m':>10} {'q':>10} {'gen_err':>9} {'adv_err':>9} {'bnd_err':>9}"
    lines = [head]
    for rec in result.records:
        left = " ".join(f"{rec['params'][n]:9.4g}" for n in names)
        if rec["ok"]:
            r = rec["result"]
            lines.append(f"{left} {r['m']:10.4g} {r['q']:10.4g} {r['gen_error']:9.4f} {r['adv_error']:9.4f} "
                         f"{r['boundary_error']:9.4f}")
        else:
            lines.append(f"{left}  failed: {rec['error'].split(':')[0]} (the full message is on stderr)")
    lines.append("errors are probabilities in [0, 1] (gen: clean, adv: robust, bnd = adv - gen)")
    lines.append(result.summary().splitlines()[0])
    return "\n".join(lines)


def _sweep_text(result) -> str:
    lines = [f"{result.param:>9} {'m':>10} {'q':>10} {'gen_err':>9} {'adv_err':>9} {'bnd_err':>9}"]
    for value, r in zip(result.values, result.results):
        if r is not None:
            lines.append(f"{value:9.4g} {r.m:10.4g} {r.q:10.4g} {r.gen_error:9.4f} {r.adv_error:9.4f} "
                         f"{r.boundary_error:9.4f}")
        else:
            error = dict(result.failures).get(float(value), "")
            lines.append(f"{value:9.4g}  failed: {error.split(':')[0]} (the full message is on stderr)")
    lines.append("errors are probabilities in [0, 1] (gen: clean, adv: robust, bnd = adv - gen)")
    lines.append(result.summary().splitlines()[0])
    return "\n".join(lines)


def _plot(result, path):
    from figures.style import figure_style

    with figure_style():
        _draw_sweep(result, path)


def _draw_sweep(result, path):
    from figures.io import save_figure
    from figures.style import subplots

    fig, axes = subplots(1, 2, width=3.4, height=2.6)
    param = result.param
    x = np.asarray(result.values)
    for name, style in (("gen_error", "--"), ("adv_error", "-")):
        axes[0, 0].plot(x, result.column(name), style, label=name.replace("_", " "))
    axes[0, 1].plot(x, result.column("boundary_error"), "-", color="C2")
    for ax in axes.flat:
        ax.set_xlabel(param)
        if param in ("alpha", "lam"):
            ax.set_xscale("log")
    axes[0, 0].set_ylabel("error (probability)")
    axes[0, 0].legend()
    axes[0, 1].set_ylabel("boundary error")
    save_figure(fig, path)
