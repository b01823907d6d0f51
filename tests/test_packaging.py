"""Packaging: the wheel carries the LICENSE and the metadata (license expression, classifiers, URLs); CITATION.cff
cites the package and the ten papers; scripts/setup.sh checks what it promises."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_the_license_and_the_metadata(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = tmp_path.glob("robustbias-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        licenses = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert licenses, f"no LICENSE in {wheel.name}: {[n for n in names if 'dist-info' in n]}"
        assert zf.read(licenses[0]).decode() == (ROOT / "LICENSE").read_text()
        meta = Parser().parsestr(zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    assert meta["License-Expression"] == "MIT"
    assert "LICENSE" in meta.get_all("License-File")
    assert "Intended Audience :: Science/Research" in meta.get_all("Classifier")
    assert any("arxiv.org/abs/2410.16073" in url for url in meta.get_all("Project-URL"))
    for package in ("asymptotics", "simulate", "deep", "figures", "robustbias"):
        assert f"{package}/__init__.py" in names


def test_license_is_mit_for_the_robustbias_developers():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 robustbias developers" in text


def test_citation_cites_the_package_and_the_ten_papers():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "MIT"
    assert cff["title"].startswith("robustbias")
    refs = cff["references"]
    assert len(refs) == 10
    ids = {ref["identifiers"][0]["value"] for ref in refs}
    assert ids == {f"arXiv:{n}" for n in ("2410.16073", "2406.04981", "2410.22069", "2402.11004", "2303.11873",
                                          "2210.05577", "2207.11727", "2311.07444", "2404.19640", "2307.02693")}
    assert all(ref["title"] and ref["authors"] and ref["year"] for ref in refs)


def test_pyproject_floors_setuptools_for_the_plain_string_license():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "setuptools>=77" in meta["build-system"]["requires"]
    assert meta["project"]["license"] == "MIT" and meta["project"]["license-files"] == ["LICENSE"]
    extras = meta["project"]["optional-dependencies"]
    assert any(r.startswith("pandas") for r in extras["tables"]) and any(r.startswith("xarray") for r in extras["tables"])
    assert any(r.startswith("sphinx") for r in extras["docs"]) and any(r.startswith("numpydoc") for r in extras["docs"])


def test_setup_script_fails_loudly_checks_python_and_skips_when_unchanged():
    script = (ROOT / "scripts" / "setup.sh").read_text()
    pip_lines = [line for line in script.splitlines() if "pip" in line and not line.lstrip().startswith("#")]
    assert not [line for line in pip_lines if "|| true" in line or "| grep" in line]   # no install error swallowed
    assert "set -euo pipefail" in script
    assert "sys.version_info >= (3, 10)" in script
    assert ".robustbias-setup-stamp" in script and "hashlib.sha256" in script
    assert "https://download.pytorch.org/whl/cpu" in script
    assert ".[$EXTRAS]" in script and "EXTRAS=deep,dask,test,tables,docs" in script


def test_setup_script_rejects_an_old_python(tmp_path):
    """PYTHON pointing at an interpreter older than 3.10 stops with a clear message before anything is installed."""
    fake = tmp_path / "python3.8"
    fake.write_text("#!/bin/sh\necho 'Python 3.8.18'\nexit 1\n")    # reports a failed version check, like 3.8 would
    fake.chmod(0o755)
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    (copy / "scripts" / "setup.sh").write_text((ROOT / "scripts" / "setup.sh").read_text())
    proc = subprocess.run(["bash", "scripts/setup.sh"], cwd=copy, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": str(fake)})
    assert proc.returncode == 1
    assert "setup failed: robustbias needs Python >= 3.10" in proc.stderr
    assert not (copy / ".venv").exists()
