"""A small home for the reading-room tests: real DuckDB, fake 64-d embedder, a few items."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fakes import HashingEmbedder
from starlette.testclient import TestClient

from paperfeed.records import Item
from paperfeed.settings import Settings
from paperfeed.store import Store
from paperfeed.web.app import create_app
from paperfeed.web.room import Room
from paperfeed.web.safety import Policy

NOW = datetime.now(UTC)
CONFIG = """
sources:
  - name: arxiv
    type: arxiv
    categories: [cs.CL]
  - name: blog
    type: feed
    url: https://blog.example/feed.xml
    tags: [blog]
focus_areas:
  - name: NLP
    description: language models and text
    keywords: [language model]
    weekly_goal: 2
  - name: Vision
    description: images and segmentation
    keywords: [segmentation]
    weekly_goal: 1
settings:
  model: fake-hashing-64
"""


def papers(count: int = 12) -> list[Item]:
    return [
        Item(
            title=f"Paper {n} on {'language models' if n % 2 else 'image segmentation'}",
            summary=f"Abstract {n}. We study {'language models' if n % 2 else 'segmentation'}.",
            arxiv_id=f"2603.{n:05d}",
            arxiv_version=1,
            authors=(f"Author {n}",),
            categories=("cs.CL" if n % 2 else "cs.CV",),
            kind="paper",
            published=NOW - timedelta(days=1),
        )
        for n in range(1, count + 1)
    ]


def make_home(
    tmp_path: Path, extra: Sequence[tuple[str, Sequence[Item]]] = (), count: int = 12
) -> Settings:
    """A home with `count` papers (source `arxiv`) plus `extra` (source, items), all embedded."""
    settings = Settings(home=tmp_path / "home", config_path=tmp_path / "sources.yaml")
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings.config_path.write_text(CONFIG)
    embedder = HashingEmbedder()
    with Store.open(settings.db_path) as store:
        store.items.upsert(papers(count), "arxiv")
        for source, items in extra:
            store.items.upsert(list(items), source)
        stored = store.items.get_many(store.items.ids())
        store.vectors.put(
            embedder.model_name,
            [(i.id, i.content_hash, embedder.query(f"{i.title} {i.summary}")) for i in stored],
        )
    return settings


def room_of(settings: Settings) -> Room:
    return Room(settings, query_encoder=HashingEmbedder().query)


def client_of(room: Room, policy: Policy | None = None) -> tuple[TestClient, Policy]:
    policy = policy or Policy("127.0.0.1", 8787)
    client = TestClient(create_app(room, policy), base_url="http://127.0.0.1:8787")
    return client, policy


def marks_in(settings: Settings) -> dict:
    with Store.open(settings.db_path, read_only=True) as store:
        return store.reading.all()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
