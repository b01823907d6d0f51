"""The API reference (docs/api, Sphinx + numpydoc + MyST) builds with warnings as errors and documents every public
function and class (tests/docs/public_api.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .public_api import HAS_TORCH, core_api, deep_api

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_api_reference_builds_without_warnings_and_lists_the_public_api(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("myst_parser")
    if not HAS_TORCH:
        pytest.skip("deep/ pages need torch (pip install 'robustbias[deep]')")
    out = tmp_path / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(ROOT / "docs" / "api"), str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-5000:]
    html = "".join(p.read_text() for p in out.glob("*.html"))
    for name, obj in core_api() + deep_api():
        # autodoc anchors each documented object by its full name (as exported: asymptotics.solve, deep.optim.SignGD)
        assert f'id="{name}"' in html, f"{name} is missing from the API reference"
    assert "Tutorial: one point, a sweep" in (out / "tutorial.html").read_text()
