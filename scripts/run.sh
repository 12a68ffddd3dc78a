#!/usr/bin/env bash
# Sets up .venv (if needed), then runs the main job for ./sources.yaml:
# ingest every source, embed what is new, and write this week's digest.
# Without network it still finishes: each unreachable source is reported, and the digest says so.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false HF_HUB_OFFLINE=1
.venv/bin/paperfeed ingest "$@"
status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
    exit "$status"  # 1: bad config or another fatal error, already explained above
fi
[ "$status" -eq 3 ] && echo "some sources failed (listed above); the digest lists them under 'Needs attention'"
.venv/bin/paperfeed digest
