"""The point cache under hostile file systems: unusable entries are recomputed with a warning naming the file, only
abandoned temporaries are swept, keys change with the numerical code, two concurrent writers agree with a serial run."""
import json
import math
import os
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from asymptotics import grid_sweep
from asymptotics.cache import (STALE_SECONDS, CacheWarning, PointCache, _host, abandoned, code_fingerprint,
                               code_version)
from asymptotics.errors import InvalidParameter

FIXED = dict(eps=0.1, lam=0.1, attack="linf")
NUMBERS = ("m", "q", "V", "P", "m_hat", "q_hat", "V_hat", "P_hat", "gen_error", "adv_error", "boundary_error")


def numbers(record):
    return {k: record["result"][k] for k in NUMBERS}


def only_entry_of(folder):
    (path,) = PointCache(folder).entries()
    return path


def fresh_cache(folder):
    reference = grid_sweep({"alpha": [1.0]}, cache=folder, **FIXED)
    return reference, only_entry_of(folder)


def _truncate(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _wrong_shape_list(path):
    path.write_text("[1, 2, 3]")


def _wrong_shape_record(path):
    entry = json.loads(path.read_text())
    entry["record"] = {"ok": True, "result": [1, 2]}
    path.write_text(json.dumps(entry))


def _record_not_an_object(path):
    entry = json.loads(path.read_text())
    entry["record"] = "solved"
    path.write_text(json.dumps(entry))


def _other_point(path):
    entry = json.loads(path.read_text())
    entry["params"]["alpha"] = 7.0
    path.write_text(json.dumps(entry))


def _other_version(path):
    entry = json.loads(path.read_text())
    entry["version"] = "0.0.1+0000"
    path.write_text(json.dumps(entry))


def _non_utf8(path):
    path.write_bytes(b"\xff\xfe\x00{" + path.read_bytes()[3:])


def _empty(path):
    path.write_bytes(b"")


def _stored_failure(path):
    entry = json.loads(path.read_text())
    entry["record"] = {"ok": False, "result": None, "error": "old"}
    path.write_text(json.dumps(entry))


def _nested_too_deep(path):
    path.write_text("[" * 100_000 + "]" * 100_000)


def _directory(path):
    path.unlink()
    path.mkdir()


CORRUPTIONS = {"truncated": _truncate, "json list": _wrong_shape_list, "result not an object": _wrong_shape_record,
               "record a string": _record_not_an_object, "another point's params": _other_point,
               "another code version": _other_version, "not utf-8": _non_utf8, "empty": _empty,
               "a stored failure": _stored_failure, "nested too deep": _nested_too_deep,
               "directory in place of the file": _directory}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_unusable_entry_is_recomputed_with_a_warning_naming_the_file(tmp_path, corruption):
    reference, path = fresh_cache(tmp_path)
    CORRUPTIONS[corruption](path)
    with pytest.warns(CacheWarning) as caught:
        again = grid_sweep({"alpha": [1.0]}, cache=tmp_path, **FIXED)
    assert str(path) in str(caught[0].message) and "recomputing" in str(caught[0].message)
    assert again.cached == 0 and again.records[0]["ok"]
    assert numbers(again.records[0]) == numbers(reference.records[0])
    if corruption == "directory in place of the file":        # cannot be replaced: a second warning says so
        assert any("not cached" in str(w.message) for w in caught)
    else:                                                     # repaired: the next run reads it back
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            third = grid_sweep({"alpha": [1.0]}, cache=tmp_path, **FIXED)
        assert third.cached == 1 and numbers(third.records[0]) == numbers(reference.records[0])


def test_cache_folder_at_or_under_a_file_is_invalid_before_any_work(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for folder, needle in ((afile, "is a file"), (afile / "sub" / "deeper", "lies under")):
        with pytest.raises(InvalidParameter, match=needle) as info:
            grid_sweep({"alpha": [1.0]}, cache=folder, **FIXED)
        assert info.value.parameter == "cache" and str(afile) in str(info.value)


def _touch(folder, name, age=0.0):
    path = folder / name
    path.write_bytes(b"partial")
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid          # reaped: no process has it (pid reuse within the test is vanishingly unlikely)


def test_only_provably_abandoned_temporaries_are_swept(tmp_path):
    host = _host()
    live = _touch(tmp_path, f".k1~{host}~{os.getpid()}~abc.tmp")
    dead = _touch(tmp_path, f".k2~{host}~{_dead_pid()}~abc.tmp")
    foreign_recent = _touch(tmp_path, ".k3~another-host~1~abc.tmp")
    foreign_old = _touch(tmp_path, ".k4~another-host~1~abc.tmp", age=STALE_SECONDS + 60)
    legacy_recent = _touch(tmp_path, ".k5.x1y2.tmp")
    legacy_old = _touch(tmp_path, ".k6.x1y2.tmp", age=STALE_SECONDS + 60)
    live_but_old = _touch(tmp_path, f".k7~{host}~{os.getpid()}~abc.tmp", age=STALE_SECONDS + 60)
    assert [abandoned(p) for p in (live, dead, foreign_recent, foreign_old, legacy_recent, legacy_old)] == \
        [False, True, False, True, False, True]
    assert PointCache(tmp_path).sweep_stray_temporaries() == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (live, foreign_recent, legacy_recent))
    assert not live_but_old.exists()     # older than STALE_SECONDS: no write takes that long, even a live process's


def test_fingerprint_changes_with_the_numerical_source_only(tmp_path, monkeypatch):
    pkg = tmp_path / "fakenum"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "formula.py").write_text("def f(x):\n    return 2 * x\n")
    (pkg / "cache.py").write_text("# storage only\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = code_fingerprint.__wrapped__("fakenum")
    (pkg / "cache.py").write_text("# storage only, edited\n")          # NON_NUMERICAL: no change
    assert code_fingerprint.__wrapped__("fakenum") == before
    (pkg / "formula.py").write_text("def f(x):\n    return 3 * x\n")   # a "fixed bug"
    after = code_fingerprint.__wrapped__("fakenum")
    assert after != before and len(after) == 16
    assert code_version().endswith("+" + code_fingerprint("asymptotics"))


def test_a_new_code_version_never_reads_old_entries(tmp_path):
    grid_sweep({"alpha": [1.0]}, cache=tmp_path, **FIXED)
    params = {**FIXED, "alpha": 1.0}                     # what grid_sweep stores: the fixed and axis values
    assert PointCache(tmp_path).get(params) is not None
    assert PointCache(tmp_path, version="0.1.0").get(params) is None


def test_nan_in_a_record_survives_the_cache_as_a_float(tmp_path):
    store = PointCache(tmp_path)
    store.put({"a": 1.0}, {"ok": True, "result": {"x": math.nan, "y": math.inf}, "params": {"a": 1.0}})
    back = store.get({"a": 1.0})["result"]
    assert math.isnan(back["x"]) and back["y"] == math.inf


RACE = textwrap.dedent("""
    import sys, time, numpy as np
    from pathlib import Path
    from asymptotics import grid_sweep
    folder, role = sys.argv[1], sys.argv[2]
    while not (Path(folder) / "GO").exists():
        time.sleep(0.005)
    if role == "long":          # one sweep writing many points
        grid_sweep({"alpha": list(np.logspace(-1, 1, 12)), "eps": [0.1, 0.2]}, continuation=None, cache=folder,
                   lam=0.1)
    else:                       # many short sweeps: each one sweeps the folder's temporaries at its start
        for a in np.logspace(-1, 1, 12)[::2]:
            grid_sweep({"alpha": [a, a * 1.5]}, continuation=None, cache=folder, eps=0.1, lam=0.1)
""")


def test_two_concurrent_writers_store_every_point_once_and_equal_to_a_serial_run(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(folder), role], stderr=subprocess.PIPE, text=True)
             for role in ("long", "short")]
    time.sleep(0.2)
    (folder / "GO").write_text("")
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert not any("Traceback" in e or "CacheWarning" in e for e in errors), errors   # no write lost to the other
    alphas = list(np.logspace(-1, 1, 12))
    union = {(a, e) for a in alphas for e in (0.1, 0.2)} | {(a * 1.5, 0.1) for a in alphas[::2]}
    files = PointCache(folder).entries()
    assert len(files) == len(union) and not list(folder.glob(".*.tmp"))
    stored = {}
    for path in files:
        entry = json.loads(path.read_text())
        stored[(entry["params"]["alpha"], entry["params"]["eps"])] = entry["record"]
    assert set(stored) == union                                       # every point present, once (one file each)
    # cold solves (continuation=None) do not depend on which process solved a point first
    serial = grid_sweep({"alpha": sorted(a for a, e in union if e == 0.1)}, continuation=None, executor="serial",
                        eps=0.1, lam=0.1)
    serial_02 = grid_sweep({"alpha": alphas}, continuation=None, executor="serial", eps=0.2, lam=0.1)
    for rec in serial.records + serial_02.records:
        key = (rec["params"]["alpha"], rec["params"]["eps"])
        assert numbers(stored[key]) == numbers(rec), key                         # bit-identical


@pytest.mark.slow
def test_a_workers_cache_warning_reaches_the_parent_process(tmp_path):
    # serial runs re-issue through the same path (the corrupted-cache matrix); this checks loky workers (~3 s)
    axes = {"alpha": [1.0, 2.0]}
    grid_sweep(axes, continuation=None, cache=tmp_path, **FIXED)
    entries = PointCache(tmp_path).entries()
    for path in entries:
        path.write_bytes(b"")
    with pytest.warns(CacheWarning) as caught:
        again = grid_sweep(axes, continuation=None, executor="joblib", jobs=2, cache=tmp_path, **FIXED)
    assert again.cached == 0 and not again.failures
    assert sorted(str(p) for p in entries) == sorted(str(w.message).split()[2] for w in caught)
