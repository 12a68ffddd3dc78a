"""feed.parse rules and feed.collect: small feeds built in the test, and recorded blog feeds."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import shared_path
from fakes import FakeHttp

from paperfeed.config import SourceConfig
from paperfeed.errors import ParseError
from paperfeed.keys import assign_keys
from paperfeed.records import FetchResponse, SourceState, Validators
from paperfeed.sources import feed

SOURCE = SourceConfig(name="blog", type="feed", url="https://blog.example/feed.xml")


def rss(items: str, channel_extra: str = "", decl: str = '<?xml version="1.0"?>') -> bytes:
    return (
        f'{decl}<rss version="2.0"><channel><title>c</title><link>https://blog.example/</link>'
        f"{channel_extra}{items}</channel></rss>"
    ).encode()


def item(**fields: str) -> str:
    return "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</item>"


def test_rss_item_fields() -> None:
    body = rss(
        item(
            title="A &amp; B",
            link="https://blog.example/p/1",
            guid="tag:blog,1",
            description="&lt;p&gt;See &lt;a href='https://arxiv.org/abs/2401.00001v2'&gt;it&lt;/a&gt;"
            "&lt;/p&gt;",
            pubDate="Tue, 03 Mar 2026 10:00:00 +0100",
            category="ml",
            author="ann@example.com (Ann)",
        )
    )
    [got] = feed.parse(body, SOURCE)
    assert got.title == "A & B"
    assert got.url == "https://blog.example/p/1"
    assert got.guid == "tag:blog,1"
    assert got.summary == "See it"
    assert got.links == ("https://arxiv.org/abs/2401.00001v2",)
    assert got.published == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert got.categories == ("ml",)
    assert got.authors and "Ann" in got.authors[0]
    assert got.kind == "post" and got.arxiv_id is None


def test_arxiv_link_makes_a_paper() -> None:
    [got] = feed.parse(rss(item(title="P", link="https://arxiv.org/abs/2104.12255v3")), SOURCE)
    assert (got.kind, got.arxiv_id, got.arxiv_version) == ("paper", "2104.12255", 3)


def test_title_falls_back_to_summary_and_empty_entries_are_dropped() -> None:
    words = " ".join(f"w{n}" for n in range(30))
    body = rss(item(description=words) + item(link="https://blog.example/x") + "<item></item>")
    got = feed.parse(body, SOURCE)
    assert len(got) == 2
    assert got[0].title.startswith("w0 w1") and len(got[0].title.split()) < 30
    assert got[1].title == "https://blog.example/x"


def test_relative_links_resolve_against_the_fetched_url_and_xml_base() -> None:
    body = rss(item(title="rel", link="/p/2"))
    [got] = feed.parse(body, SOURCE, base_url="https://moved.example/feed/")
    assert got.url == "https://moved.example/p/2"
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.example/blog/">'
        b'<title>t</title><entry><title>a</title><link href="post/3"/><id>x</id></entry></feed>'
    )
    assert feed.parse(atom, SourceConfig(name="a", type="feed"))[0].url == (
        "https://atom.example/blog/post/3"
    )


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("Thurs, 30 May 2019 00:00:00 UTC", datetime(2019, 5, 30, tzinfo=UTC)),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),  # no timezone
        ("Fri, 01 Jan 2099 00:00:00 GMT", None),
        ("Thu, 01 Jan 1970 00:00:00 GMT", None),
        ("not a date at all", None),
        ("", None),
    ],
)
def test_dates_are_utc_and_clamped(stamp: str, expected: datetime | None) -> None:
    [got] = feed.parse(rss(item(title="d", pubDate=stamp)), SOURCE)
    assert got.published == expected


def test_clamp_date_window() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert feed.clamp_date(now + timedelta(hours=23), now) is not None
    assert feed.clamp_date(now + timedelta(days=2), now) is None
    assert feed.clamp_date(datetime(1990, 12, 31, 23, 59, tzinfo=UTC), now) is None
    assert feed.clamp_date(datetime(1991, 1, 1, 5, 0), now) == datetime(1991, 1, 1, 5, tzinfo=UTC)


def test_json_feed() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "j",
        "home_page_url": "https://json.example/",
        "items": [
            {
                "id": 7,
                "url": "/posts/7",
                "title": "<b>Seven</b>",
                "content_html": '<p>x <a href="https://ex.com/r">r</a></p>',
                "date_published": "2026-02-01T10:00:00Z",
                "authors": [{"name": "Bo"}],
                "tags": ["rl", 3],
            },
            "not an object",
            {"id": "8", "content_text": "only text here"},
        ],
    }
    got = feed.parse(json.dumps(doc).encode(), SourceConfig(name="j", type="feed"))
    assert [i.title for i in got] == ["Seven", "only text here"]
    assert got[0].url == "https://json.example/posts/7"
    assert got[0].guid == "7" and got[0].authors == ("Bo",) and got[0].categories == ("rl",)
    assert got[0].published == datetime(2026, 2, 1, 10, tzinfo=UTC)
    assert got[0].links == ("https://ex.com/r",)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><head><title>Home</title></head><body><p>hello</p></body></html>",
        b"",
        b"just some words",
        b'{"version": "1", "items": []}',
        b"{not json",
        b"[" * 100_000,
    ],
)
def test_not_a_feed_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        feed.parse(body, SOURCE)


def test_bozo_feed_with_entries_keeps_them() -> None:
    body = rss(item(title="kept &nbsp; one", link="https://blog.example/k") + "<item><title>x")
    got = feed.parse(body, SOURCE)
    assert got[0].title == "kept one"


def test_a_body_naming_a_local_file_is_not_read(tmp_path: Any) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes(rss(item(title="SECRET-CONTENT")))
    with pytest.raises(ParseError):
        feed.parse(str(secret).encode(), SOURCE)


@pytest.mark.parametrize(
    "snippet",
    [
        "&#xD800;",
        "&#x110000;",
        "&#xFFFFFFFF;",
        "&#0;",
        "&#99999999999999999999;",
    ],
)
def test_named_char_ref_regressions(snippet: str) -> None:
    [got] = feed.parse(rss(item(title=f"a{snippet}b", link="https://blog.example/r")), SOURCE)
    assert got.title.startswith("a") and got.title.endswith("b")
    assert not re.search("[\ud800-\udfff\x00-\x1f]", got.title)


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0" encoding="\xff\xfe"?>' + rss(item(title="t"), decl=""),
        b'<?xml version="1.0" encoding="utf-8\xc3"?>' + rss(item(title="t"), decl=""),
        b'<!DOCTYPE rss [<!ENTITY a "\\\\\\">]>' + rss(item(title="&a;"), decl=""),
        b'<!DOCTYPE rss [<!ENTITY \\ "x">]>' + rss(item(title="t"), decl=""),
    ],
)
def test_malformed_prolog_regressions_raise_only_parse_error(body: bytes) -> None:
    try:
        got = feed.parse(body, SOURCE)
    except ParseError:
        return
    assert all(isinstance(i.title, str) for i in got)


# --- collect ---------------------------------------------------------------------------------


def test_collect_parses_a_200_and_passes_validators_through() -> None:
    body = rss(item(title="one", link="/p/1"))
    new = Validators(etag='"v2"', last_modified="Tue, 03 Mar 2026 10:00:00 GMT")
    http = FakeHttp(
        FetchResponse(
            url="https://new.example/f",
            status=200,
            body=body,
            validators=new,
            moved_to="https://new.example/f",
        )
    )
    state = SourceState(name="blog", validators=Validators(etag='"v1"'))
    got = feed.collect(SOURCE, state, http)  # type: ignore[arg-type]
    assert [i.url for i in got.items] == ["https://new.example/p/1"]
    assert (got.validators, got.moved_to, got.requests, got.bytes_read) == (
        new,
        "https://new.example/f",
        1,
        len(body),
    )
    url, kwargs = http.calls[0]
    assert url == SOURCE.url and kwargs["validators"] == state.validators
    assert kwargs["allow_private"] is False


def test_collect_on_304_does_not_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parse called on a 304")

    monkeypatch.setattr(feed, "parse", no_parse)
    http = FakeHttp(FetchResponse(url=str(SOURCE.url), status=304))
    state = SourceState(name="blog", moved_to="https://moved.example/f")
    got = feed.collect(SOURCE, state, http)  # type: ignore[arg-type]
    assert got.not_modified and got.items == [] and got.requests == 1
    assert http.calls[0][0] == "https://moved.example/f"


# --- recorded blog feeds ---------------------------------------------------------------------


def _distinct_links(body: bytes) -> set[str]:
    return set(re.findall(rb"<item>.*?<link>([^<]+)</link>", body, re.S))


def test_lilianweng_snapshots_and_incremental_keys() -> None:
    old_body = shared_path("fixtures/feeds/ml_blogs_official/lilianweng_index_2024-04-14.xml")
    new_body = shared_path("fixtures/feeds/ml_blogs_official/lilianweng_index_2026-07.xml")
    old_raw, new_raw = old_body.read_bytes(), new_body.read_bytes()
    source = SourceConfig(name="lilianweng", type="feed")
    old, new = feed.parse(old_raw, source), feed.parse(new_raw, source)
    assert len(old) == old_raw.count(b"<item>")
    assert len(new) == new_raw.count(b"<item>")
    added = set(assign_keys(new, "lilianweng")) - set(assign_keys(old, "lilianweng"))
    assert len(added) == len(_distinct_links(new_raw) - _distinct_links(old_raw))
    assert len(added) == 5  # stated by the fixture's provenance: 53 items in 2026-07, 48 before
    years = [int(y) for y in re.findall(rb"<pubDate>\w+, \d+ \w+ (\d+)", new_raw)]
    assert sum(i.published is None for i in new) == sum(y < 1991 for y in years)  # Hugo's 0001


def test_colah_dates_parse() -> None:
    body = shared_path("fixtures/feeds/ml_blogs_official/colah_rss.xml").read_bytes()
    got = feed.parse(body, SourceConfig(name="colah", type="feed"))
    assert len(got) == body.count(b"<item>")
    by_title = {i.title: i for i in got}
    assert b"Thurs, 30 May 2019" in body
    assert by_title["Collaboration and Credit Principles"].published == datetime(
        2019, 5, 30, tzinfo=UTC
    )
    assert all(i.published is not None for i in got)


def test_openai_feed_that_went_empty_gives_no_items() -> None:
    path = (
        "fixtures/feeds/ml_org_feeds_scraped/olshansk_history/feed_openai_research__2025-06-18.xml"
    )
    assert feed.parse(shared_path(path).read_bytes(), SourceConfig(name="o", type="feed")) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-13-45", None),  # feedparser rolls it over to 2025-01-01
        ("2024-02-30", None),  # ... and this to 2024-03-01
        ("2024-02-30T10:00:00Z", None),
        ("Fri, 30 Feb 2024 10:00:00 GMT", None),
        ("Fri, 01 Mar 2024 10:00:00 -0500", datetime(2024, 3, 1, 15, tzinfo=UTC)),
        ("2024-03-01T23:30:00-05:00", datetime(2024, 3, 2, 4, 30, tzinfo=UTC)),
    ],
)
def test_impossible_dates_are_null_not_shifted(text: str, expected: datetime | None) -> None:
    body = (
        '<rss version="2.0"><channel><item><title>t</title><link>https://e.org/x</link>'
        f"<pubDate>{text}</pubDate></item></channel></rss>"
    ).encode()
    items = feed.parse(body, SourceConfig("s", "feed", url="https://e.org/f"))
    assert items[0].published == expected
