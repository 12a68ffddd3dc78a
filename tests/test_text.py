"""clean_text, safe_http_url and outbound_links: the guarantees every stored string relies on."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperfeed.text import (
    _full_clean,
    clean_text,
    outbound_links,
    page_count,
    safe_http_url,
    word_count,
)

TAG = re.compile(r"<[a-zA-Z!/?]")
FORBIDDEN = re.compile("[\ud800-\udfff\x00-\x1f\x7f-\x9f]")


@given(st.text(alphabet=st.characters(codec=None), max_size=300))
@settings(max_examples=300, deadline=None)
def test_clean_text_output_is_single_line_repaired_plain_text(value: str) -> None:
    text = clean_text(value)
    assert not FORBIDDEN.search(text)
    assert not TAG.search(text)
    assert text == text.strip()
    assert "  " not in text
    assert unicodedata.is_normalized("NFC", text)


@given(st.lists(st.sampled_from(["<", ">", "&lt;", "&gt;", "&amp;", "script", "b", "/", " ", "x"])))
@settings(max_examples=300, deadline=None)
def test_escaped_markup_never_becomes_a_tag(parts: list[str]) -> None:
    assert not TAG.search(clean_text("".join(parts)))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AT&amp;T &eacute;t&eacute;", "AT&T été"),
        ("<p>one</p>\n\n<p>two\tthree</p>", "one two three"),
        ("<b>keep</b><script>alert(1)</script><style>p{}</style>", "keep"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;after", "after"),
        ("&amp;lt;b&amp;gt;double&amp;lt;/b&amp;gt;", "&lt;b&gt;double&lt;/b&gt;"),
        ("e\u0301 x\ud800y \x01z", "é x\ufffdy z"),
        ('<?xml version="1.0" encoding="latin1"?><p>caf\u00e9</p>', "caf\u00e9"),
        ("a < b and c > d", "a < b and c > d"),
        (None, ""),
    ],
)
def test_clean_text_examples(raw: object, expected: str) -> None:
    assert clean_text(raw) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text())
def test_the_plain_ascii_fast_path_is_exactly_the_full_clean(value: str) -> None:
    assert clean_text(value) == _full_clean(value)


def test_clean_text_caps_length_with_an_ellipsis() -> None:
    text = clean_text("<p>" + "word " * 5000 + "</p>", max_length=100)
    assert len(text) == 100
    assert text.endswith("…")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "java&#x09;script:alert(1)",
        "javascript&colon;alert(1)",
        "\x01javascript:alert(1)",
        "vbscript:msgbox(1)",
        "VBSCRIPT:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "DaTa:text/html,<script>",
        "file:///etc/passwd",
        "ftp://example.com/x",
        "mailto:a@b.c",
        "http://",
        "https://[::1",
        "https://ex.com/\ud800",
        "",
        None,
    ],
)
def test_unsafe_urls_give_none(url: object) -> None:
    assert safe_http_url(url, "https://base.example/") is None


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://ex.com/a?b=1&c=2", None, "https://ex.com/a?b=1&c=2"),
        ("/post/1", "https://ex.com/blog/", "https://ex.com/post/1"),
        ("post 1", "https://ex.com/blog/", "https://ex.com/blog/post%201"),
        ("  HTTP://Ex.com/x\n", None, "HTTP://Ex.com/x"),
        ("/relative", None, None),
        ("/relative", "javascript:alert(1)", None),
    ],
)
def test_safe_urls_resolve(url: str, base: str | None, expected: str | None) -> None:
    assert safe_http_url(url, base) == expected


def test_outbound_links_dedupes_resolves_and_filters() -> None:
    fragment = (
        "<a href=\"https://arxiv.org/abs/2401.00001\">p</a> <a href='/local'>l</a>"
        '<A HREF="https://arxiv.org/abs/2401.00001">again</A> <a href="javascript:x()">x</a>'
        '<a title="t" href="https://ex.com/?a=1&amp;b=2">q</a> <img src="https://img/x.png">'
    )
    assert outbound_links(fragment, "https://blog.example/post/") == (
        "https://arxiv.org/abs/2401.00001",
        "https://blog.example/local",
        "https://ex.com/?a=1&b=2",
    )


def test_outbound_links_is_capped() -> None:
    fragment = "".join(f'<a href="https://ex.com/{n}">{n}</a>' for n in range(80))
    assert len(outbound_links(fragment, limit=50)) == 50


@pytest.mark.parametrize(
    ("comment", "pages"),
    [
        ("12 pages, 5 figures", 12),
        ("Accepted at ICML. 9 pages + appendix", 9),
        ("30pp", 30),
        ("v2: fixed typos", None),
        ("1.5 pages of notes", None),  # not a whole page count
        (None, None),
        ("0 pages", None),
    ],
)
def test_page_count_reads_the_arxiv_comment(comment, pages) -> None:
    assert page_count(comment) == pages


def test_word_count_counts_the_whole_content_without_markup() -> None:
    assert word_count("<p>Three <b>short</b> words</p>") == 3
    assert word_count("") is None and word_count("<br/>") is None
