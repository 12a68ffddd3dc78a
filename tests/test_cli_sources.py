"""`paperfeed sources`, `sources enable`, `sources import-opml` through click's CliRunner."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import shared_path

from paperfeed.cli import main
from paperfeed.config import load_config
from paperfeed.records import Item
from paperfeed.store import Store

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

CONFIG = """\
# my sources
sources:
  - name: Blog A
    type: feed
    url: https://a.example/feed
  - name: Papers
    type: arxiv
    categories: [cs.LG, stat.ML]
  - name: Quiet
    type: feed
    url: https://q.example/rss
    enabled: false
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(CONFIG)
    return path


def run(home: Path, config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), "--config", str(config), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def seed_store(home: Path) -> None:
    with Store.open(home / "paperfeed.duckdb") as store:
        items = [Item(title=f"Post {i}", url=f"https://a.example/p/{i}") for i in range(3)]
        store.items.upsert(items, "Blog A", now=NOW)
        store.sources.record_success(
            "Blog A",
            status="fetched",
            validators=None,
            moved_to="https://a2.example/feed",
            cursor=None,
            now=NOW,
        )
        for _ in range(3):
            store.sources.record_failure(
                "Papers", kind="http", message="HTTP 500 from arxiv", now=NOW, disable_after=3
            )


