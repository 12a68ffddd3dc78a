"""Prefect flow: ingest every enabled source, one task per source, one writing task.

I/O rule: this file only wraps plain functions of the library in Prefect tasks. Fetching goes
through `paperfeed.ingest.collect.fetch_source` (the one HttpClient, whose per-host politeness and
arXiv gate hold process-wide, across the concurrent tasks); DuckDB is written by one task only
(`Paperfeed.record`, one short transaction per source), then new items are embedded and the index
refreshed. Side-effect tasks use `NO_CACHE`: idempotency comes from the database (conditional
GETs and upserts by canonical key), never from Prefect's cache.

Retries are Prefect's, for transient errors only (network errors, 429 and 5xx, deadlines), with
the counts and delays of the library's `RetryPolicy` (the CLI's ingest uses the same one): a 404
or a parse error is tried once. A source that still fails is recorded on the source and the run
goes on; the flow itself fails only when at least half the tried sources failed, or the store
cannot be used.

Run once with the configured settings:  python flows/ingest.py [--home DIR] [--config FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.futures import PrefectFuture
from prefect.runtime import task_run as current_task_run
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from paperfeed.config import Config, SourceConfig, load_config
from paperfeed.errors import PaperfeedError, SourceError
from paperfeed.http import HttpClient
from paperfeed.ingest.collect import (
    RetryPolicy,
    fetch_source,
    http_client,
    result_from_collected,
    result_from_error,
    select_sources,
    split_waiting,
)
from paperfeed.ingest.record import IngestReport, SourceResult, SourceSummary
from paperfeed.library import Paperfeed
from paperfeed.records import Collected, FetchOutcome, SourceState, SourceStatus
from paperfeed.settings import Settings

FAIL_SHARE = 0.5  # the flow fails when at least this share of the tried sources failed
WORKERS = 4


class IngestFailed(PaperfeedError):
    """Most sources failed in one run: something is wrong beyond a single source."""


# ---------------------------------------------------------------- pure policy


def retry_policy(retry_delays: Sequence[float] | None, jitter: float | None) -> RetryPolicy:
    """The library's RetryPolicy, or one with the flow parameters' delays (one retry each)."""
    default = RetryPolicy()
    if retry_delays is None:
        return default if jitter is None else replace(default, jitter=jitter)
    delays = tuple(retry_delays)
    return RetryPolicy(len(delays) + 1, delays, default.jitter if jitter is None else jitter)


def failure_share(results: Sequence[SourceResult], summaries: Sequence[SourceSummary]) -> float:
    """Failed sources over tried ones (disabled and still-waiting sources were not tried)."""
    not_tried = (FetchOutcome.DISABLED, FetchOutcome.WAITING)
    tried = {r.source.name for r in results if r.status not in not_tried}
    failed = [s for s in summaries if s.name in tried and s.status == SourceStatus.FAILED]
    return len(failed) / len(tried) if tried else 0.0


def is_transient(_task: Any, _task_run: TaskRun, state: State[Any]) -> bool:
    """retry_condition_fn: retry network errors, 429/5xx and deadlines; not 404s or bad bodies."""
    try:
        state.result()
    except SourceError as exc:
        return bool(getattr(exc, "transient", False))
    except Exception:  # noqa: BLE001 - anything else (a parser bug) is not worth retrying
        return False
    return False


def report_markdown(summaries: Sequence[SourceSummary]) -> str:
    lines = ["| source | status | new | updated | error |", "|---|---|---|---|---|"]
    for s in summaries:
        error = (s.error or "").replace("|", "\\|").replace("\n", " ")[:200]
        lines.append(f"| {s.name} | {s.status} | {s.new} | {s.updated} | {error} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- tasks


@task(cache_policy=NO_CACHE)
def read_states(
    settings: Settings, sources: Sequence[SourceConfig]
) -> tuple[dict[str, SourceState], dict[str, datetime | None]]:
    """Each source's stored state and its host's wait window (one short read)."""
    return Paperfeed(settings).source_states(sources)


@task(
    cache_policy=NO_CACHE,
    retry_condition_fn=is_transient,
    task_run_name="fetch-{source.name}",
)
def fetch(source: SourceConfig, state: SourceState, http: HttpClient) -> Collected:
    """Fetch and parse one source; raises SourceError (Prefect retries the transient ones)."""
    try:
        return fetch_source(source, state, http)
    except Exception as exc:
        # read back by the flow to record how many attempts the source took
        setattr(exc, "paperfeed_attempts", current_task_run.run_count)  # noqa: B010
        raise


@task(cache_policy=NO_CACHE)
def store(settings: Settings, results: list[SourceResult], now: datetime) -> IngestReport:
    """The single writing step: one short transaction per source, then CHECKPOINT."""
    return Paperfeed(settings).record(results, now)


@task(cache_policy=NO_CACHE)
def embed_and_index(settings: Settings, config: Config) -> int:
    """Embed the new items and refresh the search index."""
    return Paperfeed(settings, config).refresh()


# ---------------------------------------------------------------- flow


def outcome(source: SourceConfig, future: PrefectFuture[Collected]) -> SourceResult:
    """A finished fetch task as a SourceResult; a failed one becomes a recorded failure."""
    future.wait()
    value = future.result(raise_on_failure=False)
    if isinstance(value, BaseException):
        attempts = int(getattr(value, "paperfeed_attempts", 1))
        return result_from_error(source, value, attempts=attempts)
    return result_from_collected(source, value)


def collect(
    config: Config,
    sources: Sequence[SourceConfig],
    states: dict[str, SourceState],
    host_until: dict[str, datetime | None],
    retry: RetryPolicy,
    now: datetime,
) -> list[SourceResult]:
    """Submit one fetch task per source that may be fetched now; gather every outcome."""
    pending, results = split_waiting(sources, states, host_until, now)
    fetch_with_retries = fetch.with_options(
        retries=retry.attempts - 1, retry_delay_seconds=retry.delays()
    )
    http = http_client(config)
    try:
        futures = [(s, fetch_with_retries.submit(s, states[s.name], http)) for s in pending]
        results.extend(outcome(s, f) for s, f in futures)
    finally:
        http.close()
    return results


@flow(
    name="paperfeed-ingest",
    task_runner=ThreadPoolTaskRunner(max_workers=WORKERS),  # type: ignore[arg-type]
)
def ingest_flow(
    home: str | None = None,
    config: str | None = None,
    only: list[str] | None = None,
    retry_delays: list[float] | None = None,
    jitter: float | None = None,
) -> IngestReport:
    """Fetch every enabled source (or `only` these), store, embed what is new, refresh the index."""
    logger = get_run_logger()
    settings = Settings.resolve(home, config)
    cfg = load_config(settings.config_path)
    sources = select_sources(cfg, only or ())
    states, host_until = read_states(settings, sources)
    retry = retry_policy(retry_delays, jitter)
    results = collect(cfg, sources, states, host_until, retry, datetime.now(UTC))
    report = store(settings, results, datetime.now(UTC))
    for summary in report.sources:
        logger.info(
            "%s: %s (+%d new) %s", summary.name, summary.status, summary.new, summary.error or ""
        )
    # also when nothing changed: items left unembedded by `ingest --no-embed` or a crash get
    # their vectors here, and with nothing pending this loads no model
    logger.info("embedded %d items", embed_and_index(settings, cfg))
    create_markdown_artifact(
        report_markdown(report.sources),
        key="paperfeed-ingest",
        description="Per-source outcome of the last ingest",
    )
    share = failure_share(results, report.sources)
    if share >= FAIL_SHARE:
        names = ", ".join(s.name for s in report.failed)
        raise IngestFailed(
            f"{len(report.failed)} of the tried sources failed ({share:.0%}): {names}"
        )
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run one paperfeed ingest flow.")
    parser.add_argument("--home", help="data directory (default: $PAPERFEED_HOME)")
    parser.add_argument(
        "--config", help="sources.yaml (default: $PAPERFEED_CONFIG, ./sources.yaml)"
    )
    parser.add_argument("--only", action="append", help="only this source (repeatable)")
    args = parser.parse_args(argv)
    ingest_flow(home=args.home, config=args.config, only=args.only)


if __name__ == "__main__":
    main()
