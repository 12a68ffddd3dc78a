"""arXiv API adapter: page through one date window per run, oldest first, and resume after faults.

I/O rule: every request goes through the shared HttpClient (`gate="arxiv"`, `min_interval=3.0`),
which holds the one process-wide arXiv lock, the total deadline and the User-Agent; waiting
between retries goes through the injected `sleep`. `parse(body)` is pure. The `arxiv` package's
own client is not used (no timeout, ignores Retry-After, treats an empty first page as "no
results": RELIABILITY C1-C6); its private lxml parser skips the API's error entry (it has no
`<published>`), so the Atom is read here with lxml, with entities and network access off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from paperfeed.config import SourceConfig
from paperfeed.errors import ArxivApiError, Deferred, ParseError
from paperfeed.keys import parse_arxiv_id, parse_doi
from paperfeed.records import Collected, Item, ItemKind, SourceState
from paperfeed.sources import SourceType
from paperfeed.sources.arxiv_query import (
    API_URL,
    MAX_PAGE_SIZE,
    MAX_START,
    Cursor,
    Resume,
    build_query,
    id_list_url,
    load_cursor,
    page_url,
    window_start,
)
from paperfeed.taxonomy import category_problem
from paperfeed.text import page_count, parse_date, repair_unicode

if TYPE_CHECKING:
    from paperfeed.http import HttpClient
    from paperfeed.yamlnodes import NodeMap

__all__ = ["ArxivPage", "build_query", "collect", "fetch_papers", "page_url", "parse"]

_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
EMPTY_PAGE_RETRIES = 3
EMPTY_PAGE_BACKOFF = 5.0  # seconds, doubled on each retry
DEFERRED_ATTEMPTS = 4  # attempts in all for one page answered 429/503
DEFERRED_MIN_WAIT = 30.0
DEFERRED_MAX_INLINE_WAIT = 120.0  # a longer Retry-After defers the whole source to a later run


@dataclass(frozen=True, slots=True)
class ArxivPage:
    items: list[Item]
    total_results: int
    start: int
    per_page: int
    entries: int = 0  # <entry> elements on the page, including any that were not papers


# --- parsing (pure) ---------------------------------------------------------------------------


def parse(body: bytes) -> ArxivPage:
    """One API response → its papers. ArxivApiError for the API's error feed, ParseError for
    anything that is not an arXiv Atom page."""
    root = _xml_root(body)
    entries = root.findall("atom:entry", _NS)
    for entry in entries:
        entry_id = _text(entry, "atom:id")
        if "/api/errors" in entry_id:
            summary = _plain(_text(entry, "atom:summary")) or entry_id
            raise ArxivApiError(f"arXiv API error: {summary}")
    try:
        items = [item for item in map(_item, entries) if item is not None]
        return ArxivPage(
            items=items,
            total_results=_header_int(root, "totalResults"),
            start=_header_int(root, "startIndex", default=0),
            per_page=_header_int(root, "itemsPerPage", default=len(entries)),
            entries=len(entries),
        )
    except ParseError:
        raise
    except Exception as exc:  # lxml or a malformed field may raise anything: one typed error
        raise ParseError(f"unreadable arXiv entry: {exc!r}") from exc


def _xml_root(body: bytes) -> Any:
    from lxml import etree  # imported on first parse: reading sources.yaml stays light

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(body, parser=parser)
    except Exception as exc:  # XMLSyntaxError, ValueError, ... from a third-party parser
        raise ParseError(f"arXiv response is not XML: {exc}") from exc
    if root is None or root.tag != f"{{{_NS['atom']}}}feed":
        raise ParseError("arXiv response is not an Atom feed")
    return root


def _text(node: Any, path: str) -> str:
    found = node.find(path, _NS)
    return (found.text or "") if found is not None else ""


def _header_int(root: Any, name: str, default: int | None = None) -> int:
    text = _text(root, f"opensearch:{name}").strip()
    if text:
        try:
            return int(text)
        except ValueError:
            pass
    if default is None:
        raise ParseError(f"arXiv response has no usable opensearch:{name}")
    return default


def _item(entry: Any) -> Item | None:
    guid = _text(entry, "atom:id").strip()
    parsed = parse_arxiv_id(guid)
    if parsed is None:
        return None
    arxiv_id, version = parsed
    doi_text = _text(entry, "arxiv:doi").split()
    return Item(
        title=_plain(_text(entry, "atom:title")),
        url=f"https://arxiv.org/abs/{arxiv_id}",
        summary=_plain(_text(entry, "atom:summary")),
        guid=guid,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        doi=parse_doi(doi_text[0]) if doi_text else None,
        authors=tuple(
            name
            for name in (_plain(_text(a, "atom:name")) for a in entry.iterfind("atom:author", _NS))
            if name
        ),
        categories=_categories(entry),
        published=parse_date(_text(entry, "atom:published")),
        updated=parse_date(_text(entry, "atom:updated")),
        kind=ItemKind.PAPER,
        pages=page_count(_text(entry, "arxiv:comment")),
    )


def _plain(value: str) -> str:
    # The API serves plain text, not HTML, so it skips clean_text's HTML pass, which would read
    # `$a<b$` as the start of a tag; it still gets the Unicode repair and joined wrapped lines.
    # Renderers escape it like any other text.
    return " ".join(repair_unicode(value).split())


def _categories(entry: Any) -> tuple[str, ...]:
    primary = entry.find("arxiv:primary_category", _NS)
    terms = [primary.get("term")] if primary is not None else []
    terms += [c.get("term") for c in entry.iterfind("atom:category", _NS)]
    return tuple(dict.fromkeys(t.strip() for t in terms if t and t.strip()))


# --- collecting (I/O through the HttpClient) ----------------------------------------------------


@dataclass(slots=True)
class _Run:
    """One collect call: its settings, its clock and what it has read so far."""

    source: SourceConfig
    http: HttpClient
    sleep: Callable[[float], None]
    query: str
    base_url: str
    page_size: int
    budget: int
    clock_start: datetime | None  # None: the real clock; else a fixed start plus our own waits
    slept: float = 0.0
    requests: int = 0
    bytes_read: int = 0
    entries: int = 0
    items: dict[str, Item] = field(default_factory=dict)

    def now(self) -> datetime:
        if self.clock_start is None:
            return datetime.now(UTC)
        return self.clock_start + timedelta(seconds=self.slept)

    def wait(self, seconds: float) -> None:
        self.slept += seconds
        self.sleep(seconds)

    def keep(self, items: list[Item]) -> None:
        for item in items:  # a paper seen twice in one run (overlapping pages): newest version
            key = item.arxiv_id or item.url or item.title
            old = self.items.get(key)
            if old is None or (item.arxiv_version or 0) >= (old.arxiv_version or 0):
                self.items[key] = item


def collect(
    source: SourceConfig,
    state: SourceState,
    http: HttpClient,
    *,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Collected:
    """This run's window of papers: resume a stopped window first, else continue from the last
    window's end (minus one day of overlap), else look back `lookback_days`.

    Raises Deferred (a long Retry-After, or 429/503 beyond 4 attempts), DeadlineExceeded and the
    other FetchErrors, ArxivApiError and ParseError; the cursor is then left as it was."""
    end = (now or datetime.now(UTC)).astimezone(UTC)
    cursor = load_cursor(state.cursor)
    options = source.options
    overlap = timedelta(days=float(options.get("overlap_days", 1)))
    lookback = timedelta(days=float(options.get("lookback_days", 7)))
    since = window_start(cursor, end, lookback=lookback, overlap=overlap)
    run = _Run(
        source=source,
        http=http,
        sleep=sleep,
        query=build_query(source, (since, end)),
        base_url=str(options.get("base_url", API_URL)),
        page_size=max(1, min(int(options.get("page_size", 200)), MAX_PAGE_SIZE)),
        budget=max(1, int(options.get("max_results", 5000))),
        clock_start=None if now is None else end,
    )
    resume = cursor.resume or Resume(since=since, offset=0)
    stopped_at = _page_through(run, resume.offset, resume.total, since)
    if stopped_at is None and run.entries == 0:
        # The window looked empty. arXiv answers totalResults=0 for transient glitches too, and
        # a first page has nothing to contradict it: keep the window's start so the next run
        # asks again (one request) instead of moving past papers it never saw.
        next_cursor = Cursor(window_end=since + overlap)
    else:
        next_cursor = Cursor(window_end=end, resume=stopped_at)
    return Collected(
        items=list(run.items.values()),
        partial=stopped_at is not None,
        cursor=next_cursor.dumps(),
        requests=run.requests,
        bytes_read=run.bytes_read,
    )


def _page_through(run: _Run, start: int, total: int | None, since: datetime) -> Resume | None:
    """Fetch pages from `start` until totalResults; a Resume when the run had to stop early."""
    last_published: datetime | None = None
    while total is None or start < total:
        if start >= MAX_START:  # the API pages no further: narrow the window to go on next run
            return Resume(since=_floor_minute(last_published or since), offset=0)
        if len(run.items) >= run.budget:
            return Resume(since=since, offset=start, total=total)
        page = _fetch_page(run, start, min(run.page_size, MAX_START - start), total)
        if page is None:  # stayed empty through every retry
            return Resume(since=since, offset=start, total=total)
        run.keep(page.items)
        run.entries += page.entries
        published = [i.published for i in page.items if i.published is not None]
        last_published = max(published, default=last_published)
        if page.entries == 0:  # an empty page we trust: nothing (left) in the window
            return None
        start += page.entries  # not per_page: a short page must not skip papers
        total = page.total_results
    return None


def _fetch_page(run: _Run, start: int, size: int, known_total: int | None) -> ArxivPage | None:
    """One page, retried while it is suspiciously empty; None when the retries ran out."""
    url = page_url(run.base_url, run.query, start, size)
    for attempt in range(EMPTY_PAGE_RETRIES + 1):
        if attempt:
            run.wait(EMPTY_PAGE_BACKOFF * 2 ** (attempt - 1))
        page = parse(_fetch(run, url))
        if not _suspiciously_empty(page, start, known_total):
            return page
    return None


def _suspiciously_empty(page: ArxivPage, start: int, known_total: int | None) -> bool:
    """No entries although this page, or an earlier one, says there are papers from `start` on.
    arXiv answers an empty page (even an empty first page, or totalResults=0) for transient
    glitches; a first page that says 0 results with nothing earlier to contradict it is trusted."""
    if page.entries:
        return False
    return max(page.total_results, known_total or 0) > start


def _fetch(run: _Run, url: str) -> bytes:
    """The body of one request; 429/503 answered with a short Retry-After are waited out here
    (at least 30 s, at most 4 attempts in all), longer ones defer the source."""
    attempt = 1
    while True:
        run.requests += 1
        try:
            response = run.http.fetch(
                url, allow_private=run.source.allow_private, gate="arxiv", min_interval=3.0
            )
        except Deferred as exc:
            wait = max(DEFERRED_MIN_WAIT, (exc.until - run.now()).total_seconds())
            if attempt >= DEFERRED_ATTEMPTS or wait > DEFERRED_MAX_INLINE_WAIT:
                raise
            run.wait(wait)
            attempt += 1
            continue
        run.bytes_read += len(response.body)
        return response.body


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


# --- the source type: its options in sources.yaml, its host and its label ----------------------

_INT_OPTIONS = {
    "page_size": (1, 2000),
    "max_results": (1, 30000),
    "lookback_days": (1, 365),
    "overlap_days": (0, 30),
}


def read_options(entry: NodeMap) -> dict[str, Any]:
    """`categories` and/or `query`, and the paging options, checked with their line."""
    reader = entry.reader
    categories = entry.optional("categories", reader.text_list, ())
    for i, category in enumerate(categories):
        problem = category_problem(category)
        if problem:
            node = entry.values["categories"].value[i]
            raise reader.error(node, entry.key(f"categories[{i}]"), problem)
    query = entry.optional("query", reader.text, None)
    if not categories and query is None:
        raise reader.error(
            entry.node,
            entry.key("categories"),
            "an arxiv source needs `categories` (e.g. [cs.LG]) and/or `query`",
        )
    options: dict[str, Any] = {}
    for name, (low, high) in _INT_OPTIONS.items():
        node = entry.get(name)
        if node is not None:
            options[name] = reader.integer(node, entry.key(name), low, high)
    base_url = entry.optional("base_url", reader.url, None)
    if base_url is not None:
        options["base_url"] = base_url
    return {"categories": categories, "query": query, "options": options}


def api_host(source: SourceConfig, _state: SourceState) -> str:
    from paperfeed.http import host_of

    return host_of(str(source.options.get("base_url", API_URL)))


def label(source: SourceConfig) -> str | None:
    parts = [f"cat:{c}" for c in source.categories]
    if source.query:
        parts.append(source.query)
    return "arxiv: " + " ".join(parts) if parts else None


SOURCE_TYPE = SourceType(
    name="arxiv",
    options=("categories", "query", "base_url", *_INT_OPTIONS),
    read=read_options,
    collect=collect,
    host=api_host,
    label=label,
)


def fetch_papers(
    http: HttpClient, ids: list[str], *, base_url: str = API_URL, allow_private: bool = False
) -> list[Item]:
    """The papers with these arXiv ids, by one `id_list` request through the shared client (the
    arXiv gate and its 3 s spacing). Ids arXiv does not know are simply absent from the answer.
    Raises the FetchErrors, ArxivApiError and ParseError."""
    if not ids:
        return []
    url = id_list_url(base_url, ids)
    response = http.fetch(url, allow_private=allow_private, gate="arxiv", min_interval=3.0)
    return parse(response.body).items
