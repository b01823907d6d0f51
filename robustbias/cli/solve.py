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
    s.add_argument("--alpha", type=float)
    s.add_argument("--eps", type=float)
    s.add_argument("--lam", type=float)
    s.add_argument("--attack", default="linf")
    s.add_argument("--reg", default="l2")
    s.add_argument("--loss", default="logistic")
    s.add_argument("--rho", type=float, default=1.0)
    s.add_argument("--tau", type=float, default=0.0)
    s.add_argument("--eps-test", type=float, default=None)
    s.add_argument("--attack-test", default=None)
    s.add_argument("--tol", type=float, default=1e-8)
    s.add_argument("--plot", default=None, metavar="PNG", help="write a plot of the errors along the sweep")
    s.add_argument("--progress", action="store_true")
    add_json_flag(s)
    s.set_defaults(func=_sweep, text=_sweep_text)


def _solve(args):
    from asymptotics import solve

    return solve(**_point(args), tol=args.tol)


def parse_grid(text: str, log: bool) -> np.ndarray:
    from asymptotics.errors import InvalidParameter

    try:
        if ":" in text:
            start, stop, num = text.split(":")
            start, stop, num = float(start), float(stop), int(num)
            if num < 1:
                raise ValueError("NUM must be >= 1")
            if log:
                if start <= 0 or stop <= 0:
                    raise ValueError("log-spaced grids need positive ends")
                return np.logspace(np.log10(start), np.log10(stop), num)
            return np.linspace(start, stop, num)
        return np.array([float(v) for v in text.split(",")])
    except ValueError as exc:
        raise InvalidParameter("grid", f"expected START:STOP:NUM or v1,v2,..., got {text!r} ({exc})") from None


def _sweep(args):
    from asymptotics import sweep
    from asymptotics.errors import InvalidParameter

    point = _point(args, skip=args.param)
    if args.param == "r":
        point.pop("reg")
    missing = [k for k in ("alpha", "eps", "lam") if k != args.param and point.get(k) is None]
    if missing:
        raise InvalidParameter(missing[0], f"--{missing[0]} is required")
    values = parse_grid(args.grid, log=args.param in ("alpha", "lam"))
    result = sweep(args.param, values, progress=args.progress, **point)
    if args.plot:
        _plot(result, args.plot)
    return result


def _sweep_text(result) -> str:
    head = f"{result.param:>10} {'m':>10} {'q':>10} {'V':>10} {'P':>10} {'gen_err':>9} {'adv_err':>9} {'bnd_err':>9}"
    lines = [head]
    for v, r in zip(result.values, result.results):
        if r is None:
            lines.append(f"{v:10.4g}  failed")
        else:
            lines.append(f"{v:10.4g} {r.m:10.4g} {r.q:10.4g} {r.V:10.4g} {r.P:10.4g} {r.gen_error:9.4f} "
                         f"{r.adv_error:9.4f} {r.boundary_error:9.4f}")
    if result.failures:
        lines.append(f"{len(result.failures)} point(s) failed: " + "; ".join(f"{v:g}" for v, _ in result.failures))
    return "\n".join(lines)


def _plot(result, path):
    from figures.io import save_figure
    from figures.style import subplots

    fig, axes = subplots(1, 2, width=3.4, height=2.6)
    x = result.values
    for name, style in (("gen_error", "--"), ("adv_error", "-")):
        axes[0, 0].plot(x, result.column(name), style, label=name.replace("_", " "))
    axes[0, 1].plot(x, result.column("boundary_error"), "-", color="C2")
    for ax in axes.flat:
        ax.set_xlabel(result.param)
        if result.param in ("alpha", "lam"):
            ax.set_xscale("log")
    axes[0, 0].set_ylabel("error")
    axes[0, 0].legend()
    axes[0, 1].set_ylabel("boundary error")
    save_figure(fig, path)
