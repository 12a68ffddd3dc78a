"""The normalised data every adapter produces and every later stage consumes. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ItemKind(StrEnum):
    PAPER = "paper"  # arXiv entries (and feed entries that are arXiv papers)
    POST = "post"  # blog posts and newsletter issues


class FetchOutcome(StrEnum):
    """How collecting one source ended, before anything is stored (SourceResult.status)."""

    FETCHED = "fetched"
    NOT_MODIFIED = "not_modified"
    PARTIAL = "partial"
    FAILED = "failed"
    DEFERRED = "deferred"
    GONE = "gone"
    DISABLED = "disabled"  # not asked: the source is disabled
    WAITING = "waiting"  # not asked: inside a wait window the server gave


class SourceStatus(StrEnum):
    """What one source did in a run, as the user sees it (SourceSummary.status)."""

    NEW = "new"
    UNCHANGED = "unchanged"
    PARTIAL = "partial"
    FAILED = "failed"
    DEFERRED = "deferred"
    DISABLED = "disabled"


class MarkAction(StrEnum):
    READ = "read"
    UNREAD = "unread"
    SAVE = "save"
    UNSAVE = "unsave"
    UP = "up"
    DOWN = "down"
    UNRATE = "unrate"  # take back an up or down rating


@dataclass(frozen=True, slots=True)
class Item:
    """One entry from one source: an arXiv paper, a blog post or a newsletter issue.

    Text fields are already cleaned (plain text, NFC, no control characters or lone
    surrogates); `published` is timezone-aware UTC or None.
    """

    title: str
    url: str | None = None
    summary: str = ""
    guid: str | None = None
    arxiv_id: str | None = None  # without version, e.g. "2104.12255" or "hep-ex/0406020"
    arxiv_version: int | None = None
    doi: str | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    kind: ItemKind = ItemKind.POST
    links: tuple[str, ...] = field(default=(), compare=False)  # outbound URLs found in the content
    # the item's real length, for reading time: a paper's page count from its arXiv comments
    # ("12 pages"), a post's word count from its whole content (the summary may be cut short)
    pages: int | None = field(default=None, compare=False)
    words: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Validators:
    """Conditional-GET validators stored per source."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResponse:
    """What the HTTP layer returns for one successful fetch (200 or 304)."""

    url: str  # final URL after redirects
    status: int  # 200 or 304
    body: bytes = b""
    content_type: str | None = None
    validators: Validators = Validators()
    moved_to: str | None = None  # set when a 301/308 was followed: the new permanent URL
    seconds_left: float | None = None  # of the fetch's total deadline: the parse's budget

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class SourceState:
    """What we remember about one source between runs (table source_state)."""

    name: str
    validators: Validators = Validators()
    moved_to: str | None = None  # a remembered 301/308 target: fetch this instead of the config URL
    moved_from: str | None = None  # ... as long as the configured URL is still this one
    last_ok: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    disabled: bool = False
    disabled_reason: str | None = None
    retry_after: datetime | None = None
    cursor: str | None = None  # adapter resume point (arXiv: JSON with window and offset)

    def url_for(self, config_url: str | None) -> str | None:
        """The URL to fetch: the remembered permanent redirect, unless sources.yaml has named
        another URL since it was learnt (the learner's edit wins)."""
        if self.moved_to and self.moved_from in (None, config_url):
            return self.moved_to
        return config_url


@dataclass(frozen=True, slots=True)
class Collected:
    """What an adapter brings back from one source in one run (before anything is stored)."""

    items: list[Item]
    not_modified: bool = False  # 304: nothing was read or parsed
    partial: bool = False  # stopped early (arXiv retries exhausted): `cursor` says where to resume
    validators: Validators | None = None  # new validators to store (None: keep the old ones)
    moved_to: str | None = None  # a new permanent URL to remember
    cursor: str | None = None  # new resume point (None: clear it)
    requests: int = 0
    bytes_read: int = 0
