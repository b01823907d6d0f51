"""``robustbias margin``: the (robust) max-margin separator of a dataset stored as FILE.npz with arrays X and y."""
from __future__ import annotations

from . import add_command, add_json_flag


def add_parser(sub) -> None:
    p = add_command(sub, "margin", "max-margin separator of FILE.npz (arrays X, y) in an lp norm, optionally robust",
                    "Solves gamma* = max_{||w|| <= 1} min_i y_i <w, x_i> - eps ||w||_{p*} (raw inner products; p* the "
                    "dual exponent of the attack norm) with HiGHS or Clarabel, and prints the margin and the unit-norm "
                    "separator w (docs/margins.md). A sample file: examples/separable_small.npz.")
    p.add_argument("--data", required=True, metavar="FILE.npz", help="npz file holding X (m x d) and y (m, +-1)")
    p.add_argument("--norm", default="linf", help="normalisation of w: l1, l2, linf, l<p> (default linf = "
                                                  "min_i y_i<w,x_i>/||w||_inf)")
    p.add_argument("--eps", type=float, default=0.0, help="input attack radius (raw units; default 0)")
    p.add_argument("--attack", default=None, help="input attack geometry linf, l2, l<p> (default linf)")
    add_json_flag(p)
    p.set_defaults(func=_margin, text=_text)


def _margin(args):
    from asymptotics.margins import max_margin

    from .files import load_labelled_data

    X, y = load_labelled_data("--data", args.data)
    return max_margin(X, y, norm=args.norm, eps=args.eps, attack=args.attack)


def _text(result) -> str:
    lines = [repr(result), "w = " + " ".join(f"{v:.6g}" for v in result.w[:20]) + (" ..." if result.w.size > 20
                                                                                   else "")]
    return "\n".join(lines)
