"""Text cleaning for everything that comes from outside: HTML to plain text, Unicode repair.

Pure functions. DuckDB rejects lone surrogates, and control characters break terminals and
markdown, so every string from a feed, a page or the arXiv API passes through `clean_text`.
"""

from __future__ import annotations

import html
import re
import unicodedata
import warnings

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning

_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 controls except tab and newline, DEL, and C1 controls.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")
_TAG_HINT = re.compile(r"<[a-zA-Z!/?]")


def repair_unicode(value: str) -> str:
    """NFC, lone surrogates to U+FFFD, control characters (but tab and newline) removed."""
    value = _SURROGATES.sub("\ufffd", value)
    value = _CONTROLS.sub("", value)
    return unicodedata.normalize("NFC", value)


def html_to_text(value: str) -> str:
    """Visible text of an HTML fragment; plain text passes through with entities decoded."""
    if not _TAG_HINT.search(value):
        return html.unescape(value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(value, "html.parser")
    for node in soup(["script", "style", "noscript", "iframe", "object", "template"]):
        node.decompose()
    return soup.get_text(" ")


def clean_text(value: object, *, max_length: int | None = None) -> str:
    """Plain, single-spaced, repaired text from any feed field (None and non-strings become '')."""
    if not isinstance(value, str) or not value:
        return ""
    text = _SPACES.sub(" ", repair_unicode(html_to_text(repair_unicode(value)))).strip()
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text
