#!/usr/bin/env bash
# Set up, reproduce one figure with the quick preset, and solve one point (the main job, a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
robustbias figures make errors_vs_alpha --preset quick --out out/figures
robustbias solve --alpha 1 --eps 0.3 --lam 0.05 --attack linf --reg l2
