#!/usr/bin/env bash
# Checks that an installed wheel (not the source checkout) runs and that `paperfeed serve` finds
# its flows there: builds the wheel without network (no build isolation, no dependencies),
# installs it into a temp folder, and from outside the repository loads both flows and builds
# the two deployments exactly as `paperfeed serve` does. Dependencies come from .venv.
#   scripts/check_wheel.sh            # exit 0 and "PASS" when every step passed
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY="$REPO/.venv/bin/python"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
"$PY" -m pip wheel --quiet --no-deps --no-build-isolation -w "$WORK/dist" "$REPO"
WHEEL=$(ls "$WORK"/dist/paperfeed-*.whl)
echo "ok: built $(basename "$WHEEL")"
"$PY" -m pip install --quiet --no-deps --target "$WORK/site" "$WHEEL"
cd "$WORK"
export PYTHONPATH="$WORK/site" PAPERFEED_HOME="$WORK/home" DO_NOT_TRACK=1 \
  PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_HOME="$WORK/prefect"
"$PY" - <<'PYCODE'
import os
from pathlib import Path

import paperfeed
from paperfeed.cli.serve_cmds import build_deployments
from paperfeed.config import Schedules
from paperfeed.flowfiles import default_flows_dir, load_flow_module
from paperfeed.settings import Settings

site = Path(os.environ["PYTHONPATH"])
assert Path(paperfeed.__file__).is_relative_to(site), f"not the installed copy: {paperfeed.__file__}"
folder = default_flows_dir()
assert folder.is_relative_to(site), f"flows found outside the wheel: {folder}"
print(f"ok: serve finds the flows in the wheel: {folder.relative_to(site)}")
for name in ("ingest", "digest"):
    load_flow_module(folder, name)
deployments = build_deployments(folder, Settings.resolve(), Schedules())
print("ok: deployments built:", ", ".join(sorted(d.name for d in deployments)))
PYCODE
"$PY" -c "from paperfeed.cli import main; main([\"--help\"])" > "$WORK/help.txt" 2>&1 || true
grep -q "Example:" "$WORK/help.txt" && echo "ok: the installed CLI answers --help"
echo "PASS"
