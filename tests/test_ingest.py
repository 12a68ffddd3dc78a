"""End-to-end ingest against real HTTP servers on 127.0.0.1 serving recorded feeds.

RELIABILITY rows A5, A6, A8, A9 and B1 at the ingest level, and the issue's incremental checks.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from conftest import shared_path
from ingest_helpers import by_name, feed_source, item_count, item_keys, run, write_config
from server import FixtureServer, redirect, static, status

from paperfeed.settings import Settings
from paperfeed.sources import feed as feed_module
from paperfeed.store import Store

LILLOG = "fixtures/feeds/ml_blogs_official/lilianweng_index_{}.xml"
COLAH = "fixtures/feeds/ml_blogs_official/colah_rss.xml"
OPENAI = "fixtures/feeds/ml_org_feeds_scraped/olshansk_history/feed_openai_research__{}.xml"


def _links(body: bytes) -> set[str]:
    """Distinct <item><link> values, read independently of feedparser."""
    items = re.findall(rb"<item>(.*?)</item>", body, re.S)
    return {m.group(1).strip() for i in items if (m := re.search(rb"<link>(.*?)</link>", i, re.S))}


@pytest.fixture
def srv() -> FixtureServer:
    with FixtureServer() as server:
        yield server


def test_incremental_lilian_weng_adds_exactly_the_new_posts(
    srv: FixtureServer, tmp_path: Path
) -> None:
    old = shared_path(LILLOG.format("2024-04-14")).read_bytes()
    new = shared_path(LILLOG.format("2026-07")).read_bytes()
    expected_new = len(_links(new) - _links(old))
    srv.routes["/lil"] = static(old, etag='"2024"')
    settings = write_config(tmp_path, [feed_source("lilian-weng", srv.url("/lil"))])

    first = run(settings)
    assert by_name(first)["lilian-weng"].new == len(_links(old))
    srv.routes["/lil"] = static(new, etag='"2026"')
    second = run(settings)

    assert expected_new == 5
    assert by_name(second)["lilian-weng"].new == expected_new
    assert item_count(settings) == len(_links(old) | _links(new))


def test_feed_that_went_empty_deletes_nothing(srv: FixtureServer, tmp_path: Path) -> None:
    full = shared_path(OPENAI.format("2025-01-12")).read_bytes()
    empty = shared_path(OPENAI.format("2025-06-18")).read_bytes()
    srv.routes["/openai"] = static(full)
    settings = write_config(tmp_path, [feed_source("openai", srv.url("/openai"))])
    run(settings)
    stored = item_count(settings)
    srv.routes["/openai"] = static(empty)

    report = run(settings)

    assert stored > 0
    assert by_name(report)["openai"].status == "unchanged"
    assert item_count(settings) == stored


def test_rerun_against_unchanged_servers_is_free(
    srv: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A5: validators on 100% of conditional requests, 0 body bytes and 0 parses on 304."""
    srv.routes["/lil"] = static(shared_path(LILLOG.format("2026-07")).read_bytes(), etag='"a"')
    srv.routes["/colah"] = static(
        shared_path(COLAH).read_bytes(), last_modified="Thu, 30 May 2019 00:00:00 GMT"
    )
    settings = write_config(
        tmp_path, [feed_source("lil", srv.url("/lil")), feed_source("colah", srv.url("/colah"))]
    )
    run(settings)
    rows, bytes_before = item_count(settings), dict(srv.body_bytes)
    parses: list[bytes] = []
    real_parse = feed_module.parse
    monkeypatch.setattr(
        feed_module, "parse", lambda body, src: parses.append(body) or real_parse(body, src)
    )
    log_start = len(srv.log)

    report = run(settings)

    second = srv.log[log_start:]
    assert len(second) == 2
    assert all("if-none-match" in r.headers or "if-modified-since" in r.headers for r in second)
    assert srv.body_bytes == bytes_before
    assert parses == []
    assert item_count(settings) == rows
    assert {s.status for s in report.sources} == {"unchanged"}


