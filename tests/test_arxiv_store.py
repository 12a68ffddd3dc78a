"""arXiv responses all the way into DuckDB: the error feed stores nothing, overlapping pages
store each paper once, and a version bump updates the row in place."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import shared_path
from ingest_helpers import by_name, item_count, run, write_config
from server import FixtureServer, static

from paperfeed.sources import arxiv
from paperfeed.store import Store

RECORDED = "fixtures/arxiv_api/arxiv_py_recorded_2026"


def _body(name_glob: str) -> bytes:
    path = next(shared_path(RECORDED).glob(name_glob))
    return json.loads(path.read_text())["body"].encode("latin-1")


def test_error_feed_is_a_source_error_and_stores_zero_rows(tmp_path: Path) -> None:
    with FixtureServer() as srv:
        srv.routes["/api/query"] = static(_body("id_abc_*.json"))
        source = {
            "name": "arxiv-bad",
            "type": "arxiv",
            "query": "abc",
            "allow_private": True,
            "base_url": srv.url("/api/query"),
        }
        settings = write_config(tmp_path, [source])
        report = run(settings)

    summary = by_name(report)["arxiv-bad"]
    assert summary.status == "failed"
    assert "incorrect id format" in (summary.error or "")
    assert item_count(settings) == 0
    with Store.open(settings.db_path, read_only=True) as store:
        kinds = [kind for _, _, kind, _ in store.sources.recent_errors("arxiv-bad")]
    assert kinds == ["ArxivApiError"]


def test_overlapping_pages_dedupe_to_the_exact_count() -> None:
    pages = sorted(shared_path(RECORDED).glob("q_testing_*.json"))
    bodies = [json.loads(p.read_text())["body"].encode("latin-1") for p in pages]
    expected = {
        re.sub(r"v\d+$", "", m.decode().rsplit("/abs/", 1)[-1])
        for body in bodies
        for m in re.findall(rb"<id>([^<]*/abs/[^<]+)</id>", body)
    }
    store = Store.memory()
    for body in bodies:
        store.items.upsert(arxiv.parse(body).items, "arxiv-testing")

    assert len(pages) == 12
    assert store.items.count() == len(expected) >= 50
