"""Property tests for the arXiv query builder and pager (RELIABILITY C2): no over-large request,
paging stops at totalResults, a run makes at most ⌈results/page⌉ + retries requests."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_arxiv_fake import FakeArxiv, Paper, Request, corpus, empty_page

from paperfeed.config import SourceConfig
from paperfeed.records import SourceState
from paperfeed.sources import arxiv
from paperfeed.sources.arxiv_query import MAX_PAGE_SIZE, MAX_START

NOW = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)


@st.composite
def paging_cases(draw: st.DrawFn) -> tuple[int, int, int, set[int]]:
    total = draw(st.integers(0, 6000))
    page_size = draw(st.integers(max(1, math.ceil(total / 60)), 5000))
    budget = draw(st.integers(1, 8000))
    empties = draw(st.sets(st.integers(0, max(0, total - 1)), max_size=3))
    return total, page_size, budget, empties


@settings(max_examples=60, deadline=None)
@given(paging_cases())
def test_pager_never_asks_too_much_and_stops_at_total(case: tuple[int, int, int, set[int]]) -> None:
    total, page_size, budget, empty_starts = case
    injected: list[int] = []

    def fault(request: Request, page: list[Paper], true_total: int) -> bytes | None:
        if request.start in empty_starts and request.start not in injected:
            injected.append(request.start)  # each listed page comes back empty once
            return empty_page(true_total, request.start, request.max_results)
        return None

    fake = FakeArxiv(
        corpus(total, start=NOW - timedelta(days=3), step=timedelta(seconds=30)), fault=fault
    )
    source = SourceConfig(
        name="a",
        type="arxiv",
        categories=("cs.LG",),
        options={"page_size": page_size, "max_results": budget},
    )
    collected = arxiv.collect(
        source,
        SourceState(name="a"),
        fake,  # type: ignore[arg-type]
        now=NOW,
        sleep=lambda _s: None,
    )

    assert all(1 <= r.max_results <= MAX_PAGE_SIZE for r in fake.requests)
    polite = {"allow_private": False, "gate": "arxiv", "min_interval": 3.0}
    assert all(r.kwargs == polite for r in fake.requests)  # the HttpClient's arXiv gate (C1)
    assert all(0 <= r.start < MAX_START for r in fake.requests)
    assert all(r.start < total for r in fake.requests if r.start > 0)
    page = min(page_size, MAX_PAGE_SIZE)
    assert len(fake.requests) <= max(1, math.ceil(total / page)) + len(injected)
    got = {i.arxiv_id for i in collected.items}
    assert got == {p.arxiv_id for p in fake.papers[: len(got)]}  # a prefix, in order
    assert collected.partial == (len(got) < total)
    if budget >= total:
        assert len(got) == total


@settings(max_examples=200, deadline=None)
@given(
    categories=st.lists(
        st.from_regex(r"[a-z]{2,5}\.[A-Z]{2}", fullmatch=True), min_size=1, max_size=6, unique=True
    ),
    start=st.datetimes(
        min_value=datetime(1991, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    days=st.integers(0, 400),
)
def test_query_has_every_category_and_the_window(
    categories: list[str], start: datetime, days: int
) -> None:
    end = start + timedelta(days=days)
    source = SourceConfig(name="a", type="arxiv", categories=tuple(categories))
    query = arxiv.build_query(source, (start, end))
    assert query.startswith("(" + " OR ".join(f"cat:{c}" for c in categories) + ")")
    low, high = start.strftime("%Y%m%d%H%M"), end.strftime("%Y%m%d%H%M")
    assert query.endswith(f" AND submittedDate:[{low} TO {high}]")
    assert low <= high


@given(start=st.integers(-5, 40000), size=st.integers(-5, 5000))
def test_page_url_refuses_out_of_range_pages(start: int, size: int) -> None:
    if 0 <= start < MAX_START and 1 <= size <= MAX_PAGE_SIZE:
        url = arxiv.page_url("https://export.arxiv.org/api/query", "cat:cs.LG", start, size)
        assert f"start={start}&max_results={size}&" in url
    else:
        with pytest.raises(ValueError):
            arxiv.page_url("https://export.arxiv.org/api/query", "cat:cs.LG", start, size)


def test_a_source_without_categories_or_query_is_a_config_error() -> None:
    from paperfeed.errors import ConfigError

    with pytest.raises(ConfigError, match="categories"):
        arxiv.build_query(SourceConfig(name="a", type="arxiv"), (NOW, NOW))
