"""arxiv.collect against a fake API (RELIABILITY C2-C5): windows, resume, empty pages, 429s."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_arxiv_fake import EPOCH, FakeArxiv, Paper, Request, corpus, empty_page

from paperfeed.config import SourceConfig
from paperfeed.errors import ArxivApiError, DeadlineExceeded, Deferred
from paperfeed.records import Collected, SourceState
from paperfeed.sources import arxiv

NOW = EPOCH + timedelta(days=5)


def source(**options: Any) -> SourceConfig:
    return SourceConfig(
        name="arxiv-ml",
        type="arxiv",
        categories=("cs.LG", "cs.CL"),
        options={"page_size": 100, **options},
    )


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def run(
    fake: FakeArxiv,
    state: SourceState | None = None,
    *,
    now: datetime = NOW,
    sleeps: Sleeps | None = None,
    **options: Any,
) -> Collected:
    return arxiv.collect(
        source(**options),
        state or SourceState(name="arxiv-ml"),
        fake,  # type: ignore[arg-type]
        now=now,
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


def then(collected: Collected) -> SourceState:
    return SourceState(name="arxiv-ml", cursor=collected.cursor)


def ids(collected: Collected) -> set[str]:
    return {i.arxiv_id for i in collected.items if i.arxiv_id}


def empty_at(start: int, times: int, total: int | None = None) -> Any:
    """A fault: the page at `start` comes back empty `times` times (with totalResults `total`,
    default the true total), then normally."""
    left = {"n": times}

    def fault(request: Request, page: list[Paper], true_total: int) -> bytes | None:
        if request.start == start and left["n"] > 0:
            left["n"] -= 1
            reported = true_total if total is None else total
            return empty_page(reported, request.start, request.max_results)
        return None

    return fault


def test_first_run_queries_the_lookback_window_oldest_first_through_the_arxiv_gate() -> None:
    fake = FakeArxiv(corpus(10, start=NOW - timedelta(days=2)))
    collected = run(fake, lookback_days=7)
    (request,) = fake.requests
    assert request.query == (
        "(cat:cs.LG OR cat:cs.CL) AND submittedDate:[202602280000 TO 202603070000]"
    )
    assert "sortBy=submittedDate" in request.url and "sortOrder=ascending" in request.url
    assert request.kwargs == {"allow_private": False, "gate": "arxiv", "min_interval": 3.0}
    assert len(ids(collected)) == 10 and not collected.partial
    assert json.loads(collected.cursor or "") == {"window_end": NOW.isoformat()}


def test_next_run_starts_one_day_before_the_last_window_end() -> None:
    fake = FakeArxiv(corpus(10, start=NOW - timedelta(days=2)))
    first = run(fake)
    run(fake, then(first), now=NOW + timedelta(days=1))
    assert fake.requests[-1].query.endswith("submittedDate:[202603060000 TO 202603080000]")


def test_an_unreadable_cursor_means_a_first_run() -> None:
    fake = FakeArxiv(corpus(3, start=NOW - timedelta(days=1)))
    collected = run(fake, SourceState(name="arxiv-ml", cursor="{not json"), lookback_days=2)
    assert "submittedDate:[202603050000 TO" in fake.requests[0].query
    assert len(ids(collected)) == 3


def test_pages_until_total_results_and_no_further() -> None:
    fake = FakeArxiv(corpus(500))
    collected = run(fake)
    assert [r.start for r in fake.requests] == [0, 100, 200, 300, 400]
    assert ids(collected) == {p.arxiv_id for p in fake.papers}
    assert collected.requests == 5 and collected.bytes_read > 0


def test_empty_page_in_the_middle_is_retried_with_backoff() -> None:
    fake = FakeArxiv(corpus(500), fault=empty_at(200, times=2))
    sleeps = Sleeps()
    collected = run(fake, sleeps=sleeps)
    assert len(ids(collected)) == 500 and not collected.partial
    assert [r.start for r in fake.requests].count(200) == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] > 0


def test_three_empties_still_ingest_everything() -> None:
    fake = FakeArxiv(corpus(500), fault=empty_at(300, times=3))
    collected = run(fake)
    assert len(ids(collected)) == 500 and not collected.partial


def test_empty_first_page_with_results_is_retried() -> None:
    fake = FakeArxiv(corpus(500), fault=empty_at(0, times=2))
    collected = run(fake)
    assert len(ids(collected)) == 500
    assert [r.start for r in fake.requests][:3] == [0, 0, 0]


def test_total_zero_after_a_page_said_otherwise_is_retried() -> None:
    fake = FakeArxiv(corpus(500), fault=empty_at(200, times=1, total=0))
    collected = run(fake)
    assert len(ids(collected)) == 500 and not collected.partial


def test_a_genuinely_empty_window_is_one_request() -> None:
    fake = FakeArxiv([])
    sleeps = Sleeps()
    collected = run(fake, sleeps=sleeps)
    assert (len(fake.requests), collected.items, collected.partial, sleeps) == (1, [], False, [])


def test_short_pages_lose_nothing() -> None:
    fake = FakeArxiv(corpus(500), max_page=37)
    collected = run(fake)
    assert len(ids(collected)) == 500
    assert fake.requests[1].start == 37


def test_exhausted_retries_return_partial_and_the_next_run_resumes_there() -> None:
    fake = FakeArxiv(corpus(500), fault=empty_at(300, times=4))
    first = run(fake)
    assert first.partial and len(ids(first)) == 300
    assert json.loads(first.cursor or "")["resume"]["offset"] == 300
    fake.requests.clear()
    second = run(fake, then(first), now=NOW + timedelta(hours=6))
    assert fake.requests[0].start == 300 and not second.partial
    assert ids(first) | ids(second) == {p.arxiv_id for p in fake.papers}


def test_a_resumed_run_distrusts_total_zero_on_its_first_page() -> None:
    fake = FakeArxiv(corpus(500), fault=empty_at(300, times=4))
    first = run(fake)
    fake.fault = empty_at(300, times=1, total=0)
    second = run(fake, then(first))
    assert len(ids(first) | ids(second)) == 500 and not second.partial


def test_the_per_run_budget_stops_early_and_resumes() -> None:
    fake = FakeArxiv(corpus(500))
    first = run(fake, max_results=150)
    assert first.partial and len(ids(first)) == 200
    second = run(fake, then(first), max_results=1000)
    assert ids(first) | ids(second) == {p.arxiv_id for p in fake.papers}
    assert not second.partial


def test_twenty_runs_with_injected_faults_lose_no_paper() -> None:
    rng = random.Random(20261123)
    papers = corpus(2400, step=timedelta(minutes=12))  # 120 a day for 20 days
    fake = FakeArxiv([])
    clock = {"now": EPOCH}

    def fault(request: Request, page: list[Paper], total: int) -> bytes | None:
        roll = rng.random()
        if roll < 0.25:
            return empty_page(total, request.start, request.max_results)
        if roll < 0.35:
            return empty_page(0, request.start, request.max_results)
        if roll < 0.40:
            raise Deferred("429", until=clock["now"] + timedelta(seconds=rng.choice([0, 60])))
        return None

    fake.fault = fault
    state, seen, partial_runs, deferred_runs = SourceState(name="arxiv-ml"), set[str](), 0, 0
    for day in range(1, 21):
        now = EPOCH + timedelta(days=day)
        clock["now"] = now
        fake.papers = [p for p in papers if p.submitted <= now]
        try:
            collected = run(fake, state, now=now, lookback_days=2, page_size=50)
        except Deferred:  # 4 × 429: the source is deferred, its cursor stays as it was
            deferred_runs += 1
            continue
        seen |= ids(collected)
        partial_runs += collected.partial
        state = then(collected)
    for _ in range(3):  # faults stop: the backlog drains
        fake.fault = None
        collected = run(fake, state, now=now + timedelta(minutes=1))
        seen |= ids(collected)
        state = then(collected)
    assert partial_runs >= 1, "the injected faults should have exhausted some retries"
    assert seen == {p.arxiv_id for p in papers if p.submitted <= now}


def test_api_error_feed_raises_and_yields_nothing() -> None:
    error = (
        b"<?xml version='1.0' encoding='UTF-8'?><feed xmlns=\"http://www.w3.org/2005/Atom\" "
        b'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        b"<opensearch:totalResults>1</opensearch:totalResults>"
        b"<entry><id>https://arxiv.org/api/errors#bad_query</id><title>Error</title>"
        b"<summary>malformed query</summary></entry></feed>"
    )
    fake = FakeArxiv(corpus(5), fault=lambda request, page, total: error)
    with pytest.raises(ArxivApiError, match="malformed query"):
        run(fake)


def deferred(*untils: datetime) -> Any:
    queue = list(untils)

    def fault(request: Request, page: list[Paper], total: int) -> bytes | None:
        if queue:
            raise Deferred("HTTP 429", until=queue.pop(0))
        return None

    return fault


def test_429_twice_then_ok_backs_off_at_least_30s_or_retry_after() -> None:
    fake = FakeArxiv(
        corpus(50), fault=deferred(NOW + timedelta(seconds=5), NOW + timedelta(seconds=95))
    )
    sleeps = Sleeps()
    collected = run(fake, sleeps=sleeps)
    assert len(ids(collected)) == 50
    assert len(fake.requests) == 3
    assert sleeps[0] >= 30
    assert sleeps[1] >= 95 - sleeps[0]  # waits until the Retry-After moment


def test_429_gives_up_after_four_attempts() -> None:
    fake = FakeArxiv(corpus(50), fault=deferred(*[NOW] * 10))
    sleeps = Sleeps()
    with pytest.raises(Deferred):
        run(fake, sleeps=sleeps)
    assert len(fake.requests) == 4 and len(sleeps) == 3
    assert min(sleeps) >= 30


def test_a_long_retry_after_defers_the_source_at_once() -> None:
    fake = FakeArxiv(corpus(50), fault=deferred(NOW + timedelta(hours=1)))
    sleeps = Sleeps()
    with pytest.raises(Deferred):
        run(fake, sleeps=sleeps)
    assert len(fake.requests) == 1 and sleeps == []


def test_deadline_propagates() -> None:
    def hang(request: Request, page: list[Paper], total: int) -> bytes | None:
        raise DeadlineExceeded("total deadline of 30 s passed")

    with pytest.raises(DeadlineExceeded):
        run(FakeArxiv(corpus(5), fault=hang))


def test_items_are_papers_with_clean_text() -> None:
    collected = run(FakeArxiv(corpus(3, start=NOW - timedelta(days=1))))
    for item in collected.items:
        assert item.kind == "paper" and item.summary == "About $a<b$."
        assert item.url == f"https://arxiv.org/abs/{item.arxiv_id}"
        assert item.published is not None and item.published.tzinfo == UTC


def test_offsets_past_30000_narrow_the_window_instead() -> None:
    fake = FakeArxiv(corpus(31000, step=timedelta(seconds=15), start=NOW - timedelta(days=6)))
    collected = run(fake, page_size=2000, max_results=100000)
    assert max(r.start + r.max_results for r in fake.requests) <= 30000
    assert collected.partial and len(ids(collected)) == 30000
    resume = json.loads(collected.cursor or "")["resume"]
    assert resume["offset"] == 0
    second = run(fake, then(collected), page_size=2000, max_results=100000)
    assert ids(collected) | ids(second) == {p.arxiv_id for p in fake.papers}


def test_query_words_and_arxiv_syntax() -> None:
    window = (NOW - timedelta(days=1), NOW)
    plain = SourceConfig(name="s", type="arxiv", query='"diffusion model" distillation')
    assert arxiv.build_query(plain, window).startswith(
        '(all:"diffusion model" AND all:distillation) AND submittedDate:['
    )
    syntax = SourceConfig(
        name="s", type="arxiv", query="ti:transformer ANDNOT au:smith", categories=("cs.LG",)
    )
    assert arxiv.build_query(syntax, window).startswith(
        "(cat:cs.LG) AND (ti:transformer ANDNOT au:smith) AND submittedDate:"
    )
