#!/usr/bin/env bash
# Scripted check of ingest's progress output (issue 12): ten real feeds from ../shared served on
# 127.0.0.1, `paperfeed ingest` run once under a pseudo-terminal (`script`) and once with its
# output to a file, each into a fresh home, with the real model. Prints both captures and
# exits 0 when the terminal run drew per-source and embedding bars and the file run has one
# line per phase and no third-party bar. Cleans up what it started (by pid).
#   scripts/check_progress.sh
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY="$REPO/.venv/bin/python"; PAPERFEED="$REPO/.venv/bin/paperfeed"
FEEDS="${PAPERFEED_SHARED:-$REPO/../shared}/fixtures/feeds/ml_org_feeds_scraped/turing_ai-rss-feeds"
WORK=$(mktemp -d); PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
            [ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT
export HF_HUB_OFFLINE=1
mkdir -p "$WORK/www"; ls "$FEEDS"/*.xml | head -10 | xargs -I{} cp {} "$WORK/www/"
"$PY" -u -m http.server 0 --bind 127.0.0.1 --directory "$WORK/www" > "$WORK/www.log" 2>&1 & PIDS+=($!)
for _ in $(seq 50); do grep -q 'port [0-9]*' "$WORK/www.log" && break; sleep 0.2; done
[ -n "$(grep -o 'port [0-9]*' "$WORK/www.log")" ] || { echo "FAIL: feed server did not start"; exit 1; }
PORT=$(grep -o 'port [0-9]*' "$WORK/www.log" | head -1 | cut -d' ' -f2)
{ echo "sources:"; for f in "$WORK"/www/*.xml; do n=$(basename "$f" .xml)
  echo "  - {name: $n, type: feed, url: \"http://127.0.0.1:$PORT/$n.xml\", allow_private: true}"; done
} > "$WORK/sources.yaml"
script -q -c "$PAPERFEED --home $WORK/tty --config $WORK/sources.yaml ingest" /dev/null > "$WORK/tty.log" || true
"$PAPERFEED" --home "$WORK/file" --config "$WORK/sources.yaml" ingest > "$WORK/file.log" 2>&1 || true
echo "=== under a terminal (carriage returns shown as newlines, 12 last frames of each bar)"
tr '\r' '\n' < "$WORK/tty.log" | grep -a -E "^(fetching|embedding)" | grep -a "|" | tail -12 || true
tr '\r' '\n' < "$WORK/tty.log" | grep -a -E "^[a-z]+: " | grep -av "|" || true
echo "=== stdout and stderr to a file"; cat "$WORK/file.log"
fail=0
tr '\r' '\n' < "$WORK/tty.log" | grep -aqE "^fetching: .*\| *10/10 " || { echo "FAIL: no per-source bar"; fail=1; }
tr '\r' '\n' < "$WORK/tty.log" | grep -aqE "^embedding: .*items/s" || { echo "FAIL: no embedding bar"; fail=1; }
[ "$(grep -cE '^(fetching|storing|embedding|indexing): ' "$WORK/file.log")" = 4 ] || { echo "FAIL: not one line per phase"; fail=1; }
! grep -qE "Loading weights|it/s|\|" "$WORK/file.log" || { echo "FAIL: a bar leaked into the file"; fail=1; }
[ $fail = 0 ] && echo "OK: bars on a terminal, one line per phase in a file"
exit $fail
