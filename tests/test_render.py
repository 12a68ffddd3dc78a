"""Safe rendering (RELIABILITY G1-G4): untrusted text never becomes markdown structure."""

from __future__ import annotations

import random
import re

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from paperfeed.digest.markdown import (
    SUB_ITEM,
    escape_line,
    escape_text,
    heading_text,
    link,
    safe_url,
    table,
    table_row,
)
from paperfeed.text import plain

HOSTILE = list("[]()!<>|`*_#&:;/\\-+=~.\"' \n\t\r") + [
    "javascript:",
    "JaVaScRiPt:",
    "data:text/html,",
    "http://",
    "https://evil.example/x",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "![i](https://t.example/p.gif)",
    "[ref]: https://evil",
    "```",
    "~~~",
    "    ",
    "\n\n# ",
    "\n- ",
    "\n1. ",
    "&#x3C;",
    "&lt;",
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2069",
    "\u200b",
    "\u200f",
    "\ufeff",
    "\u2028",
    "abc",
    "é",
    "<!--",
    "-->",
    "<![CDATA[",
    "www.evil.com",
    "\\|",
    "||",
    "---",
    "===",
    "<https://x.y>",
]
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
OUR_URL = "https://arxiv.org/abs/2401.00001"
INPUTS = 20_000
PER_DOC = 25


def renderers() -> dict[str, MarkdownIt]:
    return {
        "default": MarkdownIt(),  # commonmark preset, html allowed
        "html_off": MarkdownIt("commonmark", {"html": False}),
        "gfm_like": MarkdownIt("gfm-like", {"linkify": False}),  # tables; linkify-it not installed
    }


def fuzz_inputs(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(HOSTILE) for _ in range(rng.randint(1, 14))) for _ in range(count)]


def flatten(tokens: list[Token]) -> list[Token]:
    out = []
    for token in tokens:
        out.append(token)
        out.extend(flatten(token.children or []))
    return out


def fuzz_document(texts: list[str], line_escape=escape_line, inline_escape=escape_text) -> str:
    """The digest's shapes: a task line (link, then text mid-line), sub-items that start with
    untrusted text, a plain paragraph line, and a two-column table."""
    lines = ["# Digest", "", "## Area", ""]
    for text in texts:
        lines.append(f"- [ ] {link(text, OUR_URL)} · {inline_escape(text)} · id 1")
        if line_escape(text):  # as the digest: an empty sub-item would underline the task line
            lines.append(f"{SUB_ITEM}{line_escape(text)}")
        lines.append(f"{SUB_ITEM}Why this: {inline_escape(text)}")
    lines.append("")
    for text in texts:
        lines += [line_escape(text), ""]
    rows = [[inline_escape(t), inline_escape(t[::-1])] for t in texts]
    lines += table(["Source", "Problem"], rows)
    return "\n".join(lines) + "\n"


def check_tokens(tokens: list[Token], entries: int) -> None:
    flat = flatten(tokens)
    types = [t.type for t in flat]
    assert types.count("link_open") == entries
    assert all(t.attrGet("href") == OUR_URL for t in flat if t.type == "link_open")
    assert "image" not in types and "html_inline" not in types and "html_block" not in types
    assert types.count("heading_open") == 2
    assert "fence" not in types and "code_block" not in types
    assert not {"em_open", "strong_open", "s_open", "code_inline"} & set(types)


def check_table(tokens: list[Token], rows: int) -> None:
    cells, row_count = 0, 0
    for token in tokens:
        if token.type == "tr_open":
            cells, row_count = 0, row_count + 1
        elif token.type in ("td_open", "th_open"):
            cells += 1
        elif token.type == "tr_close":
            assert cells == 2
    assert row_count == rows + 1  # the header row too


@pytest.mark.parametrize("name", ["default", "html_off", "gfm_like"])
def test_fuzzed_untrusted_text_yields_no_links_images_html_or_structure(name: str) -> None:
    md = renderers()[name]
    texts = fuzz_inputs(seed=7, count=INPUTS)
    for start in range(0, INPUTS, PER_DOC):
        batch = texts[start : start + PER_DOC]
        document = fuzz_document(batch)
        assert not BIDI.search(document)
        tokens = md.parse(document)
        check_tokens(tokens, len(batch))
        if name == "gfm_like":
            check_table(tokens, len(batch))


