"""Whole-run behaviour with hostile or busy servers (RELIABILITY A1 and A7 at the ingest level)."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import shared_path
from ingest_helpers import by_name, feed_source, item_count, run, write_config
from server import FixtureServer, drip, never_answer, static

from paperfeed.config import load_config
from paperfeed.http import HttpClient, HttpPolicy
from paperfeed.ingest.collect import RetryPolicy, ingest

SCRAPED = "fixtures/feeds/ml_org_feeds_scraped/olshansk_rss-feeds"
FEEDS = [
    "feed_anthropic_news.xml",
    "feed_cohere.xml",
    "feed_google_ai.xml",
    "feed_meta_ai.xml",
    "feed_mistral.xml",
    "feed_ollama.xml",
    "feed_openai_research.xml",
    "feed_pinecone.xml",
    "feed_weaviate.xml",
    "feed_the_batch.xml",
]


def _serve_healthy(srv: FixtureServer) -> list[dict[str, object]]:
    folder = shared_path(SCRAPED)
    sources = []
    for name in FEEDS:
        srv.routes[f"/{name}"] = static((folder / name).read_bytes())
        sources.append(feed_source(name.removesuffix(".xml"), srv.url(f"/{name}")))
    return sources


def test_a_stalled_source_costs_one_deadline_and_nothing_else(tmp_path: Path) -> None:
    """A1: 10 healthy sources and one that drips 1 byte / 0.5 s: the stall is cut at the
    deadline, all 10 others are stored, the run's extra time stays within deadline + 5 s."""
    deadline = 3.0
    with FixtureServer() as healthy, FixtureServer(host="127.0.0.2") as stalled:
        sources = _serve_healthy(healthy)
        stalled.routes["/feed"] = drip(interval=0.5, total=120)
        calm = write_config(tmp_path / "calm", sources)
        started = time.monotonic()
        run(calm, deadline=deadline)
        calm_wall = time.monotonic() - started
        settings = write_config(tmp_path, [*sources, feed_source("stalled", stalled.url("/feed"))])
        started = time.monotonic()
        report = run(settings, deadline=deadline)
        wall = time.monotonic() - started

    summaries = by_name(report)
    assert summaries["stalled"].status == "failed"
    assert "deadline" in (summaries["stalled"].error or "").lower()
    assert summaries["stalled"].seconds <= deadline + 1
    healthy_summaries = [s for s in report.sources if s.name != "stalled"]
    assert len(healthy_summaries) == 10
    assert all(s.status == "new" and s.new > 0 for s in healthy_summaries)
    assert item_count(settings) == item_count(calm)
    assert wall - calm_wall <= deadline + 5


def test_a_server_that_accepts_and_never_answers_is_one_final_deadline(tmp_path: Path) -> None:
    """A1 with the default shape of the policy (read timeout shorter than the total deadline):
    the read timeout is the end of the fetch, not a transient error retried with backoff."""
    retry = RetryPolicy(attempts=3, backoff=(2.0,))
    policy = HttpPolicy(total_deadline=3.0, connect_timeout=1.0, read_timeout=1.0)
    with FixtureServer() as srv:
        srv.routes["/feed"] = never_answer()
        settings = write_config(tmp_path, [feed_source("silent", srv.url("/feed"))])
        started = time.monotonic()
        with HttpClient(policy) as http:
            report = ingest(settings, load_config(settings.config_path), http=http, retry=retry)
        wall = time.monotonic() - started
        hits = srv.hits["/feed"]

    summary = by_name(report)["silent"]
    assert (summary.status, summary.requests, hits) == ("failed", 1, 1)
    assert "stopped answering" in (summary.error or "")
    assert wall <= policy.total_deadline + 5


def test_politeness_holds_one_connection_per_host(tmp_path: Path) -> None:
    """A7: 30 sources on one host and 3 hosts in all, 8 workers: at most 1 request in flight
    per host, and every source is stored."""
    body = shared_path("fixtures/feeds/ml_blogs_official/colah_rss.xml").read_bytes()
    servers = [FixtureServer(host=f"127.0.0.{i}").start() for i in (1, 2, 3)]
    try:
        sources = []
        for n in range(30):
            servers[0].routes[f"/f{n}"] = static(body.replace(b"colah", f"colah{n}".encode()))
            sources.append(feed_source(f"main-{n}", servers[0].url(f"/f{n}")))
        for server in servers[1:]:
            for n in range(5):
                server.routes[f"/g{n}"] = static(body)
                sources.append(feed_source(f"{server.base}-{n}", server.url(f"/g{n}")))
        settings = write_config(tmp_path, sources)
        with HttpClient(HttpPolicy(total_deadline=10)) as http:
            report = ingest(settings, load_config(settings.config_path), http=http, workers=8)
    finally:
        for server in servers:
            server.stop()

    assert [s.peak_concurrency for s in servers] == [1, 1, 1]
    assert sum(len(s.log) for s in servers) == 40
    assert {s.status for s in report.sources} == {"new", "unchanged"}
    assert item_count(settings) > 0


def test_a_deeply_nested_html_listing_fails_within_the_deadline_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    """1.1 MB of 100,000 nested <div>s, with selectors that match every one of them: each item
    costs a walk of its whole subtree (100+ s in all before); the parse now stops on what is
    left of the fetch's deadline, the failure is recorded on the source, and the feed beside it
    is stored. (Timing is measured by benchmarks/drill_nested_html.py, not asserted here.)"""
    deadline = 3.0
    page = b"<html><body>" + b"<div>" * 100_000 + b"x" + b"</div>" * 100_000 + b"</body></html>"
    nested = {
        "name": "nested",
        "type": "html",
        "url": "",
        "allow_private": True,
        "selectors": {"item": "div", "title": "div"},
    }
    with FixtureServer() as srv:
        srv.routes["/page"] = static(page, content_type="text/html")
        healthy = _serve_healthy(srv)[:1]
        settings = write_config(tmp_path, [*healthy, {**nested, "url": srv.url("/page")}])
        report = run(settings, deadline=deadline)

    summaries = by_name(report)
    assert len(page) > 1_100_000
    assert summaries["nested"].status == "failed"
    assert "took longer than" in (summaries["nested"].error or "")
    assert summaries["feed_anthropic_news"].status == "new"
