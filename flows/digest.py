"""Prefect flow: the weekly digest, optionally preceded by an ingest, published as an artifact.

I/O rule: this file only wraps `Paperfeed.digest` (which reads the store, writes the markdown
file atomically and records what was sent) and publishes the same markdown as a Prefect
artifact. With `ingest=True` the ingest flow runs first as a subflow; the digest is built even
when that ingest failed (its "needs attention" section lists the failing sources), and the flow
then fails with the ingest's error so the run history shows it.

Run once with the configured settings:  python flows/digest.py [--home DIR] [--ingest]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from paperfeed.config import Config, load_config
from paperfeed.digest.model import DigestOptions
from paperfeed.digest.run import default_window
from paperfeed.flowfiles import load_flow_module
from paperfeed.library import Paperfeed
from paperfeed.settings import Settings

ARTIFACT_KEY = "paperfeed-digest"


@dataclass(frozen=True, slots=True)
class Published:
    path: Path | None
    period: str
    entries: int
    attention: tuple[str, ...]


@task(cache_policy=NO_CACHE)
def build_and_write(settings: Settings, config: Config, options: DigestOptions) -> Published:
    """Rank the window, write digests/YYYY-Www.md, record what was sent; publish the artifact."""
    run = Paperfeed(settings, config).digest(options)
    create_markdown_artifact(
        run.markdown, key=ARTIFACT_KEY, description=f"paperfeed digest {run.period}"
    )
    attention = tuple(a.source for a in run.digest.attention) if run.digest else ()
    return Published(run.path, run.period, run.items, attention)


@flow(name="paperfeed-digest")
def digest_flow(
    home: str | None = None,
    config: str | None = None,
    ingest: bool = False,
    days: int = 7,
    per_area: int = 5,
    budget_minutes: float | None = None,
    retry_delays: list[float] | None = None,
) -> Published:
    """Build this week's digest (after an ingest when `ingest` is set)."""
    logger = get_run_logger()
    ingest_state: State | None = None
    if ingest:
        # loaded by path under the name `paperfeed serve` uses, so both share one module
        ingest_flow = load_flow_module(Path(__file__).parent, "ingest").ingest_flow
        ingest_state = ingest_flow(
            home=home, config=config, retry_delays=retry_delays, return_state=True
        )
    settings = Settings.resolve(home, config)
    cfg = load_config(settings.config_path)
    start, end = default_window(datetime.now(UTC), days)
    options = DigestOptions(
        start, end, per_area=per_area, highlights=per_area, budget_minutes=budget_minutes
    )
    published = build_and_write(settings, cfg, options)
    logger.info(
        "wrote %s (%d items); needs attention: %s",
        published.path,
        published.entries,
        ", ".join(published.attention) or "nothing",
    )
    if ingest_state is not None and ingest_state.is_failed():
        ingest_state.result()  # raises the ingest's error: the digest is out, the run is not green
    return published


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build this week's paperfeed digest.")
    parser.add_argument("--home", help="data directory (default: $PAPERFEED_HOME)")
    parser.add_argument(
        "--config", help="sources.yaml (default: $PAPERFEED_CONFIG, ./sources.yaml)"
    )
    parser.add_argument("--ingest", action="store_true", help="ingest every source first")
    args = parser.parse_args(argv)
    digest_flow(home=args.home, config=args.config, ingest=args.ingest)


if __name__ == "__main__":
    main()
