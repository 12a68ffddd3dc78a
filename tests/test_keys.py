"""Canonical item keys: the dedupe rules of RELIABILITY B5, as pure functions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperfeed.keys import assign_keys, item_key, normalize_url, parse_arxiv_id
from paperfeed.records import Item


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("2104.12255", ("2104.12255", None)),
        ("2104.12255v3", ("2104.12255", 3)),
        ("arXiv:2104.12255v1", ("2104.12255", 1)),
        ("https://arxiv.org/abs/2104.12255v2", ("2104.12255", 2)),
        ("http://export.arxiv.org/pdf/2104.12255.pdf", ("2104.12255", None)),
        ("hep-ex/0406020v1", ("hep-ex/0406020", 1)),
        ("https://arxiv.org/abs/math.GT/0309136", ("math.GT/0309136", None)),
        ("https://example.org/2104.12255", None),
        ("not an id", None),
    ],
)
def test_arxiv_ids_in_every_form(ref: str, expected: tuple[str, int | None] | None) -> None:
    assert parse_arxiv_id(ref) == expected


def test_url_normalisation_folds_what_does_not_identify_a_page() -> None:
    variants = [
        "https://www.example.org/post/",
        "http://example.org/post?utm_source=rss&utm_medium=feed",
        "HTTPS://Example.ORG:443/post#comments",
    ]
    assert {normalize_url(v) for v in variants} == {"https://example.org/post"}
    assert normalize_url("https://example.org/p?b=2&a=1") == "https://example.org/p?a=1&b=2"
    assert normalize_url("https://example.org:8080/p") != normalize_url("https://example.org/p")


@given(st.text())
def test_normalize_url_never_raises_on_hostile_text(text: str) -> None:
    assert normalize_url(text).startswith("https://")


def test_key_prefers_arxiv_then_doi_then_url() -> None:
    assert item_key(Item("t", url="https://arxiv.org/abs/2401.00001v2"), "s") == "arxiv:2401.00001"
    assert item_key(Item("t", url="https://x.org/a", doi="10.1/ABC"), "s") == "doi:10.1/abc"
    assert item_key(Item("t", url="https://x.org/a/", guid="g"), "s") == "url:https://x.org/a"
    assert item_key(Item("t", guid="g"), "blog") == "guid:blog:g"
    assert item_key(Item("t", summary="s"), "blog").startswith("hash:")


def test_a_link_shared_by_different_entries_is_not_their_identity() -> None:
    home = "https://newsletter.example/"
    batch = [Item(f"issue {n}", url=home, guid=f"issue-{n}") for n in range(3)]
    keys = assign_keys(batch, "news")
    assert len(set(keys)) == 3
    assert all(k.startswith("guid:news:") for k in keys)
