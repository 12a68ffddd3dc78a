"""HTML listing adapter: a blog or newsletter index page without a feed, read with CSS selectors.

I/O rule: `collect` fetches through the shared HttpClient; `parse(bytes, source)` is pure and
raises only ParseError. The selectors come from the source's options in sources.yaml:

    options:
      selectors: {item: "article.post", title: "h2", link: "a", date: "time", summary: "p"}

`item` and `title` are required. The link is the `link` element's href (or the href of its first
`<a>`; without a `link` selector, the item's first `<a>`), resolved against the page URL. The
date is a `datetime` attribute or the element's text. Each entry then goes through the feed
adapter's normaliser, so text, URL and date rules are the same as for feeds.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import soupsieve
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import Tag

from paperfeed.config import SourceConfig
from paperfeed.errors import ParseError
from paperfeed.records import Collected, Item, SourceState
from paperfeed.sources import collect_page
from paperfeed.sources.feed import RawEntry, parse_date, to_item
from paperfeed.text import clean_text, safe_http_url

if TYPE_CHECKING:
    from paperfeed.http import HttpClient

__all__ = ["collect", "parse"]

HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MAX_ITEMS = 500
REQUIRED = ("item", "title")
OPTIONAL = ("link", "date", "summary")


def _selectors(source: SourceConfig) -> dict[str, str]:
    """The validated selectors of a source; ParseError names what is wrong."""
    raw = source.options.get("selectors") if isinstance(source.options, Mapping) else None
    if not isinstance(raw, Mapping):
        raise ParseError(f"source {source.name}: options.selectors is required for type html")
    selectors = {key: raw[key] for key in (*REQUIRED, *OPTIONAL) if raw.get(key)}
    for key in REQUIRED:
        if key not in selectors:
            raise ParseError(f"source {source.name}: options.selectors.{key} is required")
    for key, selector in selectors.items():
        try:
            soupsieve.compile(str(selector))
        except soupsieve.SelectorSyntaxError as exc:
            reason = clean_text(str(exc), max_length=200)
            message = f"source {source.name}: selectors.{key} is not valid CSS: {reason}"
            raise ParseError(message) from exc
    return {key: str(value) for key, value in selectors.items()}


def _soup(body: bytes) -> BeautifulSoup:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        try:
            return BeautifulSoup(body, "html.parser")
        except Exception as exc:  # bs4 and its encoding detection may raise anything on garbage
            reason = clean_text(f"{type(exc).__name__}: {exc}", max_length=200)
            raise ParseError(f"page could not be parsed: {reason}") from exc


def _first(node: Tag, selector: str | None) -> Tag | None:
    return node.select_one(selector) if selector else None


def _href(node: Tag, selector: str | None) -> str | None:
    element = _first(node, selector) if selector else node.find("a", href=True)
    if isinstance(element, Tag) and not element.has_attr("href"):
        element = element.find("a", href=True)
    href = element.get("href") if isinstance(element, Tag) else None
    return href if isinstance(href, str) else None


def _date(node: Tag, selector: str | None) -> datetime | None:
    element = _first(node, selector)
    if element is None:
        return None
    stamp = element.get("datetime") or element.get("content")
    return parse_date(stamp if isinstance(stamp, str) else element.get_text(" "))


def _markup(node: Tag, selector: str | None) -> str | None:
    element = _first(node, selector)
    return element.decode_contents() if element is not None else None


def _entry(node: Tag, selectors: dict[str, str], base: str | None) -> RawEntry:
    link = safe_http_url(_href(node, selectors.get("link")), base)
    return RawEntry(
        title=_markup(node, selectors["title"]),
        link=link,
        html=_markup(node, selectors.get("summary")),
        guid=link,
        published=_date(node, selectors.get("date")),
    )


def parse(body: bytes, source: SourceConfig, base_url: str | None = None) -> list[Item]:
    """A listing page → its items, in page order. `base_url` (the fetched URL) resolves links."""
    selectors = _selectors(source)
    base = base_url or source.url
    now = datetime.now(UTC)
    items: list[Item] = []
    for node in _soup(body).select(selectors["item"], limit=MAX_ITEMS):
        item = to_item(_entry(node, selectors, base), base, now)
        if item is not None:
            items.append(item)
    return items


def collect(source: SourceConfig, state: SourceState, http: HttpClient) -> Collected:
    """Fetch the page with the stored validators; a 304 is returned without parsing."""
    return collect_page(
        source,
        state,
        http,
        accept=HTML_ACCEPT,
        parse=lambda resp: parse(resp.body, source, base_url=resp.url),
    )
