#!/usr/bin/env bash
# Creates .venv in the repository root and installs paperfeed with its test tools.
# torch is installed first, pinned, from PyTorch's CPU index: an unpinned torch, or the plain
# PyPI build on Linux, pulls gigabytes of CUDA wheels. A machine that carries a local CPU wheel
# (pip's find-links) uses it when that index cannot be reached.
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
        | { grep -v -e "is ignored: it is neither a file nor a directory" -e "Retrying (Retry(" \
            || true; }
}
pip_install --upgrade pip
TORCH_INDEX=${PAPERFEED_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
pip_install "torch==2.13.0" --extra-index-url "$TORCH_INDEX"
pip_install -e ".[dev]"
echo "paperfeed is installed in .venv"
