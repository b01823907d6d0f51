"""``robustbias`` command line. One module per command group, listed in ``COMMAND_MODULES``.

Each command module defines ``add_parser(subparsers)`` which registers its sub-command(s) and sets
``func(args) -> object`` on the parser; the returned object is printed as JSON with ``--json`` and as
readable text otherwise (``format_text`` on the module, if present, else ``str``).
Exit status (the error policy, also in the README):

* 0 — everything asked for was done;
* 1 — a sweep finished but some points failed: the summary on stdout, each failure with its full error text and
  hint on stderr (also an unexpected internal error, one line, to be reported as a bug);
* 2 — bad input or an unusable path or file (``--data``, ``--cache``, ``--out``, ``--plot``): one line
  ``robustbias: error: <option>: ...`` naming it, before any work;
* 3 — a single solve did not converge: one line with the solver's hint.

No traceback reaches a user; warnings (e.g. a corrupt cache entry being recomputed) are one line each.
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


DESCRIPTION = """\
Theory and simulation of adversarially robust learning and implicit bias: solve the exact high-dimensional
fixed-point equations of regularized adversarial ERM (solve, sweep, grid), check them against finite-d
simulation (simulate, compare), compute Rademacher bounds and max-margin separators of a data file (bound,
margin), and reproduce the papers' figures (figures). Errors are probabilities in [0, 1]; every command has
--json. Run `robustbias COMMAND --help` for one command."""

EPILOG = """\
exit status: 0 done; 1 a sweep finished but some points failed (each failure on stderr); 2 bad input or an
unusable path/file (one line naming it); 3 a single solve did not converge (one line with the hint).
Conventions (factors of 2 included): docs/conventions.md."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's default prints usage too)
        self.exit(2, f"robustbias: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="robustbias", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from robustbias import __version__

    parser.add_argument("--version", action="version", version=f"robustbias {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_command(sub, name: str, help: str, description: str, **kwargs) -> argparse.ArgumentParser:
    """Register a sub-command with its one-line ``help`` (in the command list) and its ``description`` (on its own
    ``--help`` page, where the first paragraph is ``help``)."""
    return sub.add_parser(name, help=help, description=f"{help[0].upper()}{help[1:]}. {description}", **kwargs)


def emit(result, as_json: bool, text=None) -> None:
    from figures.io import to_jsonable

    if as_json:          # to_jsonable turns NaN/inf into null: strict JSON, whatever the source of the numbers
        print(json.dumps(to_jsonable(result), indent=1, allow_nan=False, default=str))
    else:
        print(text(result) if text is not None else str(result))


def main(argv=None) -> int:
    """Run one command; return the exit status (see the module docstring). Never lets a traceback out."""
    import warnings

    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("robustbias: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:                 # last resort: a bug, reported in one line rather than a traceback
        print(f"robustbias: internal error: {type(exc).__name__}: {_one_line(exc)} (please report it)",
              file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = shown


def _main(argv) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:                # argparse: --help/--version (0) or a usage error (2, one line)
        return exc.code if isinstance(exc.code, int) else 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if args.command == "figures" or getattr(args, "plot", None):
        _default_backend()
    try:
        result = args.func(args)
    except ConvergenceError as exc:
        print(f"robustbias: did not converge: {_one_line(exc)}", file=sys.stderr)
        return 3
    except (InvalidParameter, ValueError, TypeError) as exc:   # TypeError: a value of the wrong type (--set)
        print(f"robustbias: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"robustbias: error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("robustbias: error: not enough memory for this input (use a smaller grid or dimension)",
              file=sys.stderr)
        return 2
    as_json = getattr(args, "json", False)
    try:
        emit(result, as_json, getattr(args, "text", None))
        for path in getattr(args, "written", ()):   # files a command wrote besides its result (--plot)
            print(f"robustbias: wrote {path}" if as_json else f"wrote {path}", file=sys.stderr if as_json else sys.stdout)
    except BrokenPipeError:      # output piped into `head` and the like
        sys.stderr.close()
    return _report_failures(result)


def _report_failures(result) -> int:
    """Exit status 1 and every failure with its full error text (and hint) on stderr when points failed."""
    if hasattr(result, "exit_code"):          # results that carry their own verdict (figures check)
        return int(result.exit_code)
    failures = getattr(result, "failures", None)
    if not failures or not isinstance(failures, list) or not hasattr(result, "summary"):
        return 0
    total = len(result.records) if hasattr(result, "records") else len(result.values)
    print(f"robustbias: {len(failures)} of {total} points failed:", file=sys.stderr)
    for f in failures:
        if isinstance(f, dict):                       # GridResult: {"params", "error"}
            print(f"  {f['params']}: {f['error']}", file=sys.stderr)
        else:                                         # SweepResult: (value, error)
            print(f"  {{{result.param!r}: {f[0]!r}}}: {f[1]}", file=sys.stderr)
    return 1


def _default_backend() -> None:
    """Draw with Agg (files only, no window) unless the user configured a backend (``MPLBACKEND`` or matplotlibrc).

    Done here, for the commands that plot, and never when the library is imported.
    """
    import os

    if os.environ.get("MPLBACKEND"):
        return
    import matplotlib

    configured = getattr(matplotlib.rcParams, "_get_backend_or_none", None)
    if configured is not None and configured() is None:
        matplotlib.use("agg")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _os_error(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    what = exc.strerror or _one_line(exc)
    return f"{where!s}: {what}" if where else what


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"robustbias: warning: {_one_line(message)}", file=sys.stderr if file is None else file)
