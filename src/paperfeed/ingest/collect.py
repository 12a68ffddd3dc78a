"""Ingest: collect every source concurrently, then store each result in its own transaction.

Network I/O happens inside the adapters (through the one HttpClient) and SQL inside the store;
this module decides what a result means for its source: stored, unchanged, failed (counted,
disabled after three in a row), deferred (a server asked us to wait: not counted) or gone.
A failing source is recorded and the run goes on; nothing here raises for one bad source.

The pieces are separate plain functions so the Prefect flow can run `fetch_source` as one task
per source (with Prefect's retries) and `store_results` as the single writing task.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from paperfeed import __version__
from paperfeed.config import Config, SourceConfig
from paperfeed.errors import ConfigError, Deferred, Gone, SourceError, TransportError
from paperfeed.http import HttpClient, HttpPolicy
from paperfeed.marks import apply_pending_marks
from paperfeed.records import Collected, FetchOutcome, SourceState, SourceStatus
from paperfeed.settings import Settings
from paperfeed.sources import source_type
from paperfeed.store import Store

DISABLE_AFTER_FAILURES = 3
# Storing comes after every fetch is done; waiting longer than a reader's 10 s for the file
# keeps a whole run's work from being thrown away because a search or an index rebuild is open.
STORE_WAIT_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries inside one run, for transient errors only (network, 5xx)."""

    attempts: int = 3
    backoff: tuple[float, ...] = (10.0, 30.0)
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base = self.backoff[min(attempt, len(self.backoff) - 1)] if self.backoff else 0.0
        return base * (1 + random.uniform(-self.jitter, self.jitter))


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


def http_client(config: Config) -> HttpClient:
    """The one HttpClient of a run; its User-Agent names the learner's contact when given,
    as the arXiv API terms ask."""
    if not config.contact:
        return HttpClient()
    user_agent = f"paperfeed/{__version__} (+{config.contact})"
    return HttpClient(HttpPolicy(user_agent=user_agent))


def select_sources(config: Config, only: Sequence[str] = ()) -> list[SourceConfig]:
    """The enabled sources, or exactly the named ones (enabled or not) when names are given."""
    if not only:
        return [s for s in config.sources if s.enabled]
    unknown = [name for name in only if config.source(name) is None]
    if unknown:
        known = ", ".join(s.name for s in config.sources)
        raise ConfigError(f"unknown source {unknown[0]!r} in {config.path} (known: {known})")
    return [s for s in config.sources if s.name in only]


def source_host(source: SourceConfig, state: SourceState) -> str:
    return source_type(source.type).host(source, state)


def waiting_result(
    source: SourceConfig, state: SourceState, host_until: datetime | None, now: datetime
) -> SourceResult | None:
    """A result that needs no request at all: the source is disabled or inside a wait window."""
    if state.disabled:
        return SourceResult(
            source, FetchOutcome.DISABLED, error=state.disabled_reason or "disabled"
        )
    until = max((t for t in (state.retry_after, host_until) if t is not None), default=None)
    if until is not None and until > now:
        return SourceResult(
            source,
            FetchOutcome.WAITING,
            until=until,
            error=f"server asked us to wait until {until:%Y-%m-%d %H:%M} UTC",
        )
    return None


def read_states(
    settings: Settings, sources: Sequence[SourceConfig]
) -> tuple[dict[str, SourceState], dict[str, datetime | None]]:
    """Each source's stored state and its host's wait window, in one short read."""
    with Store.open(settings.db_path) as store:
        states = {s.name: store.sources.get(s.name) for s in sources}
        host_until = {
            s.name: store.sources.host_retry_after(source_host(s, states[s.name])) for s in sources
        }
    return states, host_until


def split_waiting(
    sources: Sequence[SourceConfig],
    states: dict[str, SourceState],
    host_until: dict[str, datetime | None],
    now: datetime,
) -> tuple[list[SourceConfig], list[SourceResult]]:
    """The sources to fetch now, and the results of those that must not be asked at all."""
    pending: list[SourceConfig] = []
    waiting: list[SourceResult] = []
    for source in sources:
        result = waiting_result(source, states[source.name], host_until[source.name], now)
        if result is None:
            pending.append(source)
        else:
            waiting.append(result)
    return pending, waiting


def result_from_collected(
    source: SourceConfig, collected: Collected, *, attempts: int = 1, seconds: float = 0.0
) -> SourceResult:
    status = (
        FetchOutcome.NOT_MODIFIED
        if collected.not_modified
        else FetchOutcome.PARTIAL
        if collected.partial
        else FetchOutcome.FETCHED
    )
    return SourceResult(source, status, collected=collected, attempts=attempts, seconds=seconds)


