#!/usr/bin/env bash
# Create .venv (if needed) and install robustbias with its extras (deep, dask, test, tables, docs) and PyTorch.
#
# * Fails loudly: every pip step's output is kept in a log and printed in full when the step fails.
# * Checks the Python version first (>= 3.10; pick another interpreter with PYTHON=python3.12).
# * Skips everything when nothing changed: a stamp in .venv holds a hash of pyproject.toml, this script and the
#   interpreter version; it is written only after a successful install and an import check.
# * PyTorch (an optional extra with a lower bound only) is installed as torch==$TORCH_VERSION, CPU build:
#   - a CPU wheel that pip already resolves to (a local wheel, or PyPI's CPU-only builds on macOS/Windows) is used;
#   - otherwise (Linux, where PyPI's torch is the multi-GB CUDA build) it is installed from PyTorch's own CPU wheel
#     index, https://download.pytorch.org/whl/cpu;
#   - ROBUSTBIAS_TORCH=default installs pip's default build instead (CUDA on Linux); ROBUSTBIAS_TORCH=skip installs
#     none (the deep/ tests and figures then skip).
#   The build actually installed is printed at the end (torch.__version__ and its CUDA version, if any).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0
TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
TORCH_MODE=${ROBUSTBIAS_TORCH:-cpu}
STAMP=.venv/.robustbias-setup-stamp

say() { echo "setup: $*"; }
die() { echo "setup failed: $*" >&2; exit 1; }

case "$TORCH_MODE" in cpu|default|skip) ;; *) die "ROBUSTBIAS_TORCH must be cpu, default or skip, got '$TORCH_MODE'";; esac

# 1. the interpreter
command -v "$PYTHON" >/dev/null 2>&1 || die "no Python interpreter '$PYTHON' (set PYTHON=/path/to/python3.10+)"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "robustbias needs Python >= 3.10, but '$PYTHON' is $("$PYTHON" -c 'import sys; print(sys.version.split()[0])') (set PYTHON=python3.10 or newer)"
if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  die ".venv holds Python $(.venv/bin/python -c 'import sys; print(sys.version.split()[0])') (< 3.10): remove .venv and rerun"
fi

# 2. nothing changed since the last successful setup: done
stamp_value() {
  { cat pyproject.toml scripts/setup.sh; echo "torch=$TORCH_MODE"; .venv/bin/python -c 'import sys; print(sys.version)'; } \
    | "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}
IMPORTS="import asymptotics, simulate, deep, figures, robustbias, cvxpy, numba, pandas, xarray, sphinx, numpydoc"
[ "$TORCH_MODE" = skip ] || IMPORTS="$IMPORTS, torch"
if [ -x .venv/bin/python ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_value)" ] \
   && .venv/bin/python -c "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in '${IMPORTS#import }'.split(', ')))" >/dev/null 2>&1; then
  say "up to date (.venv matches pyproject.toml and scripts/setup.sh; remove $STAMP to force a reinstall)"
  exit 0
fi

# 3. install, loudly on failure, quietly otherwise
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
  "$PYTHON" -m venv .venv || die "could not create .venv with $PYTHON (on Debian/Ubuntu: apt-get install python3-venv)"
fi
. .venv/bin/activate
rm -f "$STAMP"

pip_step() {   # pip_step "what" ARGS...: run pip quietly; on failure print its whole output and stop
  local what=$1 log
  shift
  log=$(mktemp)
  if ! python -m pip "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "$what (python -m pip $*)"
  fi
  rm -f "$log"
}

say "upgrading pip"
pip_step "upgrading pip" install -q --upgrade pip

installed_torch=$(python -c 'import torch; print(torch.__version__)' 2>/dev/null || true)
need_torch=yes
if [ "$TORCH_MODE" = skip ]; then
  say "ROBUSTBIAS_TORCH=skip: not installing PyTorch (deep/ tests and network figures will skip)"
  need_torch=no
elif [ -n "$installed_torch" ] && [ "${installed_torch%%+*}" = "$TORCH_VERSION" ] && { [ "$TORCH_MODE" = default ] \
     || python -c 'import sys, torch; sys.exit(0 if torch.version.cuda is None else 1)'; }; then
  say "torch $installed_torch already installed"
  need_torch=no
elif [ -n "$installed_torch" ]; then
  pip_step "removing torch $installed_torch" uninstall -y -q torch
fi
if [ "$need_torch" = yes ] && [ "$TORCH_MODE" = default ]; then
  say "installing torch==$TORCH_VERSION, pip's default build (ROBUSTBIAS_TORCH=default; on Linux the CUDA build, several GB)"
  pip_step "installing torch" install -q "torch==$TORCH_VERSION"
elif [ "$need_torch" = yes ]; then
  # what would plain pip install? A CPU build (a local +cpu wheel, or a platform whose PyPI wheel is CPU-only)?
  report=$(mktemp)
  pip_step "resolving torch" install -q --dry-run --no-deps --ignore-installed --report "$report" "torch==$TORCH_VERSION"
  resolved=$(python - "$report" <<'EOF'
import json, platform, sys
item = json.load(open(sys.argv[1]))["install"][0]
version, url = item["metadata"]["version"], item["download_info"]["url"]
cpu = "+cpu" in version or platform.system() in ("Darwin", "Windows")
print(("cpu" if cpu else "other") + " " + version + " " + url)
EOF
)
  rm -f "$report"
  read -r kind version url <<<"$resolved"
  if [ "$kind" = cpu ]; then
    say "installing torch $version, the CPU build, from $url"
    pip_step "installing torch" install -q "torch==$TORCH_VERSION"
  else
    say "pip's default torch $version here is the CUDA build; installing the CPU build from $TORCH_CPU_INDEX"
    pip_step "installing the CPU build of torch from $TORCH_CPU_INDEX (if that index cannot be reached, rerun with \
ROBUSTBIAS_TORCH=default for the CUDA build from PyPI, or ROBUSTBIAS_TORCH=skip)" \
      install -q "torch==$TORCH_VERSION" --index-url "$TORCH_CPU_INDEX"
  fi
fi

EXTRAS=deep,dask,test,tables,docs
[ "$TORCH_MODE" != skip ] || EXTRAS=dask,test,tables,docs     # the deep extra would pull torch from PyPI
say "installing robustbias (editable) with extras $EXTRAS"
pip_step "installing robustbias" install -q -e ".[$EXTRAS]"

python -c "$IMPORTS" || die "the packages were installed but do not import (see the error above)"
if [ "$TORCH_MODE" != skip ]; then
  python -c 'import torch; c = torch.version.cuda; print("setup: torch", torch.__version__, "(CUDA " + c + " build)" if c else "(CPU build)")'
fi
stamp_value >"$STAMP"
say "done (.venv ready)"
