"""`paperfeed show ID` and `paperfeed init` (issue 12, item 6)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fakes import HashingEmbedder

from paperfeed.cli import main
from paperfeed.config import DEFAULT_MODEL, load_config
from paperfeed.records import Item
from paperfeed.starter import shipped_config
from paperfeed.store import Store

PAPER = Item(
    title="Sparse attention for long documents",
    summary="We make attention sparse.\n\nIt scales to long documents.",
    arxiv_id="2502.00001",
    arxiv_version=2,
    authors=("Ada Lovelace", "Alan Turing"),
    categories=("cs.CL", "cs.LG"),
    kind="paper",
    url="https://arxiv.org/abs/2502.00001v2",
    published=datetime(2025, 2, 3, tzinfo=UTC),
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("PAPERFEED_CONFIG", str(tmp_path / "none.yaml"))
    others = [
        Item(title=f"Attention post {n}", summary="attention long documents", url=f"https://b/{n}")
        for n in range(3)
    ]
    embedder = HashingEmbedder(DEFAULT_MODEL)
    with Store.open(home / "paperfeed.duckdb") as store:
        store.items.upsert([PAPER], "arxiv-metadata")
        store.items.upsert(others, "blog")
        stored = store.items.get_many(store.items.ids())
        store.vectors.put(
            DEFAULT_MODEL,
            [(i.id, i.content_hash, embedder.query(f"{i.title}\n\n{i.summary}")) for i in stored],
        )
    return home


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_show_prints_the_whole_item(home: Path) -> None:
    run("save", "2502.00001")
    result = run("show", "2502.00001v1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "1  Sparse attention for long documents"
    assert "arXiv:2502.00001" in lines[1] and "https://arxiv.org/abs/2502.00001v2" in lines[1]
    assert "authors:    Ada Lovelace, Alan Turing" in lines
    assert "categories: cs.CL, cs.LG" in lines
    assert any(line.startswith("published:  2025-02-03") for line in lines)
    assert any(line.startswith("marks:      saved ") for line in lines)
    assert "digests:    not sent in a digest yet" in lines
    assert "  We make attention sparse." in lines and "  It scales to long documents." in lines
    assert lines[lines.index("similar:") + 1].split()[0] in {"2", "3", "4"}


def test_show_json_and_unknown_ref(home: Path) -> None:
    data = json.loads(run("show", "1", "--json").stdout)
    assert data["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert data["tags"] == ["cs.CL", "cs.LG"] and data["marks"]["rating"] is None
    assert len(data["similar"]) == 3 and 1 not in {h["id"] for h in data["similar"]}
    missing = run("show", "2502.99999")
    assert missing.exit_code == 1 and "no item matches '2502.99999'" in missing.stderr


def test_init_writes_a_valid_commented_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "sources.yaml"
    first = run("--config", str(path), "init")
    assert first.exit_code == 0 and f"wrote {path}" in first.stdout
    config = load_config(path)
    shipped = load_config_text(shipped_config(), tmp_path)
    assert [s.name for s in config.sources] == [s.name for s in shipped.sources]
    assert len(config.focus_areas) == 2 and path.read_text().startswith("# paperfeed sources")
    path.write_text("sources: []  # mine\n")
    again = run("--config", str(path), "init")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert path.read_text() == "sources: []  # mine\n"


def load_config_text(text: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "shipped.yaml"
    path.write_text(text)
    return load_config(path)
