"""``robustbias`` command line. One module per command group, listed in ``COMMAND_MODULES``.

Each command module defines ``add_parser(subparsers)`` which registers its sub-command(s) and sets
``func(args) -> object`` on the parser; the returned object is printed as JSON with ``--json`` and as
readable text otherwise (``format_text`` on the module, if present, else ``str``).
Bad input prints one line ``robustbias: error: ...`` and exits with status 2, without a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from asymptotics.errors import ConvergenceError, InvalidParameter

COMMAND_MODULES = (
    "robustbias.cli.solve",
    "robustbias.cli.figures_cmd",
    "robustbias.cli.bound_cmd",
    "robustbias.cli.simulate_cmd",
    "robustbias.cli.margin_cmd",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's default prints usage too)
        self.exit(2, f"robustbias: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="robustbias", description=__doc__.splitlines()[0])
    from robustbias import __version__

    parser.add_argument("--version", action="version", version=f"robustbias {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def emit(result, as_json: bool, text=None) -> None:
    from figures.io import to_jsonable

    if as_json:
        print(json.dumps(to_jsonable(result), indent=1))
    else:
        print(text(result) if text is not None else str(result))


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except InvalidParameter as exc:
        print(f"robustbias: error: {exc}", file=sys.stderr)
        return 2
    except ConvergenceError as exc:
        print(f"robustbias: did not converge: {exc}", file=sys.stderr)
        return 3
    except ValueError as exc:
        print(f"robustbias: error: {exc}", file=sys.stderr)
        return 2
    try:
        emit(result, getattr(args, "json", False), getattr(args, "text", None))
    except BrokenPipeError:      # output piped into `head` and the like
        sys.stderr.close()
    return 0
