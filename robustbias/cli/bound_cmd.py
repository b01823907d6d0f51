"""``robustbias bound``: Rademacher bounds and the Monte-Carlo complexity of a robust linear class on a data file."""
from __future__ import annotations

import math

from . import add_command, add_json_flag


def add_parser(sub) -> None:
    p = add_command(sub, "bound", "Rademacher bounds and Monte-Carlo complexity of a robust linear class",
                    "For the class {x -> min_{||delta||_p <= eps} y <w, x + delta> : ||w||_r <= W} on the data of "
                    "--data: the clean upper bound, the robust upper and lower bounds on its empirical Rademacher "
                    "complexity, and a Monte-Carlo estimate with a confidence interval (docs/rademacher.md). "
                    "A sample file: examples/gaussian_small.npz.")
    p.add_argument("--data", required=True, metavar="FILE.npz",
                   help="an .npz file with arrays X (n, d) and y (n,) in {-1, +1}")
    p.add_argument("--r", default="2", help="constraint norm of the class, ||w||_r <= W: 1, 2, ..., inf (default 2)")
    p.add_argument("--p", default="inf", help="attack norm ||delta||_p <= eps: 1, 2, ..., inf (default inf)")
    p.add_argument("--eps", type=float, default=0.0, help="attack radius eps in the units of X (default 0)")
    p.add_argument("--W", type=float, default=1.0, help="radius W of the constraint ||w||_r <= W (default 1)")
    p.add_argument("--draws", type=int, default=200, help="Monte-Carlo sign vectors (0: bounds only; default 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of the Monte-Carlo sign vectors (default 0)")
    add_json_flag(p)
    p.set_defaults(func=_bound, text=_text)


def _float(name, text):
    from asymptotics.errors import InvalidParameter

    try:
        return math.inf if text.lower() in ("inf", "infinity") else float(text)
    except ValueError:
        raise InvalidParameter(name, f"expected a number or inf, got {text!r}") from None


def _bound(args):
    from asymptotics import empirical_rademacher, rademacher_bound

    from .files import load_labelled_data

    r, p = _float("--r", args.r), _float("--p", args.p)
    X, y = load_labelled_data("--data", args.data)
    out = {"bound": rademacher_bound(X, y, r=r, p=p, eps=args.eps, W=args.W).to_dict()}
    if args.draws:
        out["monte_carlo"] = empirical_rademacher(X, y, r=r, p=p, eps=args.eps, W=args.W, draws=args.draws,
                                                  seed=args.seed).to_dict()
    return out


def _text(out) -> str:
    b = out["bound"]
    lines = [f"n = {b['n']}, d = {b['d']}, dimension factor C = {b['dimension_factor']:.6g}",
             f"clean upper bound (KST)        {b['clean_upper']:.6g}",
             f"robust upper bound             {b['robust_upper']:.6g}",
             f"robust lower bound (attack)    {b['robust_lower']:.6g}"]
    if "monte_carlo" in out:
        mc = out["monte_carlo"]
        lines.append(f"Monte Carlo R_S(robust class)  {mc['estimate']:.6g}  [{mc['ci_low']:.6g}, {mc['ci_high']:.6g}] "
                     f"({mc['draws']} draws{'' if mc['exact_inner'] else ', bracketed suprema'})")
        lines.append(f"Monte Carlo R_S(clean class)   {mc['clean_estimate']:.6g}")
    return "\n".join(lines)
