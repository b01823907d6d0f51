"""``robustbias solve`` and ``robustbias sweep``: the fixed point of regularized adversarial ERM from the shell."""
from __future__ import annotations

import numpy as np

from . import add_json_flag


def _add_point_arguments(p, *, with_param=None):
    for name, kind, default, helptext in (
        ("alpha", float, None, "sample ratio n/d"),
        ("eps", float, None, "training attack size (attack term eps * A(w))"),
        ("lam", float, None, "regularization strength (R(w) = sum |w_j|^r, no 1/r)"),
    ):
        if name != with_param:
            p.add_argument(f"--{name}", type=kind, default=default, required=default is None, help=helptext)
    p.add_argument("--attack", default="linf", help="linf, l2, l1, l<p> (default linf)")
    p.add_argument("--reg", default="l2", help="l1, l2, l<r> (default l2)")
    p.add_argument("--loss", default="logistic", help="logistic, hinge, square, exponential")
    p.add_argument("--rho", type=float, default=1.0, help="teacher norm ||theta||^2/d")
    p.add_argument("--tau", type=float, default=0.0, help="probit label noise")
    p.add_argument("--eps-test", type=float, default=None, help="test attack size (default: eps)")
    p.add_argument("--attack-test", default=None, help="test attack geometry (default: attack)")
    p.add_argument("--tol", type=float, default=1e-8)


def _point(args, skip=None) -> dict:
    point = {"attack": args.attack, "reg": args.reg, "loss": args.loss,
             "data": {"rho": args.rho, "tau": args.tau}, "eps_test": args.eps_test, "attack_test": args.attack_test}
    for name in ("alpha", "eps", "lam"):
        if name != skip:
            point[name] = getattr(args, name)
    return point


def add_parser(sub) -> None:
    p = sub.add_parser("solve", help="solve the fixed-point equations at one point")
    _add_point_arguments(p)
    add_json_flag(p)
    p.set_defaults(func=_solve, text=repr)

    s = sub.add_parser("sweep", help="sweep one parameter with warm starts")
    s.add_argument("param", choices=["alpha", "eps", "lam", "r"])
    s.add_argument("grid", help="START:STOP:NUM (log-spaced for alpha and lam, linear otherwise) or v1,v2,...")
    for name in ("alpha", "eps", "lam"):
        s.add_argument(f"--{name}", type=float)
    _add_model_arguments(s)
    s.add_argument("--plot", default=None, metavar="PNG", help="write a plot of the errors along the sweep")
    _add_engine_arguments(s)
    s.set_defaults(func=_sweep, text=_grid_text)

    g = sub.add_parser("grid", help="solve a product grid of points (parallel, resumable)")
    g.add_argument("--axis", action="append", required=True, metavar="NAME=GRID",
                   help="an axis, e.g. alpha=0.01:10:20 (log), eps=0,0.1,0.3, r=1:3:5; repeat for more axes")
    g.add_argument("--continuation", default=None, help="axis solved in order with warm starts (default: alpha "
                                                           "if it is an axis, else none)")
    for name in ("alpha", "eps", "lam"):
        g.add_argument(f"--{name}", type=float)
    _add_model_arguments(g)
    _add_engine_arguments(g)
    g.set_defaults(func=_grid, text=_grid_text)


def _add_model_arguments(p):
    p.add_argument("--attack", default="linf")
    p.add_argument("--reg", default=None, help="l1, l2, l<r> (default l2 unless r is an axis)")
    p.add_argument("--loss", default="logistic")
    p.add_argument("--rho", type=float, default=1.0)
    p.add_argument("--tau", type=float, default=0.0)
    p.add_argument("--eps-test", type=float, default=None)
    p.add_argument("--attack-test", default=None)
    p.add_argument("--tol", type=float, default=1e-8)


def _add_engine_arguments(p):
    p.add_argument("--jobs", type=int, default=1, help="local worker processes (joblib)")
    p.add_argument("--executor", default="joblib", choices=["serial", "joblib", "dask"])
    p.add_argument("--address", default=None, help="Dask scheduler address (with --executor dask)")
    p.add_argument("--cache", default=None, metavar="DIR", help="resumable cache of finished points")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    add_json_flag(p)


def _solve(args):
    from asymptotics import solve

    return solve(**_point(args), tol=args.tol)


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
    from .files import output_file

    axes = {args.param: parse_grid(args.grid, log=args.param in ("alpha", "lam"))}
    if args.plot:
        output_file("--plot", args.plot)
    result = _run_grid(args, axes, args.param)
    if args.plot:
        _plot(result, args.plot)
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
    lines.append(result.summary().splitlines()[0])
    return "\n".join(lines)


def _plot(result, path):
    from figures.io import save_figure
    from figures.style import subplots

    fig, axes = subplots(1, 2, width=3.4, height=2.6)
    (param,) = result.axes
    x = np.asarray(result.axes[param])
    for name, style in (("gen_error", "--"), ("adv_error", "-")):
        axes[0, 0].plot(x, result.column(name), style, label=name.replace("_", " "))
    axes[0, 1].plot(x, result.column("boundary_error"), "-", color="C2")
    for ax in axes.flat:
        ax.set_xlabel(param)
        if param in ("alpha", "lam"):
            ax.set_xscale("log")
    axes[0, 0].set_ylabel("error")
    axes[0, 0].legend()
    axes[0, 1].set_ylabel("boundary error")
    save_figure(fig, path)
