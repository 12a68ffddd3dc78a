#!/usr/bin/env bash
# Creates .venv in the repository root and installs paperfeed with its test tools.
# torch is installed first and pinned: an unpinned torch pulls gigabytes of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
pip_install() {
    # Some machines carry pip settings that warn once per package about missing local indexes;
    # those lines are noise, everything else (and pip's exit status) comes through.
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}
pip_install --upgrade pip
pip_install "torch==2.13.0"
pip_install -e ".[dev]"
echo "paperfeed is installed in .venv"
