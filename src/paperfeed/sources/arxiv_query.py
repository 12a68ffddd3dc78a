"""arXiv API queries, page URLs and the resume cursor. Pure: no I/O, no clock.

The collector (`sources/arxiv.py`) asks these functions what to fetch next; they never fetch.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from paperfeed.config import SourceConfig
from paperfeed.errors import ConfigError

API_URL = "https://export.arxiv.org/api/query"
MAX_PAGE_SIZE = 2000  # the API refuses larger pages
MAX_START = 30000  # the API refuses offsets from here on
_FIELD_PREFIX = re.compile(r"\b(?:ti|au|abs|co|jr|cat|rn|id|all|submittedDate):")
_BOOLEAN = re.compile(r"\b(?:AND|OR|ANDNOT)\b")


def build_query(source: SourceConfig, window: tuple[datetime, datetime]) -> str:
    """`(cat:a OR cat:b) AND (query) AND submittedDate:[from TO to]` for one source and window."""
    parts = []
    if source.categories:
        parts.append("(" + " OR ".join(f"cat:{c}" for c in source.categories) + ")")
    if source.query and source.query.strip():
        parts.append(_query_part(source.query.strip()))
    if not parts:
        raise ConfigError(f"arXiv source {source.name!r} needs `categories` or `query`")
    start, end = window
    parts.append(f"submittedDate:[{_minute(start)} TO {_minute(end)}]")
    return " AND ".join(parts)


def _query_part(query: str) -> str:
    """Text already in arXiv syntax passes as given; plain (optionally quoted) words are ANDed
    over all fields, a quoted phrase staying one term."""
    if _FIELD_PREFIX.search(query) or _BOOLEAN.search(query):
        return f"({query})"
    try:
        words = shlex.split(query)
    except ValueError:  # an unbalanced quote: fall back to plain words
        words = query.replace('"', " ").split()
    terms = [f'all:"{w}"' if " " in w else f"all:{w}" for w in words if w.strip()]
    return "(" + " AND ".join(terms) + ")"


def _minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M")


def page_url(base_url: str, query: str, start: int, max_results: int) -> str:
    """One page of results. Sorted by submission date, oldest first: new submissions land at the
    end of the result set, so an offset stays valid between runs and paging can resume there
    (relevance order, the API default, reshuffles as the index changes)."""
    if not 0 <= start < MAX_START:
        raise ValueError(f"start must be in [0, {MAX_START}), got {start}")
    if not 1 <= max_results <= MAX_PAGE_SIZE:
        raise ValueError(f"max_results must be in [1, {MAX_PAGE_SIZE}], got {max_results}")
    params = {
        "search_query": query,
        "start": start,
        "max_results": max_results,
        "sortBy": "submittedDate",
        "sortOrder": "ascending",
    }
    return f"{base_url}?{urlencode(params)}"


def id_list_url(base_url: str, ids: list[str]) -> str:
    """The papers with these arXiv ids (any version), one request."""
    params = {"id_list": ",".join(ids), "start": 0, "max_results": len(ids)}
    return f"{base_url}?{urlencode(params)}"


@dataclass(frozen=True, slots=True)
class Resume:
    """Where an unfinished window goes on: its start, the offset reached, the last total seen."""

    since: datetime
    offset: int
    total: int | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """What the arXiv adapter remembers between runs (stored as JSON in source_state.cursor)."""

    window_end: datetime | None = None
    resume: Resume | None = None

    def dumps(self) -> str:
        data: dict[str, object] = {}
        if self.window_end is not None:
            data["window_end"] = self.window_end.isoformat()
        if self.resume is not None:
            data["resume"] = {
                "from": self.resume.since.isoformat(),
                "offset": self.resume.offset,
                "total": self.resume.total,
            }
        return json.dumps(data, sort_keys=True)


def load_cursor(text: str | None) -> Cursor:
    """The stored cursor; an absent or unreadable one means a first run."""
    if not text:
        return Cursor()
    try:
        data = json.loads(text)
        end = data.get("window_end")
        resume = data.get("resume")
        return Cursor(
            window_end=_aware(datetime.fromisoformat(end)) if end else None,
            resume=_load_resume(resume) if resume else None,
        )
    except (ValueError, TypeError, AttributeError, KeyError):
        return Cursor()


def _load_resume(data: dict[str, object]) -> Resume:
    total = data.get("total")
    return Resume(
        since=_aware(datetime.fromisoformat(str(data["from"]))),
        offset=max(0, int(str(data["offset"]))),
        total=int(str(total)) if total is not None else None,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def window_start(
    cursor: Cursor, now: datetime, lookback: timedelta, overlap: timedelta
) -> datetime:
    """Where this run's window begins: a pending resume first, else the last window's end minus
    the overlap (arXiv announces late; the store dedupes, so overlap costs only requests), else a
    first-run lookback."""
    if cursor.resume is not None:
        return cursor.resume.since
    if cursor.window_end is not None:
        return min(cursor.window_end - overlap, now)
    return now - lookback
