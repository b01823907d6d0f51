"""Claims as code (figures/claims.py): evaluation, freshness of the data, the CLI and the registry-wide contract."""
import json
import sys
import types

import pytest

import figures
import figures.registry as registry
from figures.claims import Claim, ClaimResult, ClaimTable, check, evaluate
from robustbias.cli import main

FAKE = "fake_claims_figure"


def _fake_module(calls: list) -> types.ModuleType:
    """A registry-conforming figure whose compute records each call and whose data is {"x": scale}."""
    mod = types.ModuleType(f"tests_{FAKE}")
    mod.NAME, mod.TITLE, mod.REQUIRES = FAKE, "fake figure for claim tests", ()
    mod.PRESETS = {"quick": {"scale": 1.0}, "paper": {"scale": 2.0}}

    def compute(params, progress=False):
        calls.append(dict(params))
        return {"x": params["scale"], "series": [1.0, float("nan")]}

    def plot(data, params):
        import matplotlib.pyplot as plt

        return plt.figure(figsize=(1, 1))

    mod.compute, mod.plot = compute, plot
    mod.CLAIMS = (
        Claim("x_positive", "x > 0", lambda d, p: (d["x"], d["x"] > 0)),
        Claim("x_large", "x >= 2 (holds only at the paper preset)", lambda d, p: (d["x"], d["x"] >= 2),
              expected=("paper",), evidence="quick uses scale 1"),
    )
    return mod


@pytest.fixture
def fake(monkeypatch):
    """Register the fake figure (registry and the package-level re-export) and return its compute calls."""
    calls: list = []
    mod = _fake_module(calls)
    table = {**registry.available(), FAKE: mod.__name__}
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setattr(registry, "available", lambda: table)
    monkeypatch.setattr(figures, "available", lambda: table)
    return types.SimpleNamespace(module=mod, calls=calls)


def test_evaluate_marks_expected_per_preset_and_measures_values():
    claims = _fake_module([]).CLAIMS
    quick = {r.claim: r for r in evaluate("f", claims, {"x": 1.0}, {}, "quick")}
    paper = {r.claim: r for r in evaluate("f", claims, {"x": 1.0}, {}, "paper")}
    assert quick["x_positive"].holds and quick["x_positive"].value == 1.0 and quick["x_positive"].expected
    assert not quick["x_large"].holds and not quick["x_large"].expected and quick["x_large"].ok
    assert quick["x_large"].evidence == "quick uses scale 1"
    assert paper["x_large"].expected and not paper["x_large"].ok


def test_a_measure_that_raises_is_a_failed_claim_with_its_error():
    claim = Claim("broken", "s", lambda d, p: (d["missing"], True))
    (result,) = evaluate("f", (claim,), {}, {}, "quick")
    assert not result.holds and not result.ok and result.value is None
    assert result.error.startswith("KeyError") and "missing" in result.error


def test_values_become_plain_json_numbers():
    import numpy as np

    claims = (Claim("nan", "s", lambda d, p: (np.float64("nan"), np.bool_(True))),
              Claim("text", "s", lambda d, p: ("a->b", 1)))
    nan, text = evaluate("f", claims, {}, {}, "quick")
    assert nan.value is None and nan.holds is True and type(nan.holds) is bool
    assert text.value == "a->b"
    json.dumps([nan.to_dict(), text.to_dict()])


def _row(holds, expected):
    return ClaimResult("f", "c", "s", 1.0, holds, expected)


@pytest.mark.parametrize("rows, ok", [([], True), ([(True, True), (False, False)], True),
                                      ([(True, True), (False, True)], False)])
def test_claim_table_verdict_and_exit_code(rows, ok):
    table = ClaimTable([_row(h, e) for h, e in rows])
    assert table.ok is ok and table.exit_code == (0 if ok else 1)
    assert table.to_dict()["ok"] is ok
    text = table.text()
    assert text.splitlines()[-1].startswith(f"{len(rows)} claims")
    assert ("FAILS" in text) is (not ok)


def test_check_makes_then_reuses_fresh_data(fake, tmp_path):
    first = check(FAKE, "quick", tmp_path)
    assert len(fake.calls) == 1 and [r.claim for r in first] == ["x_positive", "x_large"]
    again = check(FAKE, "quick", tmp_path)
    assert len(fake.calls) == 1, "fresh data (same preset and parameters) must be reused"
    assert [r.to_dict() for r in again] == [r.to_dict() for r in first]
    check(FAKE, "quick", tmp_path, remake=True)
    assert len(fake.calls) == 2


