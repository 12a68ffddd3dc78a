#!/usr/bin/env bash
# Sets up .venv (if needed) and runs the whole test suite with the linters.
# Tests never touch the network; tests that need ../shared skip with a reason when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false HF_HUB_OFFLINE=1
.venv/bin/ruff check src tests flows benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
