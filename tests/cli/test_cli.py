"""The robustbias command line: JSON output equals the Python API, bad input is one line and exit status 2."""
import json
import subprocess
import sys

import pytest

from asymptotics import solve, sweep
from robustbias.cli import main


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "robustbias", *args], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_solve_json_equals_python_api(capsys):
    assert main(["solve", "--alpha", "1", "--eps", "0.3", "--lam", "0.05", "--attack", "linf", "--reg", "l1",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    fp = solve(1.0, 0.3, 0.05, attack="linf", reg="l1")
    for key in ("m", "q", "V", "P", "adv_error", "gen_error"):
        assert data[key] == pytest.approx(getattr(fp, key), rel=1e-12)


def test_sweep_json_and_plot(tmp_path, capsys):
    png = tmp_path / "sweep.png"
    assert main(["sweep", "alpha", "0.1:3:4", "--eps", "0.3", "--lam", "0.05", "--json", "--plot", str(png)]) == 0
    data = json.loads(capsys.readouterr().out)
    ref = sweep("alpha", [0.1, 0.1 * 30 ** (1 / 3), 0.1 * 30 ** (2 / 3), 3.0], eps=0.3, lam=0.05)
    assert [r["alpha"] for r in data["records"]] == pytest.approx(list(ref.values))
    assert [r["adv_error"] for r in data["records"]] == pytest.approx(list(ref.column("adv_error")), rel=1e-7)
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("args,needle", [
    (["solve", "--alpha", "-1", "--eps", "0.3", "--lam", "0.05"], "alpha"),
    (["solve", "--alpha", "1", "--eps", "0.3", "--lam", "0.05", "--attack", "l0.5"], "attack"),
    (["solve", "--alpha", "1", "--eps", "0.3"], "--lam"),
    (["sweep", "alpha", "1:x:3", "--eps", "0.3", "--lam", "0.1"], "grid"),
    (["figures", "make", "no_such_figure"], "no_such_figure"),
])
def test_bad_input_prints_one_line_and_exits_2(args, needle):
    code, out, err = run_cli(*args)
    assert code == 2
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_figures_list_json(capsys):
    assert main(["figures", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["name"] for r in rows}
    assert {"errors_vs_alpha", "reg_order_optimal_lambda", "tradeoff", "winning_reg_map"} <= names