def test_the_fuzz_catches_an_escaper_that_lets_structure_through() -> None:
    """The checks above can fail: with the line-start escaping left out, or `<` left raw, the
    same inputs produce headings or HTML."""
    texts = fuzz_inputs(seed=7, count=2_000)
    md = renderers()["gfm_like"]
    lazy_inline = lambda t: escape_text(t).replace("\\<", "<")  # noqa: E731
    for line_escape, inline_escape in ((escape_text, escape_text), (escape_line, lazy_inline)):
        with pytest.raises(AssertionError):
            for start in range(0, len(texts), PER_DOC):
                batch = texts[start : start + PER_DOC]
                document = fuzz_document(batch, line_escape, inline_escape)
                tokens = md.parse(document)
                check_tokens(tokens, len(batch))
                check_table(tokens, len(batch))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Large Language Models (LLMs) exhibit strong, making", None),
        ("Sixfold's 2024-W14 results: 3.5% better", None),
        (
            "http://127.0.0.1:8765/ and www.example.com",
            r"http\://127.0.0.1:8765/ and www\.example.com",
        ),
        ("snake_case stays, _emphasis_ does not", r"snake_case stays, \_emphasis_ does not"),
        ("LaTeX $x_{i}^2$ and a_b_", None),
        (
            "a*b [x](y) <b> `c` ~d~ e|f &amp; \\(",
            r"a\*b \[x\](y) \<b> \`c\` \~d\~ e\|f \&amp; \\(",
        ),
        ("LaTeX $\\alpha_i$ stays", None),
    ],
)
def test_only_structure_is_escaped_mid_line(raw: str, expected: str | None) -> None:
    assert escape_text(raw) == (raw if expected is None else expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("# not a heading", r"\# not a heading"),
        ("> not a quote", r"\> not a quote"),
        ("- not a list", r"\- not a list"),
        ("+ not a list", r"\+ not a list"),
        ("2024. A year", r"2024\. A year"),
        ("3) three", r"3\) three"),
        ("=== not an underline", r"\=== not an underline"),
        ("Plain words", "Plain words"),
    ],
)
def test_line_starts_escape_only_their_marker(raw: str, expected: str) -> None:
    assert escape_line(raw) == expected


def test_heading_text_keeps_a_trailing_hash() -> None:
    tokens = MarkdownIt().parse(f"## {heading_text('C#')}\n")
    assert tokens[1].content == r"C\#" and tokens[1].children[0].content == "C#"


XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)>",
    "[click](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "![p](https://track.example/p.gif)",
    "<a href='vbscript:msgbox(1)'>x</a>",
    "java&#x09;script:alert(1)",
    "<https://evil.example>",
    "[a][r]\n\n[r]: javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "<ScRiPt >alert(1)</ScRiPt >",
    "<body onload=x()>",
]


@pytest.mark.parametrize("vector", XSS)
def test_xss_vectors_render_without_tags_handlers_or_foreign_hrefs(vector: str) -> None:
    document = fuzz_document([vector, vector.upper()])
    for md in renderers().values():
        html = md.render(document)
        assert "<script" not in html.lower() and "<iframe" not in html.lower()
        assert "<img" not in html.lower() and "<svg" not in html.lower()
        assert not re.search(r"<[^>]*\son\w+=", html, re.IGNORECASE)
        assert set(re.findall(r'href="([^"]*)"', html)) == {OUR_URL}


def test_newline_heading_and_reference_injection_stay_one_line() -> None:
    title = "x\n\n# Injected\n\n[ref]: https://evil\n```\nunclosed \u202e fence"
    out = escape_text(title)
    assert "\n" not in out and "\u202e" not in out
    tokens = flatten(MarkdownIt().parse(f"# Top\n\n- {link(title, OUR_URL)}\n\n[ref]\n"))
    assert [t.type for t in tokens].count("heading_open") == 1
    assert [t.type for t in tokens].count("link_open") == 1


def test_plain_folds_whitespace_strips_controls_and_truncates() -> None:
    assert plain("a\r\n\tb\u200b\u2028c\x00d") == "a b cd"
    assert plain("abcdef", limit=4) == "abc…"
    assert plain(None) == ""


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " data:text/html,x",
        "vbscript:x",
        "ftp://a.b/",
        "//evil.example/x",
        "https://",
        "http:///path",
        "https://a.example/\u202ex",
        "mailto:a@b.c",
    ],
)
def test_safe_url_rejects_everything_but_http_urls_with_a_host(url: str) -> None:
    assert safe_url(url) is None


def test_safe_url_percent_encodes_markdown_breaking_characters() -> None:
    url = safe_url('HTTPS://a.example/p (1)<x>|[y] "z"\\é?q=1&r=%20#f')
    assert url == "https://a.example/p%20%281%29%3Cx%3E%7C%5By%5D%20%22z%22%5C%C3%A9?q=1&r=%20#f"


def test_link_falls_back_to_escaped_text_for_unsafe_urls() -> None:
    assert link("a [b]", "javascript:alert(1)") == r"a \[b\]"
    assert link("", "https://a.example/") == "[untitled](https://a.example/)"


def test_table_row_keeps_cells_with_escaped_pipes() -> None:
    row = table_row([escape_text("a|b||c"), escape_text("\\|")])
    tokens = MarkdownIt("gfm-like", {"linkify": False}).parse(f"| h | i |\n| --- | --- |\n{row}\n")
    check_table(tokens, 1)
