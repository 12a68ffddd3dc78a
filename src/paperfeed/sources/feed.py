"""Feed adapter: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed 1.0/1.1 with json.

I/O rule: `collect` fetches through the shared HttpClient and nothing else touches the network;
`parse(bytes, source)` is pure and raises only ParseError. feedparser is handed a byte stream,
never the bytes themselves: given bytes that name an existing file (a body of `/etc/passwd`),
`feedparser.parse` would open and read that file. feedparser 6.0.14 does not read JSON Feed.

Every entry goes through one normaliser (`to_item`): text fields via `clean_text`, URLs via
`safe_http_url` (http and https only), dates as aware UTC clamped to [1991-01-01, now + 1 day].
The HTML listing adapter (`sources.html`) builds the same `RawEntry` and reuses it.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from paperfeed.config import SourceConfig
from paperfeed.errors import ParseError
from paperfeed.keys import parse_arxiv_id
from paperfeed.records import Collected, Item, ItemKind, SourceState
from paperfeed.sources import SourceType, collect_page
from paperfeed.text import clean_text, outbound_links, parse_date, safe_http_url, word_count

if TYPE_CHECKING:
    from paperfeed.http import HttpClient
    from paperfeed.yamlnodes import NodeMap

__all__ = ["RawEntry", "clamp_date", "collect", "parse", "to_item"]

FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
SUMMARY_MAX = 4000
TITLE_MAX = 500
GUID_MAX = 1000
NAME_MAX = 200
MAX_AUTHORS = 30
MAX_CATEGORIES = 30
MAX_LINKS = 50
TITLE_WORDS = 12  # a title made from the summary when the entry has none
EARLIEST = datetime(1991, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
_JSON_FEED_VERSION = "https://jsonfeed.org/version/"
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\"';\s]+)", re.IGNORECASE)
_UTF8_NAMES = ("utf-8", "utf8")
_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,16})|([0-9]{1,20}));")


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One entry as the source gave it: uncleaned strings, raw HTML, parsed but unchecked dates."""

    title: str | None = None
    link: str | None = None
    html: str | None = None  # content (or summary) as HTML or text
    guid: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


# --- dates (pure) ---------------------------------------------------------------------------