def test_changed_etag_with_same_content_adds_nothing(srv: FixtureServer, tmp_path: Path) -> None:
    body = shared_path(COLAH).read_bytes()
    srv.routes["/colah"] = static(body, etag='"1"')
    settings = write_config(tmp_path, [feed_source("colah", srv.url("/colah"))])
    run(settings)
    rows = item_count(settings)
    srv.routes["/colah"] = static(body, etag='"2"')

    report = run(settings)

    assert by_name(report)["colah"].new == 0
    assert item_count(settings) == rows


def test_retry_after_defers_without_counting_and_sends_nothing_inside_the_window(
    tmp_path: Path,
) -> None:
    """A6 at the ingest level: deferred (not failed), counter unchanged, 0 requests to the host."""
    with FixtureServer(host="127.0.0.2") as busy, FixtureServer() as calm:
        busy.routes["/feed"] = status(429, {"Retry-After": "120"})
        busy.routes["/other"] = static(shared_path(COLAH).read_bytes())
        calm.routes["/colah"] = static(shared_path(COLAH).read_bytes())
        settings = write_config(
            tmp_path,
            [
                feed_source("busy", busy.url("/feed")),
                feed_source("same-host", busy.url("/other")),
                feed_source("calm", calm.url("/colah")),
            ],
        )
        first = run(settings, only=("busy",))
        hits_after_first = busy.hits["/feed"] + busy.hits["/other"]

        second = run(settings)

        assert by_name(first)["busy"].status == "deferred"
        assert first.exit_code == 0
        assert by_name(second)["busy"].status == "deferred"
        assert by_name(second)["same-host"].status == "deferred"
        assert busy.hits["/feed"] + busy.hits["/other"] == hits_after_first == 1
        assert by_name(second)["calm"].new > 0
        with Store.open(settings.db_path, read_only=True) as store:
            assert store.sources.get("busy").consecutive_failures == 0


def test_permanent_redirect_is_remembered_and_config_untouched(
    srv: FixtureServer, tmp_path: Path
) -> None:
    """A8: after a 301, run 2 sends 0 requests to the old URL; sources.yaml is not rewritten."""
    srv.routes["/old"] = redirect(srv.url("/new"), code=301)
    srv.routes["/new"] = static(shared_path(COLAH).read_bytes())
    srv.routes["/temp"] = redirect(srv.url("/new"), code=302)
    settings = write_config(
        tmp_path, [feed_source("moved", srv.url("/old")), feed_source("temp", srv.url("/temp"))]
    )
    config_text = settings.config_path.read_text()
    run(settings)
    old_hits, temp_hits = srv.hits["/old"], srv.hits["/temp"]

    run(settings)

    assert srv.hits["/old"] == old_hits == 1
    assert srv.hits["/temp"] == temp_hits + 1
    assert settings.config_path.read_text() == config_text
    with Store.open(settings.db_path, read_only=True) as store:
        assert store.sources.get("moved").moved_to == srv.url("/new")
        assert store.sources.get("temp").moved_to is None


def test_a_redirect_is_forgotten_when_the_configured_url_changes(
    srv: FixtureServer, tmp_path: Path
) -> None:
    """Issue 14: after a 301 the learner edits the URL in sources.yaml; the new URL is fetched
    (the stored redirect was learnt for the old one), and a 301 from it is learnt afresh."""
    body = shared_path(COLAH).read_bytes()
    srv.routes["/old"] = redirect(srv.url("/target"), code=301)
    srv.routes["/target"] = static(body)
    srv.routes["/edited"] = redirect(srv.url("/elsewhere"), code=301)
    srv.routes["/elsewhere"] = static(body)
    run(write_config(tmp_path, [feed_source("blog", srv.url("/old"))]))
    settings = write_config(tmp_path, [feed_source("blog", srv.url("/edited"))])

    run(settings)
    run(settings)

    assert (srv.hits["/old"], srv.hits["/target"]) == (1, 1)
    assert (srv.hits["/edited"], srv.hits["/elsewhere"]) == (1, 2)
    with Store.open(settings.db_path, read_only=True) as store:
        state = store.sources.get("blog")
    assert (state.moved_to, state.moved_from) == (srv.url("/elsewhere"), srv.url("/edited"))


