"""``robustbias figures list | make NAME... | all``."""
from __future__ import annotations

import json

from . import add_command, add_json_flag

#: the example in the help of ``figures make --set`` (tests/cli run it as written)
SET_EXAMPLE = "robustbias figures make errors_vs_alpha --set n_alpha=8 --set 'r_values=[1,2]'"


def add_parser(sub) -> None:
    p = add_command(sub, "figures", "list, make and check the reproduced figures",
                    "Each figure is one module with quick (CPU, minutes) and paper presets; it writes a PNG, the "
                    "data behind it (JSON) and the parameters used (docs/figures.md).")
    fsub = p.add_subparsers(dest="figures_command", required=True, title="figure commands", metavar="SUBCOMMAND")

    pl = add_command(fsub, "list", "list the registered figures",
                     "One line per figure: its name and title, and the optional packages it needs if they are "
                     "missing.")
    add_json_flag(pl)
    pl.set_defaults(func=_list, text=_list_text)

    for name, helptext, description in (
            ("make", "make the named figures", "Computes and plots each named figure and prints the paths of the "
                                               "files it wrote (PNG, data JSON, parameters JSON)."),
            ("all", "make every figure", "Computes and plots every registered figure (torch figures need the deep "
                                         "extra) and prints the paths of the files written.")):
        pm = add_command(fsub, name, helptext, description)
        if name == "make":
            pm.add_argument("names", nargs="+", help="figure names (see `robustbias figures list`)")
        pm.add_argument("--preset", default="quick", choices=["quick", "paper"],
                        help="parameter set: quick (CPU, minutes) or paper (paper scale) (default quick)")
        pm.add_argument("--out", default="out/figures", help="output folder (PNG + data + parameters; default "
                                                             "out/figures)")
        pm.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help=f"override a preset parameter (repeatable; the figure's parameters are in its "
                             f"NAME.params.json), e.g. {SET_EXAMPLE}")
        pm.add_argument("--format", default="png", metavar="FORMATS",
                        help="image format(s), comma-separated from png, pdf, svg (e.g. png,pdf; default png)")
        pm.add_argument("--progress", action="store_true", help="show progress bars")
        add_json_flag(pm)
        pm.set_defaults(func=_make, text=_make_text)

    pc = add_command(fsub, "check", "check each figure's paper claims on its data",
                     "Evaluates the claims each figure declares as code on its data (made first if absent) and prints "
                     "a table of measured values and verdicts; exit status 1 if a claim expected to hold fails.")
    pc.add_argument("names", nargs="*", help="figure names (default with --all: every figure)")
    pc.add_argument("--all", action="store_true", help="check every registered figure")
    pc.add_argument("--preset", default="quick", choices=["quick", "paper"],
                    help="parameter set of the data checked (default quick)")
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

    from asymptotics.errors import InvalidParameter
    from figures.io import parse_formats

    names = args.names if getattr(args, "names", None) else sorted(available())
    overrides = _parse_overrides(args.set)
    try:
        formats = parse_formats(args.format)
    except InvalidParameter as exc:
        raise InvalidParameter("--format", exc.message) from None
    output_folder("--out", args.out)
    return [make(n, preset=args.preset, outdir=args.out, overrides=overrides, progress=args.progress,
                 format=formats).to_dict() for n in names]


def _make_text(rows):
    return "\n".join(f"{r['name']} ({r['seconds']:.1f} s): wrote {', '.join(r['files'])}" for r in rows)