def test_list_json_joins_config_and_store(home: Path, config: Path) -> None:
    seed_store(home)
    code, out, _ = run(home, config, "sources", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert list(rows) == ["Blog A", "Papers", "Quiet"]
    blog, papers, quiet = rows["Blog A"], rows["Papers"], rows["Quiet"]
    assert (blog["items"], blog["moved_to"], blog["type"]) == (3, "https://a2.example/feed", "feed")
    assert datetime.fromisoformat(blog["last_ok"]) == NOW
    assert blog["url"] == "https://a.example/feed" and blog["disabled"] is False
    assert papers["disabled"] is True and papers["consecutive_failures"] == 3
    assert papers["last_error"] == "HTTP 500 from arxiv" and papers["items"] == 0
    assert "cs.LG" in papers["url"] and papers["last_ok"] is None
    assert quiet["enabled"] is False and quiet["disabled"] is False
    assert set(blog) >= {
        "name",
        "type",
        "url",
        "enabled",
        "disabled",
        "items",
        "last_ok",
        "last_error",
        "consecutive_failures",
        "moved_to",
    }


def test_list_table(home: Path, config: Path) -> None:
    seed_store(home)
    code, out, _ = run(home, config, "sources")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["source", "type", "items", "status", "last", "ok"]
    assert next(line for line in lines if line.startswith("Papers")).split()[3] == "disabled"
    assert next(line for line in lines if line.startswith("Quiet")).split()[3] == "off"
    assert "moved permanently to https://a2.example/feed" in out
    assert lines[-1] == "3 sources; 1 ok"


def test_list_with_a_fresh_home(home: Path, config: Path) -> None:
    code, out, _ = run(home, config, "sources", "--json")
    assert code == 0
    assert [row["items"] for row in json.loads(out)] == [0, 0, 0]


def test_enable_clears_disabled_state(home: Path, config: Path) -> None:
    seed_store(home)
    code, out, _ = run(home, config, "sources", "enable", "Papers")
    assert code == 0 and "enabled Papers" in out
    with Store.open(home / "paperfeed.duckdb", read_only=True) as store:
        state = store.sources.get("Papers")
    assert (state.disabled, state.consecutive_failures) == (False, 0)


def test_enable_says_the_config_keeps_it_off(home: Path, config: Path) -> None:
    code, out, _ = run(home, config, "sources", "enable", "quiet")
    assert code == 0
    line = CONFIG.splitlines().index("  - name: Quiet") + 1
    assert "it will be fetched" not in out
    assert out.strip() == (
        f"cleared the failure state of Quiet, but it stays off: {config}:{line} has "
        "`enabled: false` (set it to true to fetch this source)"
    )


def test_enable_unknown_name_is_a_one_line_error(home: Path, config: Path) -> None:
    code, out, err = run(home, config, "sources", "enable", "Paper")
    assert code != 0 and out == ""
    assert err.strip().splitlines() == ["error: no source 'Paper' (did you mean 'Papers'?)"]


def test_bad_config_is_reported_with_line(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "sources:\n  - name: a\n    type: feed\n    url: https://a.example/f\n    weight: high\n"
    )
    code, _, err = run(home, bad, "sources")
    assert code == 1
    assert err.strip() == (f"error: {bad}:5: sources[0].weight: expected a number ≥ 0, got 'high'")


def test_import_opml_dry_run_then_real(home: Path, tmp_path: Path) -> None:
    opml_path = shared_path("fixtures/feeds/opml/turing_ai-rss-feeds.opml")
    config = tmp_path / "sources.yaml"
    shutil.copy(REPO / "sources.yaml", config)
    before = config.read_bytes()

    code, out, _ = run(
        home, config, "sources", "import-opml", str(opml_path), "--dry-run", "--json"
    )
    assert code == 0
    planned = json.loads(out)
    assert planned["dry_run"] is True and config.read_bytes() == before
    assert (
        len(planned["added"]) + len(planned["skipped"])
        == opml_path.read_text().count("xmlUrl=")
        > 0
    )

    code, out, _ = run(home, config, "sources", "import-opml", str(opml_path))
    assert code == 0
    assert out.splitlines()[-1].startswith(f"added {len(planned['added'])} feeds to {config}")
    names = [s.name for s in load_config(config).sources]
    assert names[-len(planned["added"]) :] == planned["added"]

    code, out, _ = run(home, config, "sources", "import-opml", str(opml_path), "--json")
    assert json.loads(out)["added"] == []


def test_import_opml_refuses_a_doctype(home: Path, config: Path, tmp_path: Path) -> None:
    evil = tmp_path / "evil.opml"
    evil.write_text(
        '<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<opml><body><outline text="&x;" xmlUrl="https://e.example/f"/></body></opml>'
    )
    before = config.read_text()
    code, _, err = run(home, config, "sources", "import-opml", str(evil))
    assert code == 1 and f"{evil}:1:" in err and "DOCTYPE" in err
    assert config.read_text() == before


@pytest.mark.parametrize(
    "command", [["sources"], ["sources", "enable"], ["sources", "import-opml"]]
)
def test_every_command_has_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "paperfeed sources" in result.output


def test_bulk_imported_papers_count_under_their_category_source(home: Path, tmp_path: Path) -> None:
    from paperfeed.ingest.bulk import SOURCE_NAME
    from paperfeed.records import Item

    config = tmp_path / "arxiv.yaml"
    config.write_text(
        "sources:\n  - {name: arXiv cs.LG, type: arxiv, categories: [cs.LG]}\n"
        "  - {name: arXiv cs.CV, type: arxiv, categories: [cs.CV]}\n"
    )
    papers = [
        Item(title=f"p{n}", arxiv_id=f"2501.{n:05d}", categories=(cat,), kind="paper")
        for n, cat in enumerate(["cs.LG", "cs.LG", "cs.CV", "math.OC"])
    ]
    with Store.open(home / "paperfeed.duckdb") as store:
        store.items.upsert(papers, SOURCE_NAME)
    code, out, _ = run(home, config, "sources", "--json")
    assert code == 0
    counts = {row["name"]: (row["type"], row["items"]) for row in json.loads(out)}
    assert counts == {
        "arXiv cs.LG": ("arxiv", 2),
        "arXiv cs.CV": ("arxiv", 1),
        SOURCE_NAME: ("bulk", 4),
    }
    code, text, _ = run(home, config, "sources")
    assert f"{SOURCE_NAME}  bulk       4  arXiv bulk import" in text
