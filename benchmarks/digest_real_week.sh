#!/usr/bin/env bash
# A digest of a real week: a copy of a home holding the real arXiv papers (embedded), plus the
# real blog feeds of ../shared/fixtures/feeds served on 127.0.0.1 and ingested into it.
#
#   benchmarks/digest_real_week.sh HOME_COPY OUT_DIR [SRC_DIR]
#
# HOME_COPY: a copy you may write (e.g. cp -r /work/pf65k/home /tmp/me-65k), never the original.
# SRC_DIR: the paperfeed sources to run (default: this checkout's src; give an old checkout's src
# to measure "before"). Writes OUT_DIR/sources.yaml, OUT_DIR/digest.md (dry run of 2026-W34, the
# snapshot's largest week), OUT_DIR/budget90.md, OUT_DIR/ingest.json. Dry runs only: the digests
# record nothing, so an older checkout can render the same home afterwards (SKIP_INGEST=1).
set -euo pipefail
HOME_COPY=$1
OUT=$2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SRC=${3:-$ROOT/src}
FEEDS="$ROOT/../shared/fixtures/feeds"
AREAS=${AREAS:-/work/pf65k/sources.yaml}  # its focus areas and settings are used
PORT=${PORT:-8765}
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
pf() { PYTHONPATH="$SRC" "$ROOT/.venv/bin/python" -c "from paperfeed.cli import main; main()" \
    --home "$HOME_COPY" --config "$OUT/sources.yaml" "$@"; }

{
    echo "sources:"
    # ten feeds: two personal blogs, labs, product blogs, changelogs (five post in 2026-W34)
    for feed in "$FEEDS"/ml_blogs_official/{lilianweng_index_2026-07,colah_rss}.xml \
        "$FEEDS"/ml_org_feeds_scraped/olshansk_rss-feeds/feed_{anthropic_research,google_ai}.xml \
        "$FEEDS"/ml_org_feeds_scraped/olshansk_rss-feeds/feed_{claude,openai_developer}.xml \
        "$FEEDS"/ml_org_feeds_scraped/olshansk_rss-feeds/feed_{blogsurgeai,cursor,dagster}.xml \
        "$FEEDS"/ml_org_feeds_scraped/olshansk_rss-feeds/feed_ollama.xml; do
        rel=${feed#"$FEEDS"/}
        name=$(basename "$feed" .xml)
        echo "  - {name: $name, type: feed, url: 'http://127.0.0.1:$PORT/$rel', allow_private: true}"
    done
    sed -n '/^# -* focus areas/,$p' "$AREAS"
} > "$OUT/sources.yaml"

"$ROOT/.venv/bin/python" -m http.server --bind 127.0.0.1 "$PORT" --directory "$FEEDS" \
    > "$OUT/http.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER' EXIT
sleep 1
if [ -z "${SKIP_INGEST:-}" ]; then  # SKIP_INGEST=1: the home already holds the feeds
    pf ingest --json > "$OUT/ingest.json" || true  # exit 3: some feed failed (recorded, not fatal)
fi
WEEK=(--since 2026-08-17 --until 2026-08-23)
pf digest --dry-run "${WEEK[@]}" > "$OUT/digest.md"
pf digest --dry-run --budget 90 "${WEEK[@]}" > "$OUT/budget90.md"
echo "wrote $OUT/digest.md $OUT/budget90.md"
