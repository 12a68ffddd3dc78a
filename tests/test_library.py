"""`paperfeed.Paperfeed`, the one library object: what it owns (store, lazily loaded query
encoder, indexes), that its writable opens apply queued marks, and that its verbs are what the
CLI prints. Fakes stand in for the model; the store is a real DuckDB file in tmp_path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes import HashingEmbedder

import paperfeed
from paperfeed import Paperfeed
from paperfeed.digest.model import DigestOptions
from paperfeed.embed import embedder as embedder_module
from paperfeed.errors import UnknownName
from paperfeed.marks import MarkEvent, queue_marks
from paperfeed.records import Item
from paperfeed.search.hybrid import Filters
from paperfeed.settings import Settings
from paperfeed.store import Store

NOW = datetime.now(UTC)
CONFIG = """
sources:
  - name: blog
    type: feed
    url: https://blog.example/feed.xml
    tags: [nlp]
focus_areas:
  - name: NLP
    description: language models and text
    keywords: [language model]
settings:
  model: fake-hashing-64
"""


def _items() -> list[Item]:
    return [
        Item(
            title=f"Paper {n} on {'language models' if n % 2 else 'image segmentation'}",
            summary=f"Abstract {n} about {'tokens' if n % 2 else 'pixels'}.",
            arxiv_id=f"2603.{n:05d}",
            arxiv_version=1,
            kind="paper",
            published=NOW - timedelta(days=1),
        )
        for n in range(1, 9)
    ]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings.resolve(tmp_path / "home", tmp_path / "sources.yaml")
    settings.config_path.write_text(CONFIG)
    fake = HashingEmbedder()
    with Store.open(settings.db_path) as store:
        store.items.upsert(_items(), "blog")
        stored = store.items.get_many(store.items.ids())
        store.vectors.put(
            fake.model_name,
            [(i.id, i.content_hash, fake.query(f"{i.title} {i.summary}")) for i in stored],
        )
    return settings


class CountingLoader:
    def __init__(self) -> None:
        self.models: list[str] = []

    def __call__(self, model: str) -> object:
        self.models.append(model)
        return HashingEmbedder(model).query


def test_the_query_encoder_is_loaded_once_on_first_use_for_the_configured_model(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    loader = CountingLoader()
    monkeypatch.setattr(embedder_module, "load_query_encoder", loader)
    pf = Paperfeed(settings)
    assert loader.models == []  # building the object loads nothing
    first = pf.search("language models", k=3)
    second = pf.search("segmentation", k=3)
    assert loader.models == ["fake-hashing-64"]
    assert first and second and first[0].id != second[0].id


def test_search_filters_and_similar_leave_the_item_itself_out(settings: Settings) -> None:
    pf = Paperfeed(settings, query_encoder=HashingEmbedder().query)
    tagged = pf.search("paper", k=20, filters=Filters(tag="nlp"))  # every title names it
    assert len(tagged) == 8
    with pytest.raises(UnknownName, match="no tag 'vision'"):
        pf.search("paper", k=20, filters=Filters(tag="vision"))
    nearest = pf.similar("2603.00001", k=3)
    assert len(nearest) == 3 and all(h.arxiv_id != "2603.00001" for h in nearest)


def test_a_writable_open_applies_marks_queued_while_the_database_was_busy(
    settings: Settings,
) -> None:
    queue_marks(settings, [MarkEvent("2603.00002", "save", NOW)])
    pf = Paperfeed(settings)
    with pf.store(read_only=True) as store:
        assert store.reading.all() == {}  # a reader leaves the queue alone
    with pf.store() as store:
        saved = [m for m in store.reading.all().values() if m.saved_at]
    assert len(saved) == 1 and not settings.pending_marks.exists()


def test_mark_queues_when_another_process_holds_the_database(settings: Settings) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('held', flush=True); time.sleep(30)",
            str(settings.db_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = Settings(settings.home, settings.config_path, lock_wait=0.2)
        outcome = Paperfeed(busy).mark(["2603.00001", "2603.00003"], "read")
    finally:
        holder.kill()
        holder.wait()
    assert outcome.queued == 2 and outcome.ids == []
    applied = Paperfeed(settings).mark(["2603.00005"], "read")
    assert applied.queued == 0 and len(applied.ids) == 1
    rows = Paperfeed(settings).list(unread=False)
    assert sorted(r["arxiv_id"] for r in rows if r["read"]) == [
        "2603.00001",
        "2603.00003",
        "2603.00005",
    ]


def test_digest_dry_run_records_nothing_and_a_real_one_sends_each_item_once(
    settings: Settings,
) -> None:
    pf = Paperfeed(settings, query_encoder=HashingEmbedder().query)
    options = DigestOptions(
        NOW - timedelta(days=7), NOW + timedelta(seconds=1), per_area=3, highlights=0
    )
    dry = pf.digest(options, dry_run=True)
    assert dry.path is None and len(dry.digest.entries) == 3
    real = pf.digest(options)
    assert real.path is not None and real.path.is_file()
    again = pf.digest(options)
    sent_first = {e.item.id for e in real.digest.entries}
    assert sent_first and sent_first.isdisjoint(e.item.id for e in again.digest.entries)


def test_sources_and_status_rows_come_from_sources_yaml_and_the_store(
    settings: Settings,
) -> None:
    pf = Paperfeed(settings)
    [row] = pf.sources()
    assert (row["name"], row["items"], row["last_ok"]) == ("blog", 8, None)
    status = pf.status()
    assert (status["items"], status["embedded"], status["sources"]["total"]) == (8, 8, 1)
    assert status["attention"] == [] and status["last_ingest"] is None


def test_import_paperfeed_is_light_and_the_object_is_exported_lazily(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        import paperfeed
        assert "paperfeed.library" not in sys.modules, "imported eagerly"
        from paperfeed import Paperfeed
        assert Paperfeed.__module__ == "paperfeed.library"
        heavy = [m for m in ("prefect", "torch", "httpx", "duckdb") if m in sys.modules]
        print(heavy)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert "Paperfeed" in paperfeed.__all__
