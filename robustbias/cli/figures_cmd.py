"""``robustbias figures list | make NAME... | all``."""
from __future__ import annotations

import json

from . import add_json_flag


def add_parser(sub) -> None:
    p = sub.add_parser("figures", help="list and make the reproduced figures")
    fsub = p.add_subparsers(dest="figures_command", required=True)

    pl = fsub.add_parser("list", help="list the registered figures")
    add_json_flag(pl)
    pl.set_defaults(func=_list, text=_list_text)

    for name, helptext in (("make", "make the named figures"), ("all", "make every figure")):
        pm = fsub.add_parser(name, help=helptext)
        if name == "make":
            pm.add_argument("names", nargs="+", help="figure names (see `robustbias figures list`)")
        pm.add_argument("--preset", default="quick", choices=["quick", "paper"])
        pm.add_argument("--out", default="out/figures", help="output folder (PNG + data + parameters)")
        pm.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="override a preset parameter, e.g. --set 'alphas=[0.1,1]'")
        pm.add_argument("--progress", action="store_true", help="show progress bars")
        add_json_flag(pm)
        pm.set_defaults(func=_make, text=_make_text)


    pc = fsub.add_parser("check", help="check each figure's paper claims on its data (exit 1 if an expected "
                                       "claim fails)")
    pc.add_argument("names", nargs="*", help="figure names (default with --all: every figure)")
    pc.add_argument("--all", action="store_true", help="check every registered figure")
    pc.add_argument("--preset", default="quick", choices=["quick", "paper"])
    pc.add_argument("--out", default="out/figures", help="folder with the figures' data (made there if absent)")
    pc.add_argument("--remake", action="store_true", help="recompute the figures even if their data exist")
    pc.add_argument("--progress", action="store_true", help="show progress bars")
    add_json_flag(pc)
    pc.set_defaults(func=_check, text=lambda table: table.text())


def _check(args):
    from asymptotics.errors import InvalidParameter
    from figures import available
    from figures.claims import ClaimTable, check

    from .files import output_folder

    if args.all == bool(args.names):
        raise InvalidParameter("names", "give figure names or --all (not both)")
    names = sorted(available()) if args.all else args.names
    for name in names:
        if name not in available():
            raise InvalidParameter("names", f"unknown figure {name!r}; see `robustbias figures list`")
    output_folder("--out", args.out)
    table = ClaimTable()
    for name in names:
        table.rows += check(name, preset=args.preset, outdir=args.out, remake=args.remake, progress=args.progress)
    return table


def _list(args):
    from figures import describe

    return describe()


def _list_text(rows):
    return "\n".join(f"{r['name']:<28} {r['title']}" + (f"  [needs {', '.join(r['missing'])}]" if r["missing"] else "")
                     for r in rows)


def _parse_overrides(items):
    from asymptotics.errors import InvalidParameter

    out = {}
    for item in items:
        if "=" not in item:
            raise InvalidParameter("--set", f"expected KEY=JSON, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _make(args):
    from figures import available, make

    from .files import output_folder

    names = args.names if getattr(args, "names", None) else sorted(available())
    overrides = _parse_overrides(args.set)
    output_folder("--out", args.out)
    return [make(n, preset=args.preset, outdir=args.out, overrides=overrides, progress=args.progress).to_dict()
            for n in names]


def _make_text(rows):
    return "\n".join(f"{r['name']}: {r['png']} ({r['seconds']:.1f} s)" for r in rows)
