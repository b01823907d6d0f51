"""The CLI's exit-status policy (README): 0 done, 1 some sweep points failed (each failure in full on stderr),
2 bad input (one line), 3 a single solve did not converge; a corrupt cache entry is a one-line warning; JSON is
strict (NaN -> null) for fresh and cached points alike; no traceback, even from an unexpected error."""
import json
import math

import pytest

import robustbias.cli.solve as solve_cmd
from asymptotics import solve
from asymptotics.cache import PointCache
from asymptotics.errors import ConvergenceError
from robustbias.cli import main


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def strict_json(text):
    def reject(token):
        raise AssertionError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=reject)


LONG_HINT = ("warm-start from a neighbouring solution (sweep alpha downward), increase max_iter, or lower blend; "
             "a vanishing lam on separable data has no finite minimiser; " + "more detail " * 20 + "END")


def fail_at_lam_zero(real_solve):
    """``solve`` that raises a ConvergenceError with a long hint at lam = 0 (the real one takes seconds to)."""
    def fake(**kwargs):
        if kwargs["lam"] == 0:
            raise ConvergenceError("no fixed point", residuals=[1.0, 0.9], hint=LONG_HINT)
        return real_solve(**kwargs)
    return fake


def test_sweep_with_failed_points_exits_1_and_prints_every_failure_in_full(monkeypatch, capsys):
    import asymptotics.grid

    monkeypatch.setattr(asymptotics.grid, "solve", fail_at_lam_zero(asymptotics.grid.solve))
    code, out, err = run(capsys, "sweep", "lam", "0,0.1,0", "--alpha=2", "--eps=0")
    assert code == 1
    assert "3 points: 1 solved (0 from cache), 2 failed" in out
    lines = err.splitlines()
    assert lines[0] == "robustbias: 2 of 3 points failed:" and len(lines) == 3
    full = str(ConvergenceError("no fixed point", residuals=[1.0, 0.9], hint=LONG_HINT))
    assert all(line.endswith(f"ConvergenceError: {full}") and "'lam': 0.0" in line for line in lines[1:])


def test_single_solve_that_does_not_converge_exits_3_with_one_line_and_the_hint(monkeypatch, capsys):
    import asymptotics

    monkeypatch.setattr(asymptotics, "solve", fail_at_lam_zero(asymptotics.solve))
    code, out, err = run(capsys, "solve", "--alpha=2", "--eps=0", "--lam=0")
    assert code == 3 and out == ""
    assert err == "robustbias: did not converge: " + " ".join(
        str(ConvergenceError("no fixed point", residuals=[1.0, 0.9], hint=LONG_HINT)).split()) + "\n"


@pytest.mark.slow
def test_sweep_to_lam_zero_on_separable_data_exits_1_with_the_solver_hint(capsys):
    code, out, err = run(capsys, "sweep", "lam", "0,0.1", "--alpha=2", "--eps=0")
    with pytest.raises(ConvergenceError) as info:
        solve(alpha=2.0, eps=0.0, lam=0.0)
    assert code == 1 and "2 points: 1 solved (0 from cache), 1 failed" in out
    lines = err.splitlines()
    assert lines[0] == "robustbias: 1 of 2 points failed:" and len(lines) == 2
    assert lines[1].endswith(f"ConvergenceError: {info.value}") and "Hint: " in lines[1]


def test_corrupt_cache_entry_is_one_warning_line_naming_the_file_and_the_run_succeeds(tmp_path, capsys):
    args = ("grid", "--axis=alpha=1", "--eps=0.1", "--lam=0.1", "--cache", tmp_path, "--json")
    assert run(capsys, *args)[0] == 0
    (entry,) = PointCache(tmp_path).entries()
    entry.write_bytes(b"\xff\xfe not utf-8")
    code, out, err = run(capsys, *args)
    assert code == 0 and strict_json(out)["cached"] == 0
    assert err.count("\n") == 1 and err.startswith("robustbias: warning: cache entry ") and str(entry) in err
    assert json.loads(entry.read_text())["record"]["ok"] is True            # repaired


def test_json_writes_nan_as_null_for_cached_points_as_for_fresh_ones(tmp_path, capsys):
    args = ("grid", "--axis=alpha=1,2", "--eps=0.1", "--lam=0.1", "--cache", tmp_path, "--json")
    code, fresh, _ = run(capsys, *args)
    assert code == 0
    for path in PointCache(tmp_path).entries():          # a NaN in a stored record (as a diverged metric would be)
        entry = json.loads(path.read_text())
        entry["record"]["result"]["train_loss"] = math.nan
        path.write_text(json.dumps(entry))               # written as the token NaN, read back as a float
    code, cached, err = run(capsys, *args)
    assert code == 0 and err == ""
    fresh, cached = strict_json(fresh), strict_json(cached)
    assert cached["cached"] == 2 and [r["train_loss"] for r in cached["records"]] == [None, None]
    for f, c in zip(fresh["records"], cached["records"]):
        assert {k: v for k, v in c.items() if k not in ("train_loss", "cached")} == \
            {k: v for k, v in f.items() if k not in ("train_loss", "cached")}


@pytest.mark.parametrize("exc,code,line", [
    (PermissionError(13, "Permission denied", "/some/where"), 2, "robustbias: error: /some/where: Permission denied"),
    (MemoryError(), 2, "robustbias: error: not enough memory for this input (use a smaller grid or dimension)"),
    (RuntimeError("boom\nsecond line"), 1, "robustbias: internal error: RuntimeError: boom second line "
                                           "(please report it)"),
    (KeyboardInterrupt(), 130, "robustbias: interrupted"),
])
def test_unexpected_exceptions_become_one_line_and_a_policy_status(monkeypatch, capsys, exc, code, line):
    def explode(args):
        raise exc
    monkeypatch.setattr(solve_cmd, "_solve", explode)
    got, out, err = run(capsys, "solve", "--alpha=1", "--eps=0.1", "--lam=0.1")
    assert (got, out, err) == (code, "", line + "\n")


def test_help_and_version_exit_0_without_raising(capsys):
    assert main(["--version"]) == 0 and capsys.readouterr().out.startswith("robustbias ")
    assert main(["solve", "--help"]) == 0
