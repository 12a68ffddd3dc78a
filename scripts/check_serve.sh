#!/usr/bin/env bash
# Scripted check of `paperfeed serve` against a local `prefect server start`:
# the server comes up, serve registers both deployments with their schedules, a run of each
# triggered by hand completes. Everything runs in a temp dir on 127.0.0.1 and is cleaned up
# (the processes this script started, by pid). Bounded: gives up after CHECK_TIMEOUT seconds.
#   scripts/check_serve.sh            # exit 0 when every step passed
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY="$REPO/.venv/bin/python"; PREFECT="$REPO/.venv/bin/prefect"; PAPERFEED="$REPO/.venv/bin/paperfeed"
WORK=$(mktemp -d); PORT=${CHECK_PORT:-4391}; TIMEOUT=${CHECK_TIMEOUT:-240}
export PREFECT_HOME="$WORK/prefect" PAPERFEED_HOME="$WORK/home" DO_NOT_TRACK=1 \
  PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_API_URL="http://127.0.0.1:$PORT/api" \
  PREFECT_RUNNER_POLL_FREQUENCY=2 PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120 HF_HUB_OFFLINE=1
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
            for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
deadline=$((SECONDS + TIMEOUT))
wait_for() { until eval "$1" >/dev/null 2>&1; do
  [ $SECONDS -lt $deadline ] || { echo "FAIL: timed out waiting for: $2"; exit 1; }; sleep 1; done; }

# a feed served on 127.0.0.1, and a sources.yaml pointing at it
mkdir -p "$WORK/www"
  printf '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>Attention post</title><link>https://example.org/p1</link><guid>p1</guid><description>about attention</description></item></channel></rss>' > "$WORK/www/feed.xml"
"$PY" -m http.server 0 --bind 127.0.0.1 --directory "$WORK/www" > "$WORK/www.log" 2>&1 & PIDS+=($!)
wait_for "grep -o 'port [0-9]*' '$WORK/www.log'" "feed server"
FEED_PORT=$(grep -o 'port [0-9]*' "$WORK/www.log" | head -1 | cut -d' ' -f2)
cat > "$WORK/sources.yaml" <<YAML
sources:
  - {name: local, type: feed, url: "http://127.0.0.1:$FEED_PORT/feed.xml", allow_private: true}
focus_areas:
  - {name: attention, description: transformer attention}
settings:
  schedules: {ingest: "0 6 * * *", digest: "0 7 * * 1", timezone: Europe/London}
YAML

"$PREFECT" server start --host 127.0.0.1 --port "$PORT" > "$WORK/server.log" 2>&1 & PIDS+=($!)
wait_for "curl -fsS $PREFECT_API_URL/health" "prefect server health"
echo "ok: prefect server healthy on port $PORT"

(cd "$REPO" && exec "$PAPERFEED" --config "$WORK/sources.yaml" serve) > "$WORK/serve.log" 2>&1 & PIDS+=($!)
wait_for "'$PREFECT' deployment inspect 'paperfeed-digest/weekly'" "both deployments registered"
for d in paperfeed-ingest/daily paperfeed-digest/weekly; do
  "$PREFECT" deployment inspect "$d" > "$WORK/inspect.txt"
  grep -q "Europe/London" "$WORK/inspect.txt" || { echo "FAIL: $d has no Europe/London schedule"; cat "$WORK/inspect.txt"; exit 1; }
  echo "ok: $d registered: $(grep -o "'cron': '[^']*'" "$WORK/inspect.txt")"
done

for d in paperfeed-ingest/daily paperfeed-digest/weekly; do
  start=$SECONDS
  out=$("$PREFECT" deployment run "$d" --watch --watch-timeout 180 2>&1) || { echo "FAIL: $d run"; echo "$out"; tail -40 "$WORK/serve.log"; exit 1; }
  echo "$out" | grep -q "finished successfully in .Completed" || { echo "FAIL: $d did not complete"; echo "$out"; exit 1; }
  echo "ok: $d triggered by hand completed in $((SECONDS - start)) s"
done
ls "$PAPERFEED_HOME/digests/"*.md > /dev/null && echo "ok: digest written: $(ls "$PAPERFEED_HOME/digests/")"
echo "PASS"
