"""The reading loop: marks, their log, the busy-time queue (RELIABILITY D3), list, stats, and the
digest command end to end through CliRunner with the fake embedder."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakes import HashingEmbedder

from paperfeed.cli import main
from paperfeed.marks import MarkEvent, apply_pending_marks, queue_marks, read_jsonl
from paperfeed.records import Item
from paperfeed.settings import Settings
from paperfeed.store import Store

NOW = datetime.now(UTC)
CONFIG = """
sources:
  - name: blog
    type: feed
    url: https://blog.example/feed.xml
focus_areas:
  - name: NLP
    description: language models and text
    keywords: [language model]
    weekly_goal: 2
  - name: Vision
    description: images and segmentation
    keywords: [segmentation]
settings:
  model: fake-hashing-64
"""


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = Settings.resolve(tmp_path / "home", tmp_path / "sources.yaml")
    settings.config_path.write_text(CONFIG)
    embedder = HashingEmbedder()
    items = [
        Item(
            title=f"Paper {n} on {'language models' if n % 2 else 'image segmentation'}",
            summary=f"Abstract {n}. More.",
            arxiv_id=f"2603.{n:05d}",
            arxiv_version=1,
            kind="paper",
            published=NOW - timedelta(days=1),
        )
        for n in range(1, 13)
    ]
    with Store.open(settings.db_path) as store:
        store.items.upsert(items, "arxiv")
        stored = store.items.get_many(store.items.ids())
        store.vectors.put(
            embedder.model_name,
            [(i.id, i.content_hash, embedder.query(f"{i.title} {i.summary}")) for i in stored],
        )
    return settings


def cli(settings: Settings, *args: str) -> object:
    result = CliRunner().invoke(
        main, ["--home", str(settings.home), "--config", str(settings.config_path), *args]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def marks(settings: Settings) -> dict:
    with Store.open(settings.db_path, read_only=True) as store:
        return store.reading.all()


def test_marks_by_short_id_arxiv_id_and_url_are_stored_and_logged(home: Settings) -> None:
    assert cli(home, "read", "1", "2603.00002v1", "https://arxiv.org/abs/2603.00003").exit_code == 0
    assert cli(home, "save", "4").exit_code == 0
    assert cli(home, "rate", "5", "down").exit_code == 0
    found = marks(home)
    assert {i for i, m in found.items() if m.read_at} == {1, 2, 3}
    assert found[4].saved_at is not None and found[5].rating == -1
    assert [r["action"] for r in read_jsonl(home.read_marks_log)] == ["read"] * 3 + ["save", "down"]
    assert cli(home, "unread", "1").exit_code == 0
    assert marks(home)[1].read_at is None


def test_unknown_id_is_a_clean_error_and_marks_nothing(home: Settings) -> None:
    result = cli(home, "read", "1", "9999.99999")
    assert result.exit_code == 1 and "no item matches" in result.output
    assert marks(home) == {}


def test_marks_made_while_the_database_is_busy_are_applied_at_the_next_open(home) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                "print('held', flush=True); time.sleep(30)"
            ),
            str(home.db_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        runner = CliRunner(env={"PAPERFEED_LOCK_WAIT": "0.2"})
        for n in range(1, 11):
            for action in ("read", "save"):
                result = runner.invoke(
                    main,
                    ["--home", str(home.home), "--config", str(home.config_path), action, str(n)],
                )
                assert result.exit_code == 0 and "queued" in result.output
    finally:
        holder.kill()
        holder.wait()
    assert len(read_jsonl(home.pending_marks)) == 20
    with Store.open(home.db_path) as store:
        assert apply_pending_marks(store, home) == 20
        found = store.reading.all()
    assert sum(1 for m in found.values() if m.read_at) == 10
    assert sum(1 for m in found.values() if m.saved_at) == 10
    assert not home.pending_marks.exists() and len(read_jsonl(home.read_marks_log)) == 20


def test_pending_marks_for_missing_items_are_logged_as_dropped(home: Settings) -> None:
    queue_marks(home, [MarkEvent("2603.00001", "read", NOW), MarkEvent("9999.1", "read", NOW)])
    with Store.open(home.db_path) as store:
        assert apply_pending_marks(store, home) == 1
        assert apply_pending_marks(store, home) == 0
    assert [r.get("dropped", False) for r in read_jsonl(home.read_marks_log)] == [False, True]


def test_digest_cli_twice_dry_run_json_then_list_and_stats(home, monkeypatch) -> None:
    monkeypatch.setattr(
        "paperfeed.embed.embedder.load_query_encoder", lambda model: HashingEmbedder(model).query
    )
    dry = json.loads(cli(home, "digest", "--dry-run", "--json").output)
    assert dry["path"] is None and [s["focus_area"] for s in dry["sections"]] == ["NLP", "Vision"]
    assert not (home.home / "digests").exists()
    first = cli(home, "digest", "--per-area", "3")
    assert first.exit_code == 0 and "wrote" in first.output
    sent = json.loads(cli(home, "list", "--json").output)
    again = json.loads(cli(home, "digest", "--json").output)
    again_ids = {i["id"] for s in again["sections"] for i in s["items"]}
    assert len(sent) == 6 and again_ids and not again_ids & {r["id"] for r in sent}
    nlp_id = next(r["id"] for r in sent if r["area"] == "NLP")
    cli(home, "read", str(nlp_id))
    unread = json.loads(cli(home, "list", "--unread", "--area", "NLP", "--json").output)
    assert nlp_id not in {r["id"] for r in unread} and all(r["area"] == "NLP" for r in unread)
    stats = json.loads(cli(home, "stats", "--json").output)
    assert stats["digests"][0]["read"] == 1
    week = stats["progress"][0]["week"]
    assert stats["progress"] == [
        {"week": week, "area": "NLP", "read": 1, "goal": 2, "met": False},
        {"week": week, "area": "Vision", "read": 0, "goal": None, "met": False},
    ]


def test_every_reading_command_has_an_example_in_its_help() -> None:
    for name in ("read", "unread", "save", "rate", "list", "stats", "digest"):
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output
