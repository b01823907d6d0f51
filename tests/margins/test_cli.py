"""``robustbias margin``: JSON output equals the Python API; bad input exits with status 2 and one line."""
import json

import numpy as np
import pytest

import asymptotics
from robustbias.cli import main


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "b.npz"
    np.savez(path, X=np.array([[4.0, 1.0], [1.0, 2.0], [2.0, 3.0]]), y=np.array([1.0, 1.0, 1.0]))
    return path


@pytest.mark.parametrize("args,kwargs", [(["--norm", "linf"], dict(norm="linf")),
                                         (["--norm", "l2", "--eps", "0.3", "--attack", "linf"],
                                          dict(norm="l2", eps=0.3, attack="linf"))])
def test_json_output_equals_python_api(data_file, capsys, args, kwargs):
    assert main(["margin", "--data", str(data_file), *args, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    with np.load(data_file) as f:
        ref = asymptotics.max_margin(f["X"], f["y"], **kwargs)
    assert got["margin"] == pytest.approx(ref.margin, rel=1e-12)
    np.testing.assert_allclose(got["w"], ref.w, rtol=1e-12)
    np.testing.assert_allclose(got["multipliers"], ref.multipliers, rtol=1e-12, atol=1e-15)


def test_text_output(data_file, capsys):
    assert main(["margin", "--data", str(data_file), "--norm", "l1"]) == 0
    assert "margin=1.75" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--norm", "l0.5"], ["--eps", "-1"], ["--attack", "lx"], ["--eps", "100"]])
def test_bad_input_exits_2_with_one_line(data_file, capsys, args):
    assert main(["margin", "--data", str(data_file), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("robustbias: error:")


def test_missing_arrays_and_missing_file(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, A=np.ones(2))
    assert main(["margin", "--data", str(bad)]) == 2
    assert main(["margin", "--data", str(tmp_path / "none.npz")]) == 2
