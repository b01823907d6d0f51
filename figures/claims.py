"""Claims as code: what each figure's paper states, measured on the figure's own data.

A figure module declares ``CLAIMS``, a tuple of :class:`Claim`. Each claim has the paper's statement in one
sentence, a ``measure(data, params) -> (value, holds)`` on the data the figure wrote (``value`` a number or a short
string, ``holds`` a bool), and the presets at which it is expected to hold. A claim that a faithful replication does
not reproduce stays listed with ``expected`` empty for that preset and the ``evidence`` of the replication; it is
never dropped.

``check(name, preset, outdir)`` reads the figure's data (or makes it) and returns one :class:`ClaimResult` per
claim; ``robustbias figures check`` prints them and exits 1 when an expected claim fails.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PRESETS = ("quick", "paper")


@dataclass(frozen=True)
class Claim:
    """One statement of a paper, checked on a figure's data.

    Parameters
    ----------
    name : short identifier, unique within the figure (snake_case)
    statement : the paper's claim in one sentence (cite the figure/section)
    measure : ``(data, params) -> (value, holds)``; ``value`` is what was measured (float or short str)
    expected : presets at which the claim is expected to hold (default both)
    evidence : for a claim not reproduced at some preset: what the faithful replication showed
    """

    name: str
    statement: str
    measure: Callable[[dict, dict], tuple]
    expected: tuple = PRESETS
    evidence: str = ""


@dataclass(frozen=True)
class ClaimResult:
    figure: str
    claim: str
    statement: str
    value: object
    holds: bool
    expected: bool
    evidence: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        """False only for an expected claim that fails (or whose measure raised)."""
        return self.holds or not self.expected

    def to_dict(self) -> dict:
        return {"figure": self.figure, "claim": self.claim, "statement": self.statement, "value": self.value,
                "holds": self.holds, "expected": self.expected, "ok": self.ok, "evidence": self.evidence,
                "error": self.error}


def _plain(value):
    if isinstance(value, (bool, str)) or value is None:
        return value
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return v if math.isfinite(v) else None


def evaluate(figure: str, claims, data: dict, params: dict, preset: str) -> list[ClaimResult]:
    """Measure every claim on ``data``; a measure that raises counts as not holding (with the error)."""
    out = []
    for claim in claims:
        try:
            value, holds = claim.measure(data, params)
            error = ""
        except Exception as exc:            # a broken measure must show up as a failed claim, not a crash
            value, holds, error = None, False, f"{type(exc).__name__}: {exc}"
        out.append(ClaimResult(figure, claim.name, claim.statement, _plain(value), bool(holds),
                               preset in claim.expected, claim.evidence, error))
    return out


def check(name: str, preset: str = "quick", outdir: str | Path = "out/figures", remake: bool = False,
          progress: bool = False) -> list[ClaimResult]:
    """Evaluate the claims of figure ``name`` on its data in ``outdir`` (made first if absent, stale or ``remake``).

    The data are reused only when ``NAME.params.json`` says they were made with the same preset and the preset's
    parameters unchanged.
    """
    from .io import to_jsonable
    from .registry import get, make

    mod = get(name)
    outdir = Path(outdir)
    data_path, params_path = outdir / f"{name}.json", outdir / f"{name}.params.json"
    fresh = False
    if not remake and data_path.is_file() and params_path.is_file():
        try:
            stored = json.loads(params_path.read_text())
            fresh = stored.get("preset") == preset and stored.get("params") == to_jsonable(dict(mod.PRESETS[preset]))
        except (OSError, ValueError):
            fresh = False
    if not fresh:
        make(name, preset=preset, outdir=outdir, progress=progress)
    data = json.loads(data_path.read_text())
    params = json.loads(params_path.read_text())["params"]
    return evaluate(name, getattr(mod, "CLAIMS", ()), data, params, preset)


def claims_of(module) -> tuple:
    return tuple(getattr(module, "CLAIMS", ()))


@dataclass
class ClaimTable:
    """Rows of several figures' claims, with a text rendering and a pass/fail verdict."""

    rows: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def exit_code(self) -> int:
        """0 when every expected claim holds, 1 otherwise (the CLI's exit status)."""
        return 0 if self.ok else 1

    def to_dict(self) -> dict:
        return {"ok": self.ok, "claims": [r.to_dict() for r in self.rows]}

    @classmethod
    def from_dict(cls, payload: dict) -> "ClaimTable":
        """The table back from :meth:`to_dict` (e.g. the JSON of ``robustbias figures check --json``)."""
        fields = ("figure", "claim", "statement", "value", "holds", "expected", "evidence", "error")
        return cls([ClaimResult(**{k: row.get(k, "") for k in fields}) for row in payload["claims"]])

    def markdown(self) -> str:
        """A markdown table: figure, claim, measured value, holds, expected (failures of expected claims in bold),
        and a closing count line."""
        def show(value):
            if isinstance(value, float):
                return f"{value:.4g}"
            return "n/a" if value is None or value == "" else str(value).replace("|", "\\|")

        lines = ["| figure | claim | measured | holds | expected |", "|---|---|---|---|---|"]
        for r in self.rows:
            holds = ("yes" if r.holds else "**no**") if r.ok else "**FAILS**"
            lines.append(f"| `{r.figure}` | `{r.claim}` | {show(r.value)} | {holds} | "
                         f"{'yes' if r.expected else 'no'} |")
        expected = [r for r in self.rows if r.expected]
        others = [r for r in self.rows if not r.expected]
        lines += ["", f"{len(self.rows)} claims in {len({r.figure for r in self.rows})} figures; {len(expected)} "
                      f"expected at this preset, {sum(r.holds for r in expected)} of them hold; {len(others)} not "
                      f"expected ({sum(r.holds for r in others)} of those hold anyway)."]
        return "\n".join(lines)

    def text(self) -> str:
        lines = [f"{'figure':<26} {'claim':<30} {'value':>12}  {'holds':<5} {'expected':<8}"]
        for r in self.rows:
            value = r.value if not isinstance(r.value, float) else f"{r.value:.4g}"
            flag = "" if r.ok else "  <-- FAILS"
            lines.append(f"{r.figure:<26} {r.claim:<30} {str(value):>12}  {str(r.holds):<5} {str(r.expected):<8}{flag}")
        failed = sum(not r.ok for r in self.rows)
        lines.append(f"{len(self.rows)} claims: {sum(r.holds for r in self.rows)} hold, "
                     f"{failed} expected claim(s) fail")
        return "\n".join(lines)
