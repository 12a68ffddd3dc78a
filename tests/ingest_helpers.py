"""Helpers for end-to-end ingest tests: a sources.yaml in tmp_path pointing at fixture servers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from conftest import shared_path
from server import FixtureServer, static

from paperfeed.config import Config, load_config
from paperfeed.http import HttpClient, HttpPolicy
from paperfeed.ingest.collect import RetryPolicy, ingest
from paperfeed.ingest.record import IngestReport
from paperfeed.settings import Settings
from paperfeed.store import Store

NO_RETRY = RetryPolicy(attempts=1, backoff=())


def feed_source(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "feed", "url": url, "allow_private": True, **extra}


def write_config(
    tmp_path: Path, sources: list[dict[str, Any]], focus_areas: list[dict[str, Any]] | None = None
) -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config_path = tmp_path / "sources.yaml"
    document: dict[str, Any] = {"sources": sources}
    if focus_areas:
        document["focus_areas"] = focus_areas
    config_path.write_text(yaml.safe_dump(document, sort_keys=False))
    return Settings(home=tmp_path / "home", config_path=config_path)


@contextmanager
def serve_shared_feeds(config_dir: Path, feeds: str, names: list[str]) -> Iterator[Settings]:
    """Real feeds of ../shared (folder `feeds`, files `names`) served on 127.0.0.1, with a
    sources.yaml in `config_dir` naming each one after its file."""
    folder = shared_path(feeds)
    with FixtureServer() as srv:
        sources = []
        for name in names:
            srv.routes[f"/{name}"] = static((folder / name).read_bytes())
            sources.append(feed_source(name.removesuffix(".xml"), srv.url(f"/{name}")))
        yield write_config(config_dir, sources)


def run(
    settings: Settings,
    *,
    deadline: float = 5.0,
    only: tuple[str, ...] = (),
    retry: RetryPolicy = NO_RETRY,
    config: Config | None = None,
) -> IngestReport:
    policy = HttpPolicy(
        total_deadline=deadline, connect_timeout=min(2.0, deadline), read_timeout=min(2.0, deadline)
    )
    with HttpClient(policy) as http:
        return ingest(
            settings, config or load_config(settings.config_path), only=only, http=http, retry=retry
        )


def item_count(settings: Settings) -> int:
    with Store.open(settings.db_path, read_only=True) as store:
        return store.items.count()


def item_keys(settings: Settings) -> set[str]:
    with Store.open(settings.db_path, read_only=True) as store:
        return {row[0] for row in store.conn.execute("SELECT key FROM items").fetchall()}


def by_name(report: IngestReport) -> dict[str, Any]:
    return {summary.name: summary for summary in report.sources}
