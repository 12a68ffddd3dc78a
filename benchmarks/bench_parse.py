"""Entries per second of feed.parse over the 200 real feeds (fastfeedparser's benchmark set).

Usage: .venv/bin/python benchmarks/bench_parse.py [--repeat N]
Prints machine info, then feedparser alone (same options), feed.parse (feedparser + cleaning),
and parse-and-store: feed.parse plus ItemRepo.upsert into a fresh DuckDB file, one transaction
per feed, as an ingest run does. Reads ../shared/fixtures.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import tarfile
import tempfile
import time
from pathlib import Path

import feedparser
from _machine import cpu_model

from paperfeed.config import SourceConfig
from paperfeed.errors import ParseError
from paperfeed.sources import feed
from paperfeed.store import Store

SHARED = Path(os.environ.get("PAPERFEED_SHARED", Path(__file__).resolve().parents[2] / "shared"))
REAL_FEEDS = (
    SHARED / "fixtures/feeds/parser_fixtures/fastfeedparser_benchmark_200_real_feeds.tar.gz"
)


def machine_info() -> str:
    return (
        f"cpu: {cpu_model()}; cores: {os.cpu_count()}; python {platform.python_version()}; "
        f"feedparser {feedparser.__version__}"
    )


def load_bodies() -> list[bytes]:
    with tarfile.open(REAL_FEEDS) as archive:
        handles = (archive.extractfile(m) for m in archive if "/benchmark_data/" in m.name)
        return [handle.read() for handle in handles if handle is not None]


def timed(label: str, bodies: list[bytes], parse_one: object, repeat: int) -> None:
    best = float("inf")
    entries = 0
    for _ in range(repeat):
        start = time.perf_counter()
        entries = sum(parse_one(body) for body in bodies)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    print(
        f"{label}: {entries} entries from {len(bodies)} feeds in {best:.2f} s "
        f"= {entries / best:,.0f} entries/s (best of {repeat})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(machine_info())
    bodies = load_bodies()
    source = SourceConfig(name="bench", type="feed")

    def feedparser_only(body: bytes) -> int:
        parsed = feedparser.parse(
            io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False
        )
        return len(parsed.entries)

    def paperfeed_parse(body: bytes) -> int:
        try:
            return len(feed.parse(body, source))
        except ParseError:
            return 0

    timed("feedparser alone", bodies, feedparser_only, args.repeat)
    timed("feed.parse (feedparser + cleaning + links)", bodies, paperfeed_parse, args.repeat)
    parse_and_store(bodies, source)


def parse_and_store(bodies: list[bytes], source: SourceConfig) -> None:
    """Every feed parsed and upserted into a new DuckDB file under its own source name."""
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "b.duckdb") as store:
        start = time.perf_counter()
        entries = 0
        for number, body in enumerate(bodies):
            try:
                items = feed.parse(body, source)
            except ParseError:
                continue
            entries += len(items)
            store.items.upsert(items, f"feed-{number}")
        store.checkpoint()
        seconds = time.perf_counter() - start
        rows = store.items.count()
    print(
        f"parse and store: {entries} entries ({rows} rows) from {len(bodies)} feeds in "
        f"{seconds:.2f} s = {entries / seconds:,.0f} entries/s"
    )


if __name__ == "__main__":
    main()
