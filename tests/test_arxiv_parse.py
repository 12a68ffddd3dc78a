"""arxiv.parse over every recorded arXiv API response; expectations are read independently from
the raw XML with ElementTree and regexes, never copied from a run."""

from __future__ import annotations

import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import SHARED, shared_path

from paperfeed.errors import ArxivApiError, ParseError
from paperfeed.sources.arxiv import parse

FIXTURES = "fixtures/arxiv_api"
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
ERROR_FEED = "arxiv_py_recorded_2026/id_abc_s0_m100_b79c8dcf6bc3.json"
ENTRY_ID = re.compile(r"^https?://arxiv\.org/abs/(?P<id>.+?)(?:v(?P<v>\d+))?$")


def body_of(path: Path) -> bytes:
    if path.suffix == ".json":
        return json.loads(path.read_text())["body"].encode("latin-1")
    return path.read_bytes()


def fixture_body(name: str) -> bytes:
    return body_of(shared_path(f"{FIXTURES}/{name}"))


def api_responses() -> list[str]:
    """The recorded responses, or none when ../shared is absent (read at collection time, so it
    must not skip: the placeholder test then skips with the reason)."""
    root = SHARED / FIXTURES
    names = [str(p.relative_to(root)) for p in root.glob("*/*") if p.suffix in (".json", ".xml")]
    return sorted(n for n in names if n != ERROR_FEED)


def squash(text: str | None) -> str:
    return unicodedata.normalize("NFC", " ".join((text or "").split()))


def expected_entries(body: bytes) -> list[dict[str, object]]:
    """What each <entry> says, read with ElementTree (a different parser from the adapter's)."""
    expected = []
    for entry in ET.fromstring(body).iter(f"{ATOM}entry"):
        match = ENTRY_ID.match(entry.findtext(f"{ATOM}id", "").strip())
        assert match, "every recorded entry id is an arxiv.org/abs URL"
        primary = entry.find(f"{ARXIV}primary_category")
        expected.append(
            {
                "id": match["id"],
                "version": int(match["v"]) if match["v"] else None,
                "primary": primary.get("term") if primary is not None else None,
                "categories": {c.get("term") for c in entry.iter(f"{ATOM}category")},
                "authors": [squash(a.findtext(f"{ATOM}name")) for a in entry.iter(f"{ATOM}author")],
                "title": squash(entry.findtext(f"{ATOM}title")),
                "summary": squash(entry.findtext(f"{ATOM}summary")),
                "doi": entry.findtext(f"{ARXIV}doi"),
            }
        )
    return expected


@pytest.mark.parametrize("name", api_responses() or ["<no fixtures>"])
def test_every_response_parses_to_the_entries_in_the_xml(name: str) -> None:
    body = fixture_body(name)
    page = parse(body)
    expected = expected_entries(body)
    assert page.entries == len(expected)
    assert [i.arxiv_id for i in page.items] == [e["id"] for e in expected]
    assert [i.arxiv_version for i in page.items] == [e["version"] for e in expected]
    for item, exp in zip(page.items, expected, strict=True):
        assert item.kind == "paper"
        assert item.url == f"https://arxiv.org/abs/{exp['id']}"
        assert list(item.authors) == exp["authors"]
        assert set(item.categories) == exp["categories"] | {exp["primary"]} - {None}
        assert len(item.categories) == len(set(item.categories))
        if exp["primary"]:
            assert item.categories[0] == exp["primary"]
        assert item.title == exp["title"]
        assert item.summary == exp["summary"]  # LaTeX such as `$γ(u)<γ(v)$` survives
        assert (item.doi is None) == (exp["doi"] is None)
        assert item.published is not None and item.published.tzinfo is not None


def test_totals_and_paging_header_come_from_opensearch() -> None:
    body = fixture_body("arxiv_py_recorded_2026/q_testing_s9_m15_0b78d4b4d476.json")
    root = ET.fromstring(body)
    ns = "{http://a9.com/-/spec/opensearch/1.1/}"
    page = parse(body)
    assert page.total_results == int(root.findtext(f"{ns}totalResults", ""))
    assert page.start == 9
    assert page.per_page == 15


