"""Ingest: collect every source concurrently, then record each result (`paperfeed.ingest.record`).

Network I/O happens inside the adapters (through the one HttpClient); this module turns each
fetch into a SourceResult, retrying transient errors per its RetryPolicy, and never raises for
one bad source. The pieces are separate plain functions so the Prefect flow can run
`fetch_source` as one task per source (with Prefect's retries, from the same RetryPolicy) and
`store_results` as the single writing task.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from paperfeed import __version__
from paperfeed.config import Config, SourceConfig
from paperfeed.errors import ConfigError, Deferred, Gone, SourceError
from paperfeed.http import HttpClient, HttpPolicy
from paperfeed.ingest.record import (
    IngestReport,
    SourceResult,
    SourceSummary,
    looks_offline,
    source_host,
    store_results,
)
from paperfeed.names import resolve_name
from paperfeed.progress import SILENT, Progress
from paperfeed.records import Collected, FetchOutcome, SourceState
from paperfeed.settings import Settings
from paperfeed.sources import source_type
from paperfeed.store import Store


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries inside one run, for transient errors only (network, 429, 5xx): the one policy of
    both the CLI's ingest and the Prefect flow (which turns it into `retries` and
    `retry_delay_seconds`). RELIABILITY: 3 retries after 10, 30 and 90 s, each delay stretched
    by a random 0-20 %, so the retries spread out and never come sooner than configured."""

    attempts: int = 4
    backoff: tuple[float, ...] = (10.0, 30.0, 90.0)
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (0-based)."""
        base = self.backoff[min(attempt, len(self.backoff) - 1)] if self.backoff else 0.0
        return base * (1 + random.uniform(0.0, self.jitter))

    def delays(self) -> list[float]:
        """The wait before each retry, jittered once: what Prefect's retry_delay_seconds takes."""
        return [self.delay(attempt) for attempt in range(self.attempts - 1)]


def http_client(config: Config) -> HttpClient:
    """The one HttpClient of a run; its User-Agent names the learner's contact when given,
    as the arXiv API terms ask."""
    if not config.contact:
        return HttpClient()
    user_agent = f"paperfeed/{__version__} (+{config.contact})"
    return HttpClient(HttpPolicy(user_agent=user_agent))


def select_sources(config: Config, only: Sequence[str] = ()) -> list[SourceConfig]:
    """The enabled sources, or the named ones (a unique case-insensitive match is enough).
    A named source that sources.yaml has `enabled: false` is refused, not fetched."""
    if not only:
        return [s for s in config.sources if s.enabled]
    names = {resolve_name(name, [s.name for s in config.sources], "source") for name in only}
    chosen = [s for s in config.sources if s.name in names]
    off = [s for s in chosen if not s.enabled]
    if off:
        raise ConfigError(
            f"{config.path}:{off[0].line}: source {off[0].name!r} is `enabled: false`; "
            "set it to true to fetch it"
        )
    return chosen


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


def ingest(
    settings: Settings,
    config: Config,
    *,
    only: Sequence[str] = (),
    http: HttpClient | None = None,
    workers: int = 4,
    retry: RetryPolicy = RetryPolicy(),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_source_done: Callable[[SourceSummary], None] | None = None,
    progress: Progress = SILENT,
) -> IngestReport:
    """Collect the selected sources concurrently, then store every result (one short write
    phase, so the file is held for writing only briefly). Reported as the phases "fetching"
    and "storing", source by source."""
    sources = select_sources(config, only)
    states, host_until = read_states(settings, sources)
    owns_http = http is None
    client = http or http_client(config)
    progress.start("fetching", len(sources), "sources")
    fetched: list[SourceResult] = []

    def collected(result: SourceResult) -> None:
        fetched.append(result)
        items = len(result.collected.items) if result.collected else 0
        progress.advance(len(fetched), note=f"{result.source.name}: {items} items")

    try:
        results = _collect_all(
            sources, states, host_until, client, workers, retry, now(), collected
        )
    finally:
        if owns_http:
            client.close()
    failed = sum(r.status == "failed" for r in results)
    progress.finish(f"{len(results)} sources, {failed} failed")
    folder = settings.digest_dir(config)
    summaries = _store_reported(
        settings, results, now(), on_source_done, progress, config.backups_kept, folder
    )
    position = {s.name: i for i, s in enumerate(sources)}
    summaries.sort(key=lambda summary: position[summary.name])
    return IngestReport(summaries, offline=looks_offline(results))


def _store_reported(
    settings: Settings,
    results: Sequence[SourceResult],
    now: datetime,
    on_source_done: Callable[[SourceSummary], None] | None,
    progress: Progress,
    backups_kept: int,
    digest_folder: Path,
) -> list[SourceSummary]:
    progress.start("storing", len(results), "sources")
    stored: list[SourceSummary] = []

    def done(summary: SourceSummary) -> None:
        stored.append(summary)
        progress.advance(len(stored), note=f"{summary.name}: {summary.new} new")
        if on_source_done is not None:
            on_source_done(summary)

    summaries = store_results(
        settings, results, now, done, backups_kept, digest_folder=digest_folder
    )
    new, updated = sum(s.new for s in summaries), sum(s.updated for s in summaries)
    progress.finish(f"{new} new, {updated} updated")
    return summaries


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
