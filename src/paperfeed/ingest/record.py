"""Recording an ingest: what each source's result means for it, written to DuckDB.

I/O rule: writes only through the store, one short transaction per source, after every fetch
is done (so the file is held for writing only briefly). A result is stored, unchanged, failed
(counted, the source disabled after three in a row), deferred (a server asked us to wait: not
counted) or gone; when every source failed to connect the machine is taken to be offline and
no failure is counted. Nothing here raises for one bad source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from paperfeed.config import DEFAULT_BACKUPS_KEPT, SourceConfig
from paperfeed.digest.sync import marks_first
from paperfeed.errors import TransportError
from paperfeed.marks import apply_pending_marks
from paperfeed.records import Collected, FetchOutcome, SourceState, SourceStatus
from paperfeed.settings import Settings
from paperfeed.sources import source_type
from paperfeed.store import Store
from paperfeed.store.backup import backup

DISABLE_AFTER_FAILURES = 3


# Storing comes after every fetch is done; waiting longer than a reader's 10 s for the file
# keeps a whole run's work from being thrown away because a search or an index rebuild is open.
STORE_WAIT_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class SourceResult:
    """The outcome of collecting one source, before anything is stored."""

    source: SourceConfig
    status: FetchOutcome
    collected: Collected | None = None
    error_kind: str | None = None
    error: str | None = None
    until: datetime | None = None
    attempts: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class SourceSummary:
    """What one source did in this run, after storing. `status` is what the user sees."""

    name: str
    type: str
    status: SourceStatus
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    requests: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    new_ids: tuple[int, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "error": self.error,
            "requests": self.requests,
            "bytes_read": self.bytes_read,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class IngestReport:
    sources: list[SourceSummary]
    offline: bool = False  # no source could be reached at all: failures were not counted
    embedded: int | None = None  # items embedded after storing; None when embedding was skipped

    def with_embedded(self, embedded: int) -> IngestReport:
        return replace(self, embedded=embedded)

    @property
    def failed(self) -> list[SourceSummary]:
        return [s for s in self.sources if s.status == SourceStatus.FAILED]

    @property
    def new_ids(self) -> list[int]:
        return [i for s in self.sources for i in s.new_ids]

    @property
    def changed(self) -> bool:
        return any(s.new or s.updated for s in self.sources)

    @property
    def exit_code(self) -> int:
        """0 when every source succeeded or was deferred, 3 when some failed."""
        return 3 if self.failed else 0

    def totals(self) -> dict[str, int]:
        return {
            key: sum(getattr(s, key) for s in self.sources)
            for key in ("new", "updated", "unchanged")
        }


def source_host(source: SourceConfig, state: SourceState) -> str:
    return source_type(source.type).host(source, state)


def store_result(
    store: Store, result: SourceResult, now: datetime, *, count_failure: bool = True
) -> SourceSummary:
    """Write one source's items and new state in one transaction."""
    with store.transaction():
        return _store_result(store, result, now, count_failure)


def _store_result(
    store: Store, result: SourceResult, now: datetime, count_failure: bool
) -> SourceSummary:
    source = result.source
    base = SourceSummary(
        source.name, source.type, SourceStatus.UNCHANGED, seconds=result.seconds, error=result.error
    )
    if result.status in (FetchOutcome.DISABLED, FetchOutcome.WAITING):
        disabled = result.status == FetchOutcome.DISABLED
        status = SourceStatus.DISABLED if disabled else SourceStatus.DEFERRED
        return replace(base, status=status)
    if result.status == FetchOutcome.DEFERRED and result.until is not None:
        state = store.sources.get(source.name)
        store.sources.record_deferred(
            source.name, until=result.until, message=result.error or "", now=now
        )
        store.sources.set_host_retry_after(source_host(source, state), result.until)
        return replace(base, status=SourceStatus.DEFERRED, requests=1)
    if result.status == FetchOutcome.GONE:
        store.sources.disable(source.name, reason=result.error or "410 Gone", now=now)
        return replace(
            base,
            status=SourceStatus.FAILED,
            requests=1,
            error=f"{result.error}; source disabled (gone)",
        )
    if result.status == FetchOutcome.FAILED:
        return _store_failure(store, result, base, now, count_failure)
    return _store_collected(store, result, base, now)