def test_the_34_author_paper_keeps_every_author() -> None:
    page = parse(fixture_body("arxiv_py_recorded_2026/id_1707.08567_s0_m100_6a1afebfc6a3.json"))
    (paper,) = page.items
    assert paper.arxiv_id == "1707.08567"
    assert len(paper.authors) == 34
    assert len(set(paper.authors)) == 34


@pytest.mark.parametrize(
    ("name", "arxiv_id"),
    [
        ("id_astro-ph_0601001_s0_m100_3150dca9dc76.json", "astro-ph/0601001"),
        ("id_quant-ph_0201082v1_s0_m100_86989fe779ef.json", "quant-ph/0201082"),
        ("id_hep-ex_0406020v1_s0_m100_84b15d66c0ce.json", "hep-ex/0406020"),
        ("id_2104.12255v1_s0_m100_6ae69987ffe1.json", "2104.12255"),
    ],
)
def test_old_style_and_version_pinned_ids(name: str, arxiv_id: str) -> None:
    (paper,) = parse(fixture_body(f"arxiv_py_recorded_2026/{name}")).items
    assert paper.arxiv_id == arxiv_id
    assert paper.arxiv_version == 1
    assert paper.guid is not None and paper.guid.endswith(f"{arxiv_id}v1")
    assert paper.url == f"https://arxiv.org/abs/{arxiv_id}"


def test_empty_result_and_mixed_valid_invalid_id_list() -> None:
    empty = parse(fixture_body("arxiv_py_recorded_2026/id_0000.0000_s0_m100_8b51d9633a68.json"))
    assert (empty.total_results, empty.entries, empty.items) == (0, 0, [])
    mixed = parse(
        fixture_body("arxiv_py_recorded_2026/id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json")
    )
    assert [i.arxiv_id for i in mixed.items] == ["1707.08567"]


def test_hard_wrapped_2016_abstracts_are_joined() -> None:
    page = parse(fixture_body("arxiv_py_raw_2016/au_del_maestro.xml"))
    assert page.items
    for item in page.items:
        assert "\n" not in item.summary and "  " not in item.summary
        assert item.summary == item.summary.strip()


def test_error_feed_is_an_api_error_never_a_paper() -> None:
    with pytest.raises(ArxivApiError, match="incorrect id format for abc"):
        parse(fixture_body(ERROR_FEED))


def test_an_error_entry_beside_a_paper_still_fails_the_page() -> None:
    paper = fixture_body("arxiv_py_recorded_2026/id_2104.12255v1_s0_m100_6ae69987ffe1.json")
    error = fixture_body(ERROR_FEED)
    error_entry = error[error.index(b"<entry>") : error.index(b"</entry>") + len(b"</entry>")]
    mixed = paper.replace(b"</feed>", error_entry + b"</feed>")
    with pytest.raises(ArxivApiError):
        parse(mixed)


def test_overlapping_testing_pages_union_matches_raw_xml() -> None:
    root = shared_path(FIXTURES)
    bodies = [body_of(p) for p in sorted(root.glob("arxiv_py_recorded_2026/q_testing_*.json"))]
    assert len(bodies) == 12
    raw_ids = {
        m.group(1).decode()
        for body in bodies
        for m in re.finditer(rb"<id>https?://arxiv\.org/abs/([^<]+?)(?:v\d+)?</id>", body)
    }
    parsed_ids = {item.arxiv_id for body in bodies for item in parse(body).items}
    assert parsed_ids == raw_ids
    assert len(parsed_ids) == len(raw_ids)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        b"<html><body>503 Service Unavailable</body></html>",
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id></entry></feed>',
        b"\xff\xfe<\x00f\x00",
    ],
)
def test_garbage_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body)


def test_truncated_recorded_page_is_a_parse_error() -> None:
    body = fixture_body("arxiv_py_recorded_2026/q_testing_s0_m10_bc5a6c384fe9.json")
    with pytest.raises(ParseError):
        parse(body[: len(body) // 2])


def test_external_entities_are_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        "<opensearch:totalResults>1</opensearch:totalResults>"
        "<entry><id>http://arxiv.org/abs/2401.00001v1</id><title>&xxe;</title>"
        "<summary>s</summary></entry></feed>"
    ).encode()
    try:
        page = parse(body)
    except ParseError:
        return
    assert all("TOP-SECRET" not in i.title + i.summary for i in page.items)
