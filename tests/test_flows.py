"""Prefect flows (RELIABILITY F1, F3, F4): retries only for transient errors, partial failure,
the digest's needs-attention list, the same rows as `paperfeed ingest`, reruns that add nothing.

One `prefect_test_harness` for the whole module (it takes ~10 s to start), with a temporary
PREFECT_HOME and telemetry off. Feeds are served by tests/server.py on 127.0.0.1. The embedding
model and the query encoder are replaced by the deterministic hashing fake.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from conftest import REPO, shared_path
from fakes import FAKE_MODEL, HashingEmbedder
from server import Exchange, FixtureServer, static, status

from paperfeed.config import load_config
from paperfeed.embed import embedder
from paperfeed.flowfiles import load_flow_module
from paperfeed.ingest import refresh
from paperfeed.ingest.collect import RetryPolicy, ingest
from paperfeed.settings import Settings
from paperfeed.store import Store

pytestmark = pytest.mark.prefect
NO_DELAY = [0.0, 0.0, 0.0]
ARRIVAL_NOISE_S = 0.05  # how far a loaded test server may shift the time it logs an arrival
ITEM_COLUMNS = (
    "key, kind, title, summary, url, arxiv_id, arxiv_version, doi, authors, categories, links, "
    "published_at, updated_at, content_hash"
)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    env = {
        "PREFECT_HOME": str(tmp_path_factory.mktemp("prefect_home")),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=None):
            yield


@pytest.fixture(scope="module")
def flows(harness: None) -> dict[str, ModuleType]:
    folder = REPO / "flows"
    return {name: load_flow_module(folder, name) for name in ("ingest", "digest")}


@pytest.fixture(autouse=True)
def fake_models(monkeypatch: pytest.MonkeyPatch) -> None:
    real_refresh = refresh.refresh_embeddings

    def fake_refresh(settings: Settings, config: Any, **_: Any) -> int:
        return real_refresh(settings, config, embedder=HashingEmbedder())

    monkeypatch.setattr(refresh, "refresh_embeddings", fake_refresh)
    monkeypatch.setattr(embedder, "load_query_encoder", lambda _model: HashingEmbedder().query)


# ---------------------------------------------------------------- fixtures: feeds and config


def fresh_rss(name: str, count: int = 3) -> bytes:
    """An RSS feed whose items were published in the last days (inside the digest window)."""
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>{name} post {i} on transformer attention</title>"
        f"<link>https://{name}.example/posts/{i}</link><guid>{name}-{i}</guid>"
        f"<description>Notes about attention and retrieval, part {i} of {name}.</description>"
        f"<pubDate>{format_datetime(now - timedelta(hours=6 + i))}</pubDate></item>"
        for i in range(count)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
        f"<link>https://{name}.example/</link>{items}</channel></rss>"
    ).encode()


def failing_then(body: bytes, failures: int) -> Any:
    """500 for the first `failures` requests, then the feed."""
    lock, seen = threading.Lock(), [0]

    def handle(ex: Exchange) -> None:
        with lock:
            seen[0] += 1
            attempt = seen[0]
        if attempt <= failures:
            ex.send(500, {"Content-Type": "text/plain"}, b"oops")
        else:
            ex.send(200, {"Content-Type": "application/rss+xml"}, body)

    return handle


def write_config(tmp_path: Path, srv: FixtureServer, routes: list[str]) -> Settings:
    sources = [
        {"name": route.strip("/"), "type": "feed", "url": srv.url(route), "allow_private": True}
        for route in routes
    ]
    document = {
        "sources": sources,
        "focus_areas": [
            {
                "name": "attention",
                "description": "transformer attention and retrieval",
                "keywords": ["attention"],
            }
        ],
        "settings": {"model": FAKE_MODEL},
    }
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return Settings(home=tmp_path / "home", config_path=path)


def run_ingest(flows: dict[str, ModuleType], settings: Settings, **kw: Any) -> Any:
    return flows["ingest"].ingest_flow(
        home=str(settings.home), config=str(settings.config_path), **kw
    )


def source_states(settings: Settings) -> dict[str, Any]:
    with Store.open(settings.db_path, read_only=True) as store:
        return store.sources.all()


# ---------------------------------------------------------------- F1: retries


def test_only_transient_errors_are_retried_with_the_configured_delays(
    flows: dict[str, ModuleType], tmp_path: Path
) -> None:
    delay = 0.3
    with FixtureServer() as srv:
        srv.routes["/flaky"] = failing_then(fresh_rss("flaky"), failures=2)
        srv.routes["/missing"] = status(404)
        srv.routes["/garbage"] = static(b"this is not a feed at all", content_type="text/xml")
        healthy = [f"/ok{i}" for i in range(3)]
        for route in healthy:
            srv.routes[route] = static(fresh_rss(route.strip("/")))
        settings = write_config(tmp_path, srv, ["/flaky", "/missing", "/garbage", *healthy])
        report = run_ingest(flows, settings, retry_delays=[delay] * 3, jitter=0.0)
        arrivals = [entry.time for entry in srv.requests_to("/flaky")]

    assert srv.hits["/flaky"] == 3  # 500, 500, 200
    assert srv.hits["/missing"] == 1
    assert srv.hits["/garbage"] == 1
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= delay
    statuses = {s.name: s.status for s in report.sources}
    assert statuses == {
        "flaky": "new",
        "missing": "failed",
        "garbage": "failed",
        "ok0": "new",
        "ok1": "new",
        "ok2": "new",
    }
    states = source_states(settings)
    assert states["missing"].consecutive_failures == 1
    assert "404" in (states["missing"].last_error or "")
    assert states["garbage"].consecutive_failures == 1
    assert states["flaky"].consecutive_failures == 0


# ---------------------------------------------------------------- F3: partial failure


def ten_sources(srv: FixtureServer, failing: int) -> tuple[list[str], list[str]]:
    """`failing` broken routes (cycling 404, unparsable body, persistent 500), the rest healthy."""
    broken = [status(404), static(b"<html>not a feed", content_type="text/xml"), status(500)]
    routes, bad = [], []
    for i in range(10):
        route = f"/src{i}"
        if i < failing:
            srv.routes[route] = broken[i % len(broken)]
            bad.append(route.strip("/"))
        else:
            srv.routes[route] = static(fresh_rss(f"src{i}"))
        routes.append(route)
    return routes, bad


def test_three_of_ten_failing_completes_and_the_digest_lists_them(
    flows: dict[str, ModuleType], tmp_path: Path
) -> None:
    with FixtureServer() as srv:
        routes, bad = ten_sources(srv, failing=3)
        settings = write_config(tmp_path, srv, routes)
        state = flows["digest"].digest_flow(
            home=str(settings.home),
            config=str(settings.config_path),
            ingest=True,
            retry_delays=NO_DELAY,
            return_state=True,
        )
    assert state.is_completed()
    published = state.result()
    assert sorted(published.attention) == sorted(bad)
    text = Path(published.path).read_text()
    attention_part = text[text.lower().index("attention") :]
    for name in bad:
        assert name in attention_part
    with Store.open(settings.db_path, read_only=True) as store:
        per_source = dict(
            store.conn.execute(
                "SELECT source, count(*) FROM item_sources GROUP BY source"
            ).fetchall()
        )
    assert set(per_source) == {f"src{i}" for i in range(3, 10)}
    assert published.entries > 0
    assert _artifact_markdown(flows["digest"].ARTIFACT_KEY) == text


def _artifact_markdown(key: str) -> str | None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            limit=1,
            sort="CREATED_DESC",
        )
    return str(found[0].data) if found else None


def test_six_of_ten_failing_fails_the_flow_but_keeps_what_worked(
    flows: dict[str, ModuleType], tmp_path: Path
) -> None:
    with FixtureServer() as srv:
        routes, bad = ten_sources(srv, failing=6)
        settings = write_config(tmp_path, srv, routes)
        state = run_ingest(flows, settings, retry_delays=NO_DELAY, return_state=True)
    assert state.is_failed()
    assert "6 of the tried sources failed" in (state.message or "")
    states = source_states(settings)
    assert sorted(n for n, s in states.items() if s.consecutive_failures == 1) == sorted(bad)
    with Store.open(settings.db_path, read_only=True) as store:
        stored = {
            row[0]
            for row in store.conn.execute("SELECT DISTINCT source FROM item_sources").fetchall()
        }
    assert stored == {f"src{i}" for i in range(6, 10)}


# ---------------------------------------------------------------- same rows as the CLI path; F4


RECORDED = (
    "fixtures/feeds/ml_blogs_official/colah_rss.xml",
    "fixtures/feeds/ml_blogs_official/lilianweng_index_2026-07.xml",
    "fixtures/feeds/ml_org_feeds_scraped/olshansk_rss-feeds/feed_anthropic_news.xml",
    "fixtures/feeds/ml_org_feeds_scraped/olshansk_rss-feeds/feed_cohere.xml",
)


def _rows(settings: Settings) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with Store.open(settings.db_path, read_only=True) as store:
        items = store.conn.execute(f"SELECT {ITEM_COLUMNS} FROM items ORDER BY key").fetchall()
        links = store.conn.execute(
            "SELECT i.key, s.source, s.guid, s.url FROM item_sources s "
            "JOIN items i ON i.id = s.item_id ORDER BY 1, 2"
        ).fetchall()
    return items, links


def test_flow_stores_what_plain_ingest_stores_and_a_rerun_adds_nothing(
    flows: dict[str, ModuleType], tmp_path: Path
) -> None:
    bodies = [shared_path(p).read_bytes() for p in RECORDED]
    with FixtureServer() as srv:
        routes = []
        for i, body in enumerate(bodies):
            srv.routes[f"/rec{i}"] = static(body, etag=f'"rec{i}"')
            routes.append(f"/rec{i}")
        (tmp_path / "plain").mkdir()
        plain = write_config(tmp_path / "plain", srv, routes)
        via_flow = Settings(home=tmp_path / "flow_home", config_path=plain.config_path)
        ingest(plain, load_config(plain.config_path), retry=RetryPolicy(attempts=1, backoff=()))
        first = run_ingest(flows, via_flow, retry_delays=NO_DELAY)
        hits_before = sum(srv.hits[r] for r in routes)
        second = run_ingest(flows, via_flow, retry_delays=NO_DELAY)
        conditional = [
            e.headers.get("if-none-match") for r in routes for e in srv.requests_to(r)[-1:]
        ]

    plain_rows, flow_rows = _rows(plain), _rows(via_flow)
    assert len(plain_rows[0]) > 50
    assert flow_rows == plain_rows
    assert first.totals()["new"] == len(flow_rows[0])
    assert sum(srv.hits[r] for r in routes) == hits_before + len(routes)  # it did fetch again
    assert conditional == [f'"rec{i}"' for i in range(len(routes))]
    assert second.totals() == {"new": 0, "updated": 0, "unchanged": 0}
    assert {s.status for s in second.sources} == {"unchanged"}
    assert _rows(via_flow) == flow_rows


def test_the_flow_files_run_as_scripts_parse_their_arguments(
    flows: dict[str, ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(flows["ingest"], "ingest_flow", lambda **kw: seen.update(kw))
    flows["ingest"].main(["--home", "/h", "--only", "a", "--only", "b"])
    assert seen == {"home": "/h", "config": None, "only": ["a", "b"]}


# ---------------------------------------------------------------- schedules: serve and prefect.yaml


def test_serve_builds_both_deployments_on_the_config_schedules(
    flows: dict[str, ModuleType], tmp_path: Path
) -> None:
    from paperfeed.cli.serve_cmds import build_deployments
    from paperfeed.config import Schedules

    settings = Settings(home=tmp_path / "h", config_path=tmp_path / "sources.yaml")
    schedules = Schedules("15 5 * * *", "30 8 * * 2", "Asia/Tokyo")
    deployments = build_deployments(REPO / "flows", settings, schedules)
    found = {
        (d.flow_name, d.name): (d.schedules[0].schedule.cron, d.schedules[0].schedule.timezone)
        for d in deployments
    }
    assert found == {
        ("paperfeed-ingest", "daily"): ("15 5 * * *", "Asia/Tokyo"),
        ("paperfeed-digest", "weekly"): ("30 8 * * 2", "Asia/Tokyo"),
    }
    for d in deployments:
        assert d.parameters == {
            "home": str(settings.home.resolve()),
            "config": str(settings.config_path.resolve()),
        }


def test_prefect_yaml_mirrors_the_shipped_schedules_and_entrypoints() -> None:
    document = yaml.safe_load((REPO / "prefect.yaml").read_text())
    shipped = load_config(REPO / "sources.yaml").schedules
    by_name = {d["name"]: d for d in document["deployments"]}
    expected = {"daily": shipped.ingest_cron, "weekly": shipped.digest_cron}
    for name, cron in expected.items():
        deployment = by_name[name]
        assert deployment["schedules"] == [{"cron": cron, "timezone": shipped.timezone}]
        path, function = deployment["entrypoint"].split(":")
        assert f"def {function}(" in (REPO / path).read_text()
        assert deployment["work_pool"]["name"] == "paperfeed"


# ------------------------------------------------------------- F2 and F5: deadline, politeness


def test_a_hung_source_costs_the_flow_one_deadline(
    flows: dict[str, ModuleType], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F2: a stalled server inside a flow of .submit()ted tasks is cut by our HTTP deadline;
    the run takes at most deadline + 5 s more than the same run without it."""
    import time

    from server import drip

    from paperfeed.http import HttpClient, HttpPolicy

    deadline = 2.0
    policy = HttpPolicy(total_deadline=deadline, connect_timeout=deadline, read_timeout=deadline)
    monkeypatch.setattr(flows["ingest"], "http_client", lambda _config: HttpClient(policy))
    with FixtureServer() as srv, FixtureServer(host="127.0.0.2") as stalled:
        healthy = [f"/h{i}" for i in range(3)]
        for route in healthy:
            srv.routes[route] = static(fresh_rss(route.strip("/")))
        stalled.routes["/hung"] = drip(interval=0.5, total=120)
        (tmp_path / "calm").mkdir()
        calm = write_config(tmp_path / "calm", srv, healthy)
        started = time.monotonic()
        run_ingest(flows, calm, retry_delays=NO_DELAY)
        calm_wall = time.monotonic() - started
        settings = write_config(tmp_path, srv, healthy)
        document = yaml.safe_load(settings.config_path.read_text())
        document["sources"].append(
            {"name": "hung", "type": "feed", "url": stalled.url("/hung"), "allow_private": True}
        )
        settings.config_path.write_text(yaml.safe_dump(document, sort_keys=False))
        started = time.monotonic()
        report = run_ingest(flows, settings, retry_delays=NO_DELAY)
        wall = time.monotonic() - started

    by_name = {s.name: s for s in report.sources}
    assert by_name["hung"].status == "failed"
    assert "deadline" in (by_name["hung"].error or "").lower()
    assert all(by_name[r.strip("/")].status == "new" for r in healthy)
    assert wall - calm_wall <= deadline + 5