def test_check_remakes_data_whose_params_or_preset_changed(fake, tmp_path, monkeypatch):
    check(FAKE, "quick", tmp_path)
    monkeypatch.setitem(fake.module.PRESETS, "quick", {"scale": 3.0})
    results = check(FAKE, "quick", tmp_path)
    assert len(fake.calls) == 2 and fake.calls[-1] == {"scale": 3.0}
    assert results[1].value == 3.0 and results[1].holds
    check(FAKE, "paper", tmp_path)
    assert len(fake.calls) == 3 and fake.calls[-1] == {"scale": 2.0}


def test_check_remakes_when_the_params_file_is_corrupt(fake, tmp_path):
    check(FAKE, "quick", tmp_path)
    (tmp_path / f"{FAKE}.params.json").write_text("{not json")
    check(FAKE, "quick", tmp_path)
    assert len(fake.calls) == 2


def test_cli_check_exit_status_follows_expected_claims(fake, tmp_path, monkeypatch, capsys):
    assert main(["figures", "check", FAKE, "--out", str(tmp_path)]) == 0
    assert "x_positive" in capsys.readouterr().out
    assert main(["figures", "check", FAKE, "--out", str(tmp_path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is True and {c["claim"] for c in payload["claims"]} == {"x_positive", "x_large"}
    # make an expected claim fail: exit 1, the row marked
    failing = Claim("x_negative", "x < 0", lambda d, p: (d["x"], d["x"] < 0))
    monkeypatch.setattr(fake.module, "CLAIMS", fake.module.CLAIMS + (failing,))
    assert main(["figures", "check", FAKE, "--out", str(tmp_path)]) == 1
    assert "FAILS" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["figures", "check"], ["figures", "check", "no_such_figure"],
                                  ["figures", "check", "tradeoff", "--all"]])
def test_cli_check_bad_names_exit_2_with_one_line(argv, tmp_path, capsys):
    assert main(argv + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("robustbias: error") and "\n" not in err


@pytest.mark.parametrize("name", sorted(figures.available()))
def test_every_figure_declares_named_claims_with_statements(name):
    claims = getattr(figures.get(name), "CLAIMS", ())
    assert claims, f"{name} declares no CLAIMS"
    names = [c.name for c in claims]
    assert len(set(names)) == len(names), f"duplicate claim names in {name}: {names}"
    for c in claims:
        assert isinstance(c, Claim) and c.name.isidentifier() and c.statement.strip() and callable(c.measure)
        assert set(c.expected) <= {"quick", "paper"}
        assert c.evidence or set(c.expected) == {"quick", "paper"}, f"{name}.{c.name}: not expected without evidence"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rademacher_vs_dimension", "tradeoff", "errors_vs_alpha", "robust_steepest_descent"])
def test_cheap_quick_figures_reproduce_their_expected_claims(name, tmp_path):
    results = check(name, "quick", tmp_path)
    assert results and all(r.expected for r in results)
    failed = [(r.claim, r.value, r.error) for r in results if not r.ok]
    assert not failed, f"{name}: expected claims fail at the quick preset: {failed}"


def test_markdown_table_rows_and_counts_round_trip_through_json():
    rows = evaluate("f", _fake_module([]).CLAIMS, {"x": 1.0}, {}, "quick")
    rows.append(ClaimResult("g", "broken", "s", None, False, True, "", "ValueError: x"))
    table = ClaimTable.from_dict(json.loads(json.dumps(ClaimTable(rows).to_dict())))
    assert [r.to_dict() for r in table.rows] == [r.to_dict() for r in rows]
    lines = table.markdown().splitlines()
    assert lines[0] == "| figure | claim | measured | holds | expected |"
    assert lines[2] == "| `f` | `x_positive` | 1 | yes | yes |"
    assert lines[3] == "| `f` | `x_large` | 1 | **no** | no |"             # not expected at quick: listed, not failed
    assert lines[4] == "| `g` | `broken` | n/a | **FAILS** | yes |"
    assert lines[-1] == ("3 claims in 2 figures; 2 expected at this preset, 1 of them hold; 1 not expected "
                         "(0 of those hold anyway).")