def fetch_source(source: SourceConfig, state: SourceState, http: HttpClient) -> Collected:
    """Fetch and parse one source. Raises SourceError; the flow retries transient ones."""
    return source_type(source.type).collect(source, state, http)


def result_from_error(
    source: SourceConfig, exc: BaseException, *, attempts: int = 1, seconds: float = 0.0
) -> SourceResult:
    kind = type(exc).__name__
    if isinstance(exc, Deferred):
        return SourceResult(
            source,
            FetchOutcome.DEFERRED,
            error_kind=kind,
            error=str(exc),
            until=exc.until,
            attempts=attempts,
            seconds=seconds,
        )
    status = FetchOutcome.GONE if isinstance(exc, Gone) else FetchOutcome.FAILED
    return SourceResult(
        source, status, error_kind=kind, error=str(exc) or kind, attempts=attempts, seconds=seconds
    )


def collect_source(
    source: SourceConfig,
    state: SourceState,
    http: HttpClient,
    *,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> SourceResult:
    """Fetch one source with retries for transient errors. Never raises for the source's faults."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            collected = fetch_source(source, state, http)
        except SourceError as exc:
            if getattr(exc, "transient", False) and attempt < retry.attempts:
                sleep(retry.delay(attempt - 1))
                continue
            return result_from_error(
                source, exc, attempts=attempt, seconds=time.monotonic() - started
            )
        except Exception as exc:  # noqa: BLE001 - one broken source must never stop the others
            return result_from_error(
                source, exc, attempts=attempt, seconds=time.monotonic() - started
            )
        return result_from_collected(
            source, collected, attempts=attempt, seconds=time.monotonic() - started
        )


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
    )
    return replace(summary, status=status)


def looks_offline(results: Iterable[SourceResult]) -> bool:
    """Every fetch failed to connect at all: the machine is offline, not every source broken.
    Then failures are reported but not counted towards disabling sources."""
    tried = [r for r in results if r.status not in (FetchOutcome.DISABLED, FetchOutcome.WAITING)]
    return len(tried) > 1 and all(r.error_kind == TransportError.__name__ for r in tried)


def ingest(
    settings: Settings,
    config: Config,
    *,
    only: Sequence[str] = (),
    http: HttpClient | None = None,
    workers: int = 4,
    retry: RetryPolicy = RetryPolicy(),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_collected: Callable[[SourceResult], None] | None = None,
    on_source_done: Callable[[SourceSummary], None] | None = None,
) -> IngestReport:
    """Collect the selected sources concurrently, then store every result (one short write
    phase, so the file is held for writing only briefly)."""
    sources = select_sources(config, only)
    states, host_until = read_states(settings, sources)
    owns_http = http is None
    client = http or http_client(config)
    try:
        results = _collect_all(
            sources, states, host_until, client, workers, retry, now(), on_collected
        )
    finally:
        if owns_http:
            client.close()
    summaries = store_results(settings, results, now(), on_source_done)
    position = {s.name: i for i, s in enumerate(sources)}
    summaries.sort(key=lambda summary: position[summary.name])
    return IngestReport(summaries, offline=looks_offline(results))


def _collect_all(
    sources: Sequence[SourceConfig],
    states: dict[str, SourceState],
    host_until: dict[str, datetime | None],
    http: HttpClient,
    workers: int,
    retry: RetryPolicy,
    now: datetime,
    on_collected: Callable[[SourceResult], None] | None,
) -> list[SourceResult]:
    report = on_collected or (lambda _result: None)
    pending, results = split_waiting(sources, states, host_until, now)
    for waiting in results:
        report(waiting)
    if not pending:
        return results
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pending)))) as pool:
        futures = [
            pool.submit(collect_source, s, states[s.name], http, retry=retry) for s in pending
        ]
        for future in as_completed(futures):
            results.append(future.result())
            report(results[-1])
    return results


def store_results(
    settings: Settings,
    results: Sequence[SourceResult],
    now: datetime,
    on_source_done: Callable[[SourceSummary], None] | None = None,
) -> list[SourceSummary]:
    """Store every result, one short transaction each, then fold the WAL into the file."""
    count_failures = not looks_offline(results)
    summaries = []
    with Store.open(settings.db_path, wait=STORE_WAIT_SECONDS) as store:
        apply_pending_marks(store, settings)  # marks queued while another process held the file
        for result in results:
            summary = store_result(store, result, now, count_failure=count_failures)
            summaries.append(summary)
            if on_source_done is not None:
                on_source_done(summary)
        store.checkpoint()
    return summaries
