"""HTML listing adapter: selectors, link and date rules, XSS vectors (B3), deep nesting, collect."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fakes import FakeHttp
from test_feed_security import XSS_VECTORS, assert_inert

from paperfeed.config import SourceConfig
from paperfeed.errors import ParseError
from paperfeed.records import FetchResponse, SourceState, Validators
from paperfeed.sources import html

SELECTORS = {"item": "article", "title": "h2", "link": "a.more", "date": "time", "summary": "p"}
SOURCE = SourceConfig(
    name="news", type="html", url="https://news.example/blog/", options={"selectors": SELECTORS}
)

PAGE = b"""<html><body><nav><a href="/">home</a></nav>
<article><h2>First &amp; <b>best</b></h2><time datetime="2026-03-03T08:00:00Z">3 March</time>
  <p>The <em>summary</em> <a href="https://arxiv.org/abs/2401.00001">paper</a></p>
  <a class="more" href="/posts/1">read</a></article>
<article><h2>Second</h2><time>March 3, 2026</time>
  <span class="more"><a href="p2">x</a></span></article>
<article><h2>Third</h2><time>Thurs, 30 May 2019 00:00:00 UTC</time>
  <a class="more" href="https://arxiv.org/abs/2104.12255v2">abs</a></article>
<article><h2></h2></article>
</body></html>"""


def test_listing_page_items() -> None:
    first, second, third = html.parse(PAGE, SOURCE)
    assert first.title == "First & best"
    assert first.url == first.guid == "https://news.example/posts/1"
    assert first.summary == "The summary paper"
    assert first.links == ("https://arxiv.org/abs/2401.00001",)
    assert first.published == datetime(2026, 3, 3, 8, tzinfo=UTC)
    assert second.url is None  # the link selector matched nothing in this item
    assert second.published == datetime(2026, 3, 3, tzinfo=UTC)
    assert third.published == datetime(2019, 5, 30, tzinfo=UTC)
    assert (third.kind, third.arxiv_id, third.arxiv_version) == ("paper", "2104.12255", 2)


def test_link_falls_back_to_the_first_anchor_and_resolves_against_the_fetched_url() -> None:
    source = SourceConfig(
        name="n", type="html", options={"selectors": {"item": "article", "title": "h2"}}
    )
    items = html.parse(PAGE, source, base_url="https://moved.example/list/")
    assert [i.url for i in items[:3]] == [
        "https://arxiv.org/abs/2401.00001",
        "https://moved.example/list/p2",
        "https://arxiv.org/abs/2104.12255v2",
    ]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"selectors": "article"},
        {"selectors": {"item": "article"}},
        {"selectors": {"item": "article", "title": "h2[="}},
    ],
)
def test_bad_selector_config_is_a_parse_error(options: dict[str, Any]) -> None:
    with pytest.raises(ParseError, match="selectors"):
        html.parse(PAGE, SourceConfig(name="n", type="html", options=options))


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def test_xss_vectors_in_a_listing_page_are_inert() -> None:
    articles = "".join(
        f'<article><h2>T {v}</h2><a class="more" href="{_escape(v)}">l</a><p>S {v}</p>'
        f"<time>{v}</time></article><article><h2>E {_escape(v)}</h2><p>{_escape(v)}</p></article>"
        for v in XSS_VECTORS
    )
    items = html.parse(f"<html><body>{articles}</body></html>".encode(), SOURCE)
    assert len(items) >= len(XSS_VECTORS)
    assert_inert(items)


def test_deeply_nested_page_does_not_crash() -> None:
    depth = 100_000
    body = b"<div>" * depth + b"<article><h2>deep</h2><a class=more href=/d>d</a></article>"
    items = html.parse(body + b"</div>" * depth, SOURCE)
    assert [(i.title, i.url) for i in items] == [("deep", "https://news.example/d")]


def test_collect_200_and_304() -> None:
    ok = FakeHttp(
        FetchResponse(
            url="https://news.example/blog/",
            status=200,
            body=PAGE,
            validators=Validators(etag='"e"'),
        )
    )
    got = html.collect(SOURCE, SourceState(name="news"), ok)  # type: ignore[arg-type]
    assert len(got.items) == 3 and got.validators == Validators(etag='"e"')
    assert (got.requests, got.bytes_read) == (1, len(PAGE))
    unchanged = FakeHttp(FetchResponse(url="https://news.example/blog/", status=304))
    state = SourceState(name="news", validators=Validators(etag='"e"'))
    got = html.collect(SOURCE, state, unchanged)  # type: ignore[arg-type]
    assert got.not_modified and got.items == []
    assert unchanged.calls[0][1]["validators"] == Validators(etag='"e"')


def test_parse_stops_when_its_budget_is_spent() -> None:
    """The budget is checked between items, on the clock it is given (here one second a tick)."""
    items = (b"<li><h2>t%d</h2><a href='/p%d'>x</a></li>" % (i, i) for i in range(20))
    page = b"<ul>" + b"".join(items)
    source = SourceConfig(
        "s", "html", url="https://e.org/", options={"selectors": {"item": "li", "title": "h2"}}
    )
    ticks = iter(range(1000))
    assert len(html.parse(page, source, budget=100.0, clock=lambda: float(next(ticks)))) == 20
    ticks = iter(range(1000))
    with pytest.raises(ParseError, match="took longer than 5 s to parse .* after 5 items"):
        html.parse(page, source, budget=5.0, clock=lambda: float(next(ticks)))