def test_gone_disables_the_source_for_good(srv: FixtureServer, tmp_path: Path) -> None:
    srv.routes["/gone"] = status(410)
    settings = write_config(tmp_path, [feed_source("gone", srv.url("/gone"))])
    first = run(settings)
    for _ in range(4):
        later = run(settings)
        assert by_name(later)["gone"].status == "disabled"

    assert by_name(first)["gone"].status == "failed"
    assert srv.hits["/gone"] == 1
    with Store.open(settings.db_path, read_only=True) as store:
        assert store.sources.get("gone").disabled


def test_failing_source_is_disabled_after_three_and_recovers(
    srv: FixtureServer, tmp_path: Path
) -> None:
    """A9: disabled after exactly 3 failures, 0 requests while disabled, counter 0 after 1 ok."""
    srv.routes["/flaky"] = status(404)
    srv.routes["/ok"] = static(shared_path(COLAH).read_bytes())
    settings = write_config(
        tmp_path, [feed_source("flaky", srv.url("/flaky")), feed_source("ok", srv.url("/ok"))]
    )
    failures = []
    for _ in range(5):
        run(settings)
        with Store.open(settings.db_path, read_only=True) as store:
            state = store.sources.get("flaky")
        failures.append((state.consecutive_failures, state.disabled))
        if state.disabled:
            assert "flaky" in _needs_attention(settings)

    assert failures[:3] == [(1, False), (2, False), (3, True)]
    assert failures[3:] == [(3, True), (3, True)]
    assert srv.hits["/flaky"] == 3
    srv.routes["/flaky"] = static(shared_path(COLAH).read_bytes())
    with Store.open(settings.db_path) as store:
        store.sources.enable("flaky")
    report = run(settings)
    assert by_name(report)["flaky"].status in ("new", "unchanged")
    with Store.open(settings.db_path, read_only=True) as store:
        assert store.sources.get("flaky").consecutive_failures == 0


def _needs_attention(settings: Settings) -> str:
    """The "Needs attention" section of a dry-run digest, produced through the CLI."""
    from click.testing import CliRunner
    from fakes import HashingEmbedder

    from paperfeed.cli import main
    from paperfeed.embed import embedder

    args = ["--home", str(settings.home), "--config", str(settings.config_path)]
    with pytest.MonkeyPatch.context() as patch:  # no real model where a fake does
        patch.setattr(embedder, "load_query_encoder", lambda _model: HashingEmbedder().query)
        result = CliRunner().invoke(main, [*args, "digest", "--dry-run"])
    assert result.exit_code == 0, result.output
    return result.output.split("## Needs attention", 1)[1]


def test_poisoned_source_does_not_touch_the_others(srv: FixtureServer, tmp_path: Path) -> None:
    """B1 mixed run: one garbage body is one recorded error; the others store exactly."""
    lil = shared_path(LILLOG.format("2026-07")).read_bytes()
    colah = shared_path(COLAH).read_bytes()
    srv.routes["/lil"] = static(lil)
    srv.routes["/colah"] = static(colah)
    noise = random.Random(7)
    srv.routes["/poison"] = static(bytes(noise.getrandbits(8) for _ in range(4000)))
    settings = write_config(
        tmp_path,
        [
            feed_source("lil", srv.url("/lil")),
            feed_source("colah", srv.url("/colah")),
            feed_source("poison", srv.url("/poison")),
        ],
    )

    report = run(settings)

    assert by_name(report)["poison"].status == "failed"
    assert report.exit_code == 3
    assert item_count(settings) == len(_links(lil)) + len(_links(colah))
    with Store.open(settings.db_path, read_only=True) as store:
        assert len(store.sources.recent_errors("poison")) == 1


def test_unreachable_machine_reports_every_source_without_disabling(tmp_path: Path) -> None:
    """Offline: every source fails to connect; each is reported and recorded (the digest's
    "needs attention" lists it), none is counted as broken."""
    from paperfeed.digest.build import attention

    with FixtureServer() as gone:
        dead = [gone.url(f"/feed{i}") for i in range(3)]
    settings = write_config(tmp_path, [feed_source(f"s{i}", url) for i, url in enumerate(dead)])
    for _ in range(4):
        report = run(settings)
        assert report.offline
        assert {s.status for s in report.sources} == {"failed"}
        assert all(s.error for s in report.sources)
    with Store.open(settings.db_path, read_only=True) as store:
        states = store.sources.all()
    assert all(not s.disabled and s.consecutive_failures == 0 for s in states.values())
    assert [a.source for a in attention(states)] == ["s0", "s1", "s2"]
    assert item_keys(settings) == set()