def _store_failure(
    store: Store, result: SourceResult, base: SourceSummary, now: datetime, count_failure: bool
) -> SourceSummary:
    name = result.source.name
    kind = result.error_kind or "error"
    if not count_failure:
        store.sources.record_unreachable(name, kind=kind, message=result.error or "", now=now)
        return replace(base, status=SourceStatus.FAILED, requests=result.attempts)
    state = store.sources.record_failure(
        name,
        kind=kind,
        message=result.error or "",
        now=now,
        disable_after=DISABLE_AFTER_FAILURES,
    )
    error = result.error
    if state.disabled:
        error = f"{error}; disabled after {state.consecutive_failures} consecutive failures"
    return replace(base, status=SourceStatus.FAILED, requests=result.attempts, error=error)


def _store_collected(
    store: Store, result: SourceResult, base: SourceSummary, now: datetime
) -> SourceSummary:
    collected = result.collected
    assert collected is not None  # fetched, partial and not_modified always carry one
    name = result.source.name
    summary = replace(
        base, requests=collected.requests, bytes_read=collected.bytes_read, error=None
    )
    if collected.items:
        upserted = store.items.upsert(collected.items, name, now=now)
        summary = replace(
            summary,
            new=upserted.new,
            updated=upserted.updated,
            unchanged=upserted.unchanged,
            new_ids=tuple(upserted.new_ids),
        )
    if collected.partial:
        message = "stopped early; the next run resumes where this one stopped"
        store.sources.record_partial(name, cursor=collected.cursor, message=message, now=now)
        return replace(summary, status=SourceStatus.PARTIAL, error=message)
    status = SourceStatus.NEW if summary.new or summary.updated else SourceStatus.UNCHANGED
    store.sources.record_success(
        name,
        status=status,
        validators=collected.validators,
        moved_to=collected.moved_to,
        cursor=collected.cursor,
        now=now,
        config_url=result.source.url,
    )
    return replace(summary, status=status)


def looks_offline(results: Iterable[SourceResult]) -> bool:
    """Every fetch failed to connect at all: the machine is offline, not every source broken.
    Then failures are reported but not counted towards disabling sources."""
    tried = [r for r in results if r.status not in (FetchOutcome.DISABLED, FetchOutcome.WAITING)]
    return len(tried) > 1 and all(r.error_kind == TransportError.__name__ for r in tried)


def store_results(
    settings: Settings,
    results: Sequence[SourceResult],
    now: datetime,
    on_source_done: Callable[[SourceSummary], None] | None = None,
    backups_kept: int = DEFAULT_BACKUPS_KEPT,
    *,
    digest_folder: Path | None = None,
) -> list[SourceSummary]:
    """Store every result, one short transaction each, fold the WAL into the file and keep a
    dated copy of it (the way back from a lost database, with read_marks.jsonl). The ticked
    boxes of the digests in `digest_folder` become marks first (paperfeed sync)."""
    count_failures = not looks_offline(results)
    summaries = []
    with Store.open(settings.db_path, wait=STORE_WAIT_SECONDS) as store:
        if digest_folder is not None:
            marks_first(store, settings, digest_folder)
        else:
            apply_pending_marks(store, settings)  # marks queued while another held the file
        for result in results:
            summary = store_result(store, result, now, count_failure=count_failures)
            summaries.append(summary)
            if on_source_done is not None:
                on_source_done(summary)
        store.checkpoint()
    backup(settings.db_path, settings.backup_dir, backups_kept, now)
    return summaries
