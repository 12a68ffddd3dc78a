"""Marks say what they did (issue 12, item 5): every unknown ref named, no-op marks said,
`rate ID clear`, and --json on read, unread, save, unsave and rate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from paperfeed.cli import main
from paperfeed.records import Item
from paperfeed.settings import Settings
from paperfeed.store import Store


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = Settings.resolve(tmp_path / "home", tmp_path / "sources.yaml")
    settings.config_path.write_text("sources: []\n")
    items = [Item(title=f"Post number {n}", url=f"https://blog.example/{n}") for n in range(3)]
    with Store.open(settings.db_path) as store:
        store.items.upsert(items, "blog")
    return settings


def cli(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["--home", str(settings.home), "--config", str(settings.config_path), *args]
    )


def marks(settings: Settings) -> dict:
    with Store.open(settings.db_path, read_only=True) as store:
        return store.reading.all()


def test_every_unknown_ref_is_named_and_nothing_is_marked(home: Settings) -> None:
    result = cli(home, "read", "1", "nonsense", "474")
    assert result.exit_code == 1
    assert "'nonsense'" in result.stderr and "'474'" in result.stderr
    assert marks(home) == {}


def test_a_mark_that_changes_nothing_says_so(home: Settings) -> None:
    assert "already read" not in cli(home, "read", "1").stdout
    assert "already read" in cli(home, "read", "1").stdout
    assert "was not marked read" in cli(home, "unread", "2").stdout
    assert "was not saved" in cli(home, "unsave", "2").stdout


def test_rate_clear_removes_the_rating(home: Settings) -> None:
    cli(home, "rate", "1", "up")
    assert marks(home)[1].rating == 1
    result = cli(home, "rate", "1", "clear")
    assert result.exit_code == 0 and "rating cleared" in result.stdout
    assert marks(home)[1].rating is None
    assert "had no rating" in cli(home, "rate", "1", "clear").stdout


@pytest.mark.parametrize(
    "args,action",
    [
        (("read", "1", "2"), "read"),
        (("unread", "1", "2"), "unread"),
        (("save", "1", "2"), "save"),
        (("unsave", "1", "2"), "unsave"),
        (("rate", "1", "down"), "down"),
    ],
)
def test_marks_print_json(home: Settings, args: tuple[str, ...], action: str) -> None:
    cli(home, "read", "1")
    cli(home, "save", "1")
    result = cli(home, *args, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["queued"] is False
    ids = [m["id"] for m in report["marks"]]
    assert ids == [1, 2][: len(ids)] and {m["action"] for m in report["marks"]} == {action}
    changed = {m["id"]: m["changed"] for m in report["marks"]}
    # item 1 was read and saved beforehand, item 2 never marked
    expected_first = action in ("unread", "unsave", "down")
    assert changed[1] is expected_first
    if 2 in changed:
        assert changed[2] is (action in ("read", "save"))
    assert report["marks"][0]["title"] == "Post number 0"


def test_list_has_a_header_a_legend_and_whole_area_names(tmp_path: Path) -> None:
    settings = Settings.resolve(tmp_path / "home", tmp_path / "sources.yaml")
    settings.config_path.write_text(
        "sources: []\nfocus_areas:\n  - name: Recommender systems and retrieval\n"
        "    description: ranking\n    keywords: [ranking]\n"
    )
    with Store.open(settings.db_path) as store:
        store.items.upsert(
            [Item(title="Learning to rank, ranking at scale", url="https://r/1")], "b"
        )
    cli(settings, "save", "1")
    cli(settings, "rate", "1", "up")
    lines = cli(settings, "list").stdout.splitlines()
    assert lines[0].split() == ["id", "RS±", "area", "title"]
    assert lines[1].split()[:2] == ["1", "-S+"]
    assert "Recommender systems and retrieval  Learning to rank" in lines[1]
    assert lines[-1] == "R read, S saved, + rated up, - rated down"
