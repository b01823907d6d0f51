#!/usr/bin/env bash
# Create .venv (if needed) and install robustbias with its extras. torch is pinned to the CPU build 2.13.0
# explicitly: a bare `torch` requirement would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
python -m pip install -q "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
python -m pip install -q -e ".[deep,dask,test]" 2>&1 | grep -v -e "^WARNING: Location" -e "BuildBackendWarning" || true
python -c "import asymptotics, simulate, figures, robustbias, torch, cvxpy, numba" \
  || { echo "setup failed: imports do not work" >&2; exit 1; }
