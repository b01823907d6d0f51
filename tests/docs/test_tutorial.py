"""docs/tutorial.md runs as written: its Python blocks in order in one namespace, its shell blocks
(``robustbias ...`` lines) as commands, all from a scratch folder."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(TUTORIAL.read_text()) if lang == language]


SHELL = [line for body in blocks("bash") for line in body.splitlines() if line.strip()]


def test_the_tutorial_has_code_for_each_step():
    python, shell = blocks("python"), blocks("bash")
    text = "\n".join(python)
    for call in ("asymptotics.solve(", "asymptotics.sweep(", "simulate.erm(", "simulate.compare(", "figures.make("):
        assert call in text, call
    commands = [line for body in shell for line in body.splitlines() if line.strip()]
    assert all(c.startswith("robustbias ") for c in commands) and len(commands) >= 5
    assert any(c.startswith("robustbias figures make") for c in commands)


@pytest.mark.slow
def test_the_python_blocks_run_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "tutorial"}
    for i, body in enumerate(blocks("python")):
        exec(compile(body, f"{TUTORIAL}:python-block-{i + 1}", "exec"), namespace)
    assert Path(namespace["out"].png).exists()


@pytest.mark.slow
@pytest.mark.parametrize("command", SHELL, ids=[" ".join(c.split()[1:3]) for c in SHELL])
def test_the_shell_commands_run(command, tmp_path):
    args = shlex.split(command)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "robustbias", *args[1:]], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    for path in re.findall(r"(?:--plot)\s+(\S+)", command):
        assert (tmp_path / path).exists() and f"wrote {path}" in proc.stdout
