"""Every ``robustbias ...`` command line of the README runs as written (from a scratch folder holding the
repository's ``examples/``), and the sample data files are what ``examples/make_examples.py`` writes."""
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TORCH = importlib.util.find_spec("torch") is not None
NEEDS_TORCH = ()          # README commands that need torch (none today; they are skipped without it)


def readme_commands() -> list[str]:
    """The indented ``robustbias ...`` lines of the README, in order."""
    return [line.strip() for line in README.read_text().splitlines() if re.match(r"^ {4}robustbias\s", line)]


COMMANDS = readme_commands()


def test_the_readme_has_its_commands():
    assert len(COMMANDS) >= 9
    assert not any("FILE.npz" in c for c in COMMANDS), "a placeholder file name in a README command"


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c.split()[1:3]) for c in COMMANDS])
def test_readme_command_runs_as_written(command, tmp_path):
    if any(command.startswith(f"robustbias {c}") for c in NEEDS_TORCH) and not TORCH:
        pytest.skip("needs torch")
    os.symlink(ROOT / "examples", tmp_path / "examples")
    args = shlex.split(command)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "robustbias", *args[1:]], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    for path in re.findall(r"(?:--plot|--out|--cache)\s+(\S+)", command):
        assert (tmp_path / path).exists(), path


def test_sample_data_files_are_what_the_script_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "examples" / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for fresh in module.write(tmp_path):
        with np.load(fresh) as new, np.load(ROOT / "examples" / fresh.name) as shipped:
            assert sorted(shipped.files) == ["X", "y"]
            assert np.array_equal(new["X"], shipped["X"]) and np.array_equal(new["y"], shipped["y"])
            assert set(np.unique(shipped["y"])) == {-1.0, 1.0}


def test_sample_data_files_are_read_by_the_cli_loader():
    from robustbias.cli.files import load_labelled_data

    X, y = load_labelled_data("--data", ROOT / "examples" / "gaussian_small.npz")
    assert X.shape == (200, 50) and y.shape == (200,)
    X, y = load_labelled_data("--data", ROOT / "examples" / "separable_small.npz")
    assert X.shape == (40, 20) and np.all(y * X[:, 0] >= 1.0)      # separated by the gap of the script
