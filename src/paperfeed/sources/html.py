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

import time
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from paperfeed.config import SourceConfig
from paperfeed.errors import ParseError
from paperfeed.records import Collected, FetchResponse, Item, SourceState
from paperfeed.sources import SourceType, collect_page
from paperfeed.sources.feed import RawEntry, to_item
from paperfeed.text import clean_text, parse_date, safe_http_url

if TYPE_CHECKING:
    import yaml
    from bs4 import BeautifulSoup
    from bs4.element import Tag

    from paperfeed.http import HttpClient
    from paperfeed.yamlnodes import NodeMap, NodeReader

__all__ = ["collect", "parse"]

HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MAX_ITEMS = 500
MIN_PARSE_SECONDS = 2.0  # a page that arrived at the very end of the deadline still gets this
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
        problem = selector_problem(str(selector))
        if problem:
            message = f"source {source.name}: selectors.{key} is not valid CSS: {problem}"
            raise ParseError(message)
    return {key: str(value) for key, value in selectors.items()}


def selector_problem(selector: str) -> str | None:
    """Why a CSS selector cannot be used (soupsieve's first line), or None when it can."""
    import soupsieve  # bs4's selector engine, imported when a selector is first checked

    try:
        soupsieve.compile(selector)
    except soupsieve.SelectorSyntaxError as exc:
        return clean_text(str(exc).splitlines()[0], max_length=200)
    return None


def _soup(body: bytes) -> BeautifulSoup:
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning

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
    from bs4.element import Tag

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


def parse(
    body: bytes,
    source: SourceConfig,
    base_url: str | None = None,
    budget: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Item]:
    """A listing page → its items, in page order. `base_url` (the fetched URL) resolves links.

    With a `budget` (seconds), a page that takes longer is a ParseError: selectors over a page
    of 100,000 nested elements cost that many steps per item, and the time is checked between
    items (and after the tree is built, which is linear in the page and cannot be cut short).
    """
    selectors = _selectors(source)
    base = base_url or source.url
    now = datetime.now(UTC)
    give_up = None if budget is None else clock() + budget
    items: list[Item] = []
    soup = _soup(body)
    for node in soup.select(selectors["item"], limit=MAX_ITEMS):
        if give_up is not None and clock() > give_up:
            raise ParseError(
                f"page took longer than {budget:.0f} s to parse (the fetch's deadline) after "
                f"{len(items)} items: too deeply nested or too large for its selectors"
            )
        item = to_item(_entry(node, selectors, base), base, now)
        if item is not None:
            items.append(item)
    return items


def _budget(resp: FetchResponse) -> float:
    """What is left of the fetch's deadline, and never less than MIN_PARSE_SECONDS."""
    from paperfeed.http import HttpPolicy  # here: loading the config must not import httpx

    left = HttpPolicy().total_deadline if resp.seconds_left is None else resp.seconds_left
    return max(left, MIN_PARSE_SECONDS)


def collect(source: SourceConfig, state: SourceState, http: HttpClient) -> Collected:
    """Fetch the page with the stored validators; a 304 is returned without parsing."""
    return collect_page(
        source,
        state,
        http,
        accept=HTML_ACCEPT,
        parse=lambda resp: parse(resp.body, source, base_url=resp.url, budget=_budget(resp)),
    )


# --- the source type: its options in sources.yaml ----------------------------------------------

_SELECTOR_KEYS = (*REQUIRED, *OPTIONAL)


def read_options(entry: NodeMap) -> dict[str, Any]:
    """`url`, and `selectors` with `item` and `title` required, each a valid CSS selector."""
    reader = entry.reader
    url = reader.url(entry.require("url"), entry.key("url"))
    node = entry.require("selectors")
    selectors = reader.mapping(node, entry.key("selectors"), _SELECTOR_KEYS, "selectors")
    found = {}
    for name in _SELECTOR_KEYS:
        value = selectors.require(name) if name in REQUIRED else selectors.get(name)
        if value is not None:
            found[name] = _css(reader, value, selectors.key(name))
    return {"url": url, "options": {"selectors": found}}


def _css(reader: NodeReader, node: yaml.Node, key: str) -> str:
    selector = reader.text(node, key)
    problem = selector_problem(selector)
    if problem:
        raise reader.error(node, key, f"invalid CSS selector {selector!r}: {problem}")
    return selector


SOURCE_TYPE = SourceType(
    name="html", options=("url", "selectors"), read=read_options, collect=collect
)