def test_ingest_applies_marks_queued_while_the_database_was_busy(
    srv: FixtureServer, tmp_path: Path
) -> None:
    """D3: a `paperfeed read` made during a long write was queued; the next writer applies it."""
    from datetime import UTC, datetime

    from paperfeed.marks import MarkEvent, queue_marks

    srv.routes["/colah"] = static(shared_path(COLAH).read_bytes())
    settings = write_config(tmp_path, [feed_source("colah", srv.url("/colah"))])
    run(settings)
    with Store.open(settings.db_path, read_only=True) as store:
        first_id = store.items.ids()[0]
    queue_marks(settings, [MarkEvent(str(first_id), "read", datetime.now(UTC))])

    run(settings)

    with Store.open(settings.db_path, read_only=True) as store:
        assert store.reading.read_ids() == {first_id}
    assert not settings.pending_marks.exists()


def test_user_agent_names_the_learners_contact(srv: FixtureServer, tmp_path: Path) -> None:
    """C6: requests identify paperfeed and, when configured, how to reach its user."""
    from paperfeed import __version__
    from paperfeed.config import load_config
    from paperfeed.ingest.collect import ingest

    srv.routes["/colah"] = static(shared_path(COLAH).read_bytes())
    settings = write_config(tmp_path, [feed_source("colah", srv.url("/colah"))])
    text = settings.config_path.read_text() + "settings:\n  contact: learner@example.org\n"
    settings.config_path.write_text(text)

    ingest(settings, load_config(settings.config_path))

    agents = {r.headers["user-agent"] for r in srv.log}
    assert agents == {f"paperfeed/{__version__} (+learner@example.org)"}


def test_a_partial_run_keeps_its_resume_point_without_claiming_success() -> None:
    from datetime import UTC, datetime

    from paperfeed.config import SourceConfig
    from paperfeed.ingest.record import SourceResult, store_result
    from paperfeed.records import Collected, Item

    source = SourceConfig(name="arxiv", type="arxiv", categories=("cs.LG",))
    collected = Collected(
        items=[Item("A paper", arxiv_id="2401.00001", kind="paper")], partial=True, cursor="c1"
    )
    store = Store.memory()

    summary = store_result(store, SourceResult(source, "partial", collected), datetime.now(UTC))

    state = store.sources.get("arxiv")
    assert (summary.status, summary.new) == ("partial", 1)
    assert (state.cursor, state.last_status, state.last_ok) == ("c1", "partial", None)
    assert state.consecutive_failures == 0


def test_a_stalled_source_is_tried_once_even_with_retries_on(tmp_path: Path) -> None:
    """A1 with the CLI's real retry policy: a deadline is not retried, so a hung source costs one
    deadline, not attempts x (deadline + backoff)."""
    from server import drip

    from paperfeed.ingest.collect import RetryPolicy

    with FixtureServer() as srv:
        srv.routes["/hung"] = drip(interval=0.5, total=120)
        settings = write_config(tmp_path, [feed_source("hung", srv.url("/hung"))])
        report = run(settings, deadline=1.5, retry=RetryPolicy())

    assert by_name(report)["hung"].status == "failed"
    assert srv.hits["/hung"] == 1


def test_the_retry_policy_waits_at_least_its_backoff_and_at_most_a_fifth_longer() -> None:
    from paperfeed.ingest.collect import RetryPolicy

    policy = RetryPolicy()
    assert (policy.attempts, policy.backoff) == (4, (10.0, 30.0, 90.0))  # RELIABILITY: 3 retries
    for _ in range(50):
        delays = policy.delays()
        assert len(delays) == 3
        assert all(b <= d <= b * 1.2 for d, b in zip(delays, policy.backoff, strict=True))
