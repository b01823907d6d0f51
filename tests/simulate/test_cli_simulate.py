"""robustbias simulate / compare: JSON equals the Python API; bad input is one line and exit status 2."""
import json

import pytest

from robustbias.cli import main
from simulate import erm


def test_simulate_json_equals_python_api(capsys):
    assert main(["simulate", "--alpha", "0.5", "--eps", "0.3", "--lam", "0.05", "--d", "100", "--seeds", "2",
                 "--n-test", "300", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ref = erm(alpha=0.5, eps=0.3, lam=0.05, d=100, seeds=2, n_test=300)
    for key in ("m", "q", "P", "adv_error", "adv_error_mc"):
        assert data["mean"][key] == pytest.approx(ref.mean[key], rel=1e-12)


def test_compare_json_and_plot(tmp_path, capsys):
    png = tmp_path / "cmp.png"
    assert main(["compare", "--alpha", "0.5", "--eps", "0.3", "--lam", "0.05", "--ds", "60,120", "--seeds", "3",
                 "--n-test", "200", "--json", "--plot", str(png)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["rows"]) >= {"m", "q", "P", "gen_error", "adv_error"} and png.stat().st_size > 0


def test_bad_dimension_list_exits_2(capsys):
    assert main(["compare", "--alpha", "0.5", "--eps", "0.3", "--lam", "0.05", "--ds", "a,b"]) == 2
    assert "ds" in capsys.readouterr().err