def test_politeness_holds_across_concurrent_prefect_tasks(
    flows: dict[str, ModuleType], tmp_path: Path
) -> None:
    """F5: with fetch tasks running in parallel threads, one connection per host, and arXiv
    requests one at a time at least 3 s apart (the gate is process-wide, not per task)."""
    import json

    page = next(shared_path("fixtures/arxiv_api/arxiv_py_recorded_2026").glob("q_testing_s0_m10_*"))
    atom = json.loads(page.read_text())["body"].encode("latin-1")
    with FixtureServer() as srv, FixtureServer(host="127.0.0.3") as api:
        routes = [f"/f{i}" for i in range(12)]
        for route in routes:
            srv.routes[route] = static(fresh_rss(route.strip("/")))
        api.routes["/api/query"] = static(atom)
        settings = write_config(tmp_path, srv, routes)
        document = yaml.safe_load(settings.config_path.read_text())
        for name in ("arxiv-a", "arxiv-b"):
            document["sources"].append(
                {
                    "name": name,
                    "type": "arxiv",
                    "categories": ["cs.LG"],
                    "allow_private": True,
                    "base_url": api.url("/api/query"),
                    "max_results": 10,
                    "page_size": 10,
                }
            )
        settings.config_path.write_text(yaml.safe_dump(document, sort_keys=False))
        report = run_ingest(flows, settings, retry_delays=NO_DELAY)
        arrivals = sorted(r.time for r in api.log)

    statuses = {s.name: s.status for s in report.sources}
    assert {statuses[r.strip("/")] for r in routes} == {"new"}
    # the recorded page says 214,881 results: capped at 10 a run, the rest waits for the next
    assert statuses["arxiv-a"] == statuses["arxiv-b"] == "partial"
    assert srv.peak_concurrency == 1
    assert len(arrivals) == 2 and api.peak_concurrency == 1
    # The gate spaces request starts >= 3 s apart in the client; the server logs each arrival
    # after its own thread runs, so a loaded machine may shift one arrival by some milliseconds
    # (2.993 s was seen in CI). A gate that did not hold would show a gap near 0 s.
    assert arrivals[1] - arrivals[0] >= 3.0 - ARRIVAL_NOISE_S


def test_the_flow_takes_its_retries_from_the_library_retry_policy(
    flows: dict[str, ModuleType],
) -> None:
    retry_policy = flows["ingest"].retry_policy
    assert retry_policy(None, None) == RetryPolicy()
    assert retry_policy([1.0, 2.0], 0.0) == RetryPolicy(3, (1.0, 2.0), 0.0)
    assert retry_policy(None, 0.0) == RetryPolicy(jitter=0.0)