def clamp_date(value: datetime | None, now: datetime | None = None) -> datetime | None:
    """Aware UTC inside [1991-01-01, now + 1 day], else None (a naive value is taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    latest = (now or datetime.now(UTC)) + FUTURE_SLACK
    return value if EARLIEST <= value <= latest else None


def _from_struct(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:5], min(value[5], 59), tzinfo=UTC)
    except (ValueError, OverflowError, TypeError):
        return None


def _entry_date(entry: dict[str, Any], field: str) -> datetime | None:
    """feedparser's reading (it knows the most formats and zones), unless it rolled an
    impossible date over (2024-02-30 becomes 2024-03-01, 2024-13-45 becomes 2025-01-01): its
    year and day must be written in the text, else the text is read again by `parse_date`."""
    text = _get(entry, field)
    struct = _get(entry, f"{field}_parsed")
    if not isinstance(text, str):
        return _from_struct(struct)
    numbers = {int(n) for n in re.findall(r"\d+", text)}
    if isinstance(struct, time.struct_time) and {struct.tm_year, struct.tm_mday} <= numbers:
        return _from_struct(struct)
    return parse_date(text)


# --- normalising (pure) -----------------------------------------------------------------------


def _names(values: Iterable[object], limit: int) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for value in values:
        name = clean_text(value, max_length=NAME_MAX)
        if name:
            found.setdefault(name)
        if len(found) >= limit:
            break
    return tuple(found)


def _title(raw_title: str | None, summary: str, url: str | None) -> str:
    title = clean_text(raw_title, max_length=TITLE_MAX)
    if title:
        return title
    if summary:
        words = summary.split()
        return " ".join(words[:TITLE_WORDS]) + (" …" if len(words) > TITLE_WORDS else "")
    return url or ""


def to_item(raw: RawEntry, base: str | None = None, now: datetime | None = None) -> Item | None:
    """The normalised Item for one entry, or None when it has no title, link or text."""
    url = safe_http_url(raw.link, base)
    summary = clean_text(raw.html, max_length=SUMMARY_MAX)
    title = _title(raw.title, summary, url)
    if not title:
        return None
    arxiv = parse_arxiv_id(url) if url else None
    return Item(
        title=title,
        url=url,
        summary=summary,
        guid=clean_text(raw.guid, max_length=GUID_MAX) or None,
        arxiv_id=arxiv[0] if arxiv else None,
        arxiv_version=arxiv[1] if arxiv else None,
        authors=_names(raw.authors, MAX_AUTHORS),
        categories=_names(raw.tags, MAX_CATEGORIES),
        published=clamp_date(raw.published or raw.updated, now),
        updated=clamp_date(raw.updated, now),
        kind=ItemKind.PAPER if arxiv else ItemKind.POST,
        links=outbound_links(raw.html, url or base, MAX_LINKS),
        words=word_count(raw.html),
    )


def _items(entries: Iterable[RawEntry], base: str | None) -> list[Item]:
    now = datetime.now(UTC)
    return [item for item in (to_item(raw, base, now) for raw in entries) if item is not None]


# --- RSS and Atom via feedparser (pure) ------------------------------------------------------


def _char_ref(match: re.Match[bytes]) -> bytes:
    hex_digits, decimal = match.groups()
    code = int(hex_digits, 16) if hex_digits else int(decimal)
    valid = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF
    return match.group(0) if valid else b"&#xFFFD;"


def repair_char_refs(body: bytes) -> bytes:
    """Numeric character references to surrogates, controls or past U+10FFFF become U+FFFD:
    feedparser raises on `&#xD800;` and loses the whole feed for one bad reference (B1)."""
    return _CHAR_REF.sub(_char_ref, body) if b"&#" in body else body


def _declared_encodings(body: bytes, content_type: str | None) -> list[str]:
    header = _CHARSET.search(content_type or "")
    prolog = _XML_ENCODING.match(body[:400])
    names = [header.group(1) if header else "", prolog.group(1).decode("latin-1") if prolog else ""]
    return [name.lower() for name in names if name]


def repair_utf8(body: bytes, content_type: str | None = None) -> bytes:
    """A UTF-8 document (declared or by default) with some invalid bytes → valid UTF-8 with
    U+FFFD for each bad byte, as browsers decode it. feedparser would instead re-read the whole
    document as windows-1252 and garble all of its real UTF-8 text. A body with no valid UTF-8
    multi-byte sequence at all is left to that fallback (windows-1252 labelled as UTF-8)."""
    body = body.removeprefix(b"\xef\xbb\xbf")
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or any(
        name not in _UTF8_NAMES for name in _declared_encodings(body, content_type)
    ):
        return body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        if _UTF8_MULTIBYTE.search(body):
            return body.decode("utf-8", "replace").encode("utf-8")
    return body


def _feedparser() -> Any:
    import feedparser  # imported on first parse: reading sources.yaml stays light

    return feedparser


def _run_feedparser(body: bytes, base_url: str | None, content_type: str | None) -> Any:
    headers = {"content-location": base_url or "", "content-type": content_type or ""}
    try:
        # A stream, never bytes: see the module docstring. feedparser's own sanitiser and URI
        # resolver are off (they cost 3/4 of its time): clean_text keeps no markup at all and
        # outbound_links resolves and checks every href itself.
        return _feedparser().parse(
            io.BytesIO(repair_char_refs(repair_utf8(body, content_type))),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser raises assorted errors on malformed input (B1)
        reason = clean_text(f"{type(exc).__name__}: {exc}", max_length=200)
        raise ParseError(f"feed could not be parsed: {reason}") from exc


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _get(entry: dict[str, Any], key: str) -> Any:
    # dict.get, not FeedParserDict.get: that one maps a missing `updated*` to `published*`
    # with a DeprecationWarning, and we read both on purpose.
    return dict.get(entry, key)


def _entry_html(entry: dict[str, Any]) -> str | None:
    for content in _get(entry, "content") or ():
        value = _str(_get(content, "value")) if isinstance(content, dict) else None
        if value and value.strip():
            return value
    return _str(_get(entry, "summary"))


def _entry_authors(entry: dict[str, Any]) -> tuple[str, ...]:
    names = [_get(a, "name") for a in _get(entry, "authors") or () if isinstance(a, dict)]
    names = [name for name in names if name] or [_get(entry, "author")]
    return tuple(name for name in names if isinstance(name, str))


def _from_feedparser(entry: dict[str, Any]) -> RawEntry:
    tags = [
        _get(tag, "term") or _get(tag, "label")
        for tag in _get(entry, "tags") or ()
        if isinstance(tag, dict)
    ]
    published = _entry_date(entry, "published")
    updated = _entry_date(entry, "updated")
    return RawEntry(
        title=_str(_get(entry, "title")),
        link=_str(_get(entry, "link")),
        html=_entry_html(entry),
        guid=_str(_get(entry, "id")),
        published=published,
        updated=updated,
        authors=_entry_authors(entry),
        tags=tuple(tag for tag in tags if isinstance(tag, str)),
    )


def _parse_xml(body: bytes, base_url: str | None, content_type: str | None) -> list[Item]:
    result = _run_feedparser(body, base_url, content_type)
    entries = result.get("entries") or []
    if not entries and not result.get("version"):
        problem = result.get("bozo_exception")
        reason = clean_text(str(problem), max_length=200) if problem else "no feed elements"
        raise ParseError(f"not a feed: {reason}")
    feed_link = safe_http_url(result.get("feed", {}).get("link"), base_url)
    return _items(map(_from_feedparser, entries), base_url or feed_link)


# --- JSON Feed (pure) -------------------------------------------------------------------------


def _looks_like_json(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _json_authors(item: Mapping[str, Any]) -> tuple[str, ...]:
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item.get("author")]
    names = [a.get("name") for a in authors if isinstance(a, dict)]
    return tuple(name for name in names if isinstance(name, str))


def _from_json_item(item: Mapping[str, Any]) -> RawEntry:
    tags = item.get("tags")
    html_body = item.get("content_html") or item.get("content_text") or item.get("summary")
    guid = item.get("id")
    return RawEntry(
        title=_str(item.get("title")),
        link=_str(item.get("url")) or _str(item.get("external_url")),
        html=_str(html_body),
        guid=str(guid) if isinstance(guid, str | int) else None,
        published=parse_date(item.get("date_published")),
        updated=parse_date(item.get("date_modified")),
        authors=_json_authors(item),
        tags=tuple(tag for tag in tags if isinstance(tag, str)) if isinstance(tags, list) else (),
    )


def _parse_json_feed(body: bytes, base_url: str | None) -> list[Item]:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ParseError(f"not a JSON Feed: {clean_text(str(exc), max_length=200)}") from exc
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith(_JSON_FEED_VERSION):
        raise ParseError("not a JSON Feed: no jsonfeed.org version")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed without an items list")
    base = base_url or safe_http_url(doc.get("home_page_url"))
    entries = (_from_json_item(item) for item in items if isinstance(item, dict))
    return _items(entries, base)


# --- the adapter ------------------------------------------------------------------------------


def parse(
    body: bytes,
    source: SourceConfig,
    *,
    base_url: str | None = None,
    content_type: str | None = None,
) -> list[Item]:
    """A feed body → its items. `base_url` (the fetched URL) resolves relative links;
    `content_type` (the HTTP header) takes part in the encoding decision as in feedparser."""
    base_url = base_url or source.url
    if _looks_like_json(body):
        return _parse_json_feed(body, base_url)
    return _parse_xml(body, base_url, content_type)


def collect(source: SourceConfig, state: SourceState, http: HttpClient) -> Collected:
    """Fetch the feed with the stored validators; a 304 is returned without parsing."""
    return collect_page(
        source,
        state,
        http,
        accept=FEED_ACCEPT,
        parse=lambda resp: parse(
            resp.body, source, base_url=resp.url, content_type=resp.content_type
        ),
    )


def read_options(entry: NodeMap) -> dict[str, Any]:
    return {"url": entry.reader.url(entry.require("url"), entry.key("url"))}


SOURCE_TYPE = SourceType(name="feed", options=("url",), read=read_options, collect=collect)
