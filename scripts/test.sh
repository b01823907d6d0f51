#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite, slow tests included (gpu tests skip without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
python -m pytest -q "$@"
