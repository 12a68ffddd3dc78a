"""RELIABILITY D2: backups after each ingest, `paperfeed restore` and `paperfeed recover`.

The drill: ingest, mark items (before and after the last backup), delete the database, recover;
every read / save / rate mark is back, on the same items (by canonical key), and every item is
ingested again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from ingest_helpers import serve_shared_feeds, write_config

from paperfeed.cli import main
from paperfeed.settings import Settings
from paperfeed.store import Store
from paperfeed.store.backup import backups

FEEDS = "fixtures/feeds/ml_org_feeds_scraped/olshansk_rss-feeds"
NAMES = ["feed_anthropic_news.xml", "feed_openai_research.xml", "feed_google_ai.xml"]


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    with serve_shared_feeds(tmp_path, FEEDS, NAMES) as settings:
        yield settings


def cli(settings: Settings, *args: str) -> Result:
    home = ["--home", str(settings.home), "--config", str(settings.config_path)]
    result = CliRunner().invoke(main, [*home, *args])
    assert result.exit_code == 0, result.output
    return result


def marks_by_key(settings: Settings) -> dict[str, tuple[bool, bool, int | None]]:
    with Store.open(settings.db_path, read_only=True) as store:
        rows = store.conn.execute(
            "SELECT i.key, m.read_at IS NOT NULL, m.saved_at IS NOT NULL, m.rating "
            "FROM marks m JOIN items i ON i.id = m.item_id"
        ).fetchall()
    return {key: (read, saved, rating) for key, read, saved, rating in rows}


def item_keys(settings: Settings) -> set[str]:
    with Store.open(settings.db_path, read_only=True) as store:
        return {row[0] for row in store.conn.execute("SELECT key FROM items").fetchall()}


def make_marks(settings: Settings) -> None:
    """Marks before and after the last backup, including ones that are taken back."""
    cli(settings, "read", "1", "2", "3", "4")
    cli(settings, "save", "5", "6")
    cli(settings, "rate", "7", "up")
    cli(settings, "rate", "8", "down")
    cli(settings, "ingest", "--no-embed")  # a backup with the marks so far
    cli(settings, "read", "9", "10")
    cli(settings, "unread", "2")
    cli(settings, "save", "11")
    cli(settings, "rate", "1", "down")


def lose_database(settings: Settings) -> None:
    settings.db_path.unlink()
    settings.db_path.with_name(settings.db_path.name + ".wal").unlink(missing_ok=True)


def test_each_ingest_leaves_a_backup_and_only_the_newest_are_kept(settings: Settings) -> None:
    document = yaml.safe_load(settings.config_path.read_text())
    document["settings"] = {"backups_kept": 2}
    settings.config_path.write_text(yaml.safe_dump(document))
    for run in range(3):
        cli(settings, "ingest", "--no-embed")
        assert len(backups(settings.backup_dir)) == min(run + 1, 2)
    with Store.open(backups(settings.backup_dir)[-1], read_only=True) as copy:
        assert copy.items.count() == len(item_keys(settings)) > 0


@pytest.mark.parametrize("with_backup", [True, False], ids=["from-backup", "no-backup-yet"])
def test_d2_drill_recover_brings_back_every_mark_and_item(
    settings: Settings, with_backup: bool
) -> None:
    cli(settings, "ingest", "--no-embed")
    make_marks(settings)
    marks, keys = marks_by_key(settings), item_keys(settings)
    assert len(marks) == 11  # items 1..11 carry a mark
    lose_database(settings)
    if not with_backup:
        for path in backups(settings.backup_dir):
            path.unlink()

    result = cli(settings, "recover", "--no-embed", "--json")

    assert marks_by_key(settings) == marks
    assert item_keys(settings) == keys
    assert '"marks_unmatched": 0' in result.output


def test_restore_replaces_a_damaged_database_and_replays_later_marks(settings: Settings) -> None:
    cli(settings, "ingest", "--no-embed")
    make_marks(settings)
    marks = marks_by_key(settings)
    settings.db_path.write_bytes(b"damaged" * 1000)

    cli(settings, "restore")

    assert marks_by_key(settings) == marks
    kept = list(settings.home.glob("paperfeed.duckdb.replaced-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"damaged")


def test_restore_without_a_backup_is_a_one_line_error(tmp_path: Path) -> None:
    settings = write_config(tmp_path, [])
    result = CliRunner().invoke(
        main, ["--home", str(settings.home), "--config", str(settings.config_path), "restore"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: no backup in ") and result.output.count("\n") == 1
