"""embed_pending: incremental, model-aware, one transaction per batch; the `embed` command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fakes import EmbedderFactory, HashingEmbedder, Recorder

import paperfeed.embed.embedder as embed
from paperfeed.cli import main
from paperfeed.cli.embed_cmds import embed_command
from paperfeed.embed.embedder import embed_pending, embedding_text, length_sorted_batches
from paperfeed.records import Item
from paperfeed.settings import Settings
from paperfeed.store import Store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.resolve(tmp_path / "home", tmp_path / "sources.yaml")


@pytest.fixture
def factory(monkeypatch: pytest.MonkeyPatch) -> EmbedderFactory:
    """Replaces the real model loader: any test that would load a model gets a fake instead."""
    fake = EmbedderFactory()
    monkeypatch.setattr(embed, "load_embedder", fake)
    return fake


def paper(i: int, summary: str | None = None) -> Item:
    return Item(
        title=f"paper {i} on topic {i % 3}",
        url=f"https://example.org/{i}",
        summary=summary if summary is not None else f"we study problem {i}",
        kind="paper",
    )


def add(settings: Settings, items: Sequence[Item]) -> None:
    with Store.open(settings.db_path) as store:
        store.items.upsert(list(items), "test")


def stored(settings: Settings, model: str) -> tuple[np.ndarray, np.ndarray]:
    with Store.open(settings.db_path, read_only=True) as store:
        return store.vectors.load(model)


def test_embedding_text_joins_title_and_summary() -> None:
    assert embedding_text(" A title ", "An abstract.") == "A title\nAn abstract."
    assert embedding_text("Only a title", "  ") == "Only a title"


def test_length_sorted_batches_cover_every_index_once() -> None:
    lengths = [5, 50, 7, 300, 12, 9, 40]
    batches = list(length_sorted_batches(lengths, 3))
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert [len(b) for b in batches] == [3, 3, 1]
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths, reverse=True)


def test_second_run_embeds_nothing_and_loads_no_model(
    settings: Settings, factory: EmbedderFactory
) -> None:
    add(settings, [paper(i) for i in range(7)])
    first = embed_pending(settings, "fake-a")
    assert (first.embedded, first.skipped, first.model) == (7, 0, "fake-a")
    assert factory.loaded == ["fake-a"]
    second = embed_pending(settings, "fake-a")
    assert (second.embedded, second.skipped) == (0, 7)
    assert factory.loaded == ["fake-a"]  # no second load


def test_stored_vectors_are_the_embedders_vectors(settings: Settings) -> None:
    items = [paper(i) for i in range(4)]
    add(settings, items)
    fake = HashingEmbedder("fake-a")
    embed_pending(settings, "fake-a", embedder=fake)
    ids, matrix = stored(settings, "fake-a")
    assert len(ids) == 4
    expected = fake.encode([embedding_text(it.title, it.summary) for it in items])
    np.testing.assert_allclose(matrix, expected, atol=1e-6)


def test_changed_content_re_embeds_only_that_item(settings: Settings) -> None:
    add(settings, [paper(i) for i in range(5)])
    fake = HashingEmbedder("fake-a")
    embed_pending(settings, "fake-a", embedder=fake)
    add(settings, [paper(2, summary="a completely revised abstract")])
    before = fake.texts_seen
    report = embed_pending(settings, "fake-a", embedder=fake)
    assert (report.embedded, report.skipped) == (1, 4)
    assert fake.texts_seen - before == 1


def test_model_change_re_embeds_everything_under_the_new_model(
    settings: Settings, factory: EmbedderFactory
) -> None:
    add(settings, [paper(i) for i in range(6)])
    embed_pending(settings, "fake-a")
    report = embed_pending(settings, "fake-b")
    assert (report.embedded, report.model) == (6, "fake-b")
    assert factory.loaded == ["fake-a", "fake-b"]
    assert len(stored(settings, "fake-a")[0]) == len(stored(settings, "fake-b")[0]) == 6


class CrashingEmbedder(HashingEmbedder):
    def __init__(self, crash_on_call: int) -> None:
        super().__init__("fake-a")
        self.crash_on_call = crash_on_call

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.calls + 1 == self.crash_on_call:
            raise RuntimeError("killed mid-run")
        return super().encode(texts)


def test_crash_mid_run_keeps_earlier_batches(settings: Settings) -> None:
    add(settings, [paper(i) for i in range(5)])
    with pytest.raises(RuntimeError):
        embed_pending(settings, "fake-a", embedder=CrashingEmbedder(3), batch_size=2)
    assert len(stored(settings, "fake-a")[0]) == 4
    report = embed_pending(settings, "fake-a", embedder=HashingEmbedder("fake-a"), batch_size=2)
    assert (report.embedded, report.skipped) == (1, 4)


def test_progress_reports_each_batch(settings: Settings) -> None:
    add(settings, [paper(i) for i in range(5)])
    progress = Recorder()
    embed_pending(
        settings, "fake-a", embedder=HashingEmbedder("fake-a"), batch_size=2, progress=progress
    )
    assert progress.phases == [("embedding", 5)] and progress.done == [2, 4, 5]
    assert progress.summaries[0].startswith("5 items with fake-a")
    again = Recorder()
    embed_pending(settings, "fake-a", embedder=HashingEmbedder("fake-a"), progress=again)
    assert again.summaries == ["nothing new (5 up to date)"]


def test_cli_embed_json_then_nothing_new(tmp_path: Path, factory: EmbedderFactory) -> None:
    home = tmp_path / "cli-home"
    settings = Settings.resolve(home, tmp_path / "none.yaml")
    add(settings, [paper(i) for i in range(3)])
    runner = CliRunner()
    args = [
        "--home",
        str(home),
        "--config",
        str(tmp_path / "none.yaml"),
        "embed",
        "--json",
        "--model",
        "fake-cli",
    ]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["embedded"] == 3
    second = runner.invoke(main, args)
    assert json.loads(second.stdout)["embedded"] == 0
    assert factory.loaded == ["fake-cli"]


def test_cli_embed_text_uses_default_model_without_sources_yaml(
    tmp_path: Path, factory: EmbedderFactory
) -> None:
    home = tmp_path / "cli-home"
    add(Settings.resolve(home, tmp_path / "none.yaml"), [paper(1)])
    result = CliRunner().invoke(
        main, ["--home", str(home), "--config", str(tmp_path / "none.yaml"), "embed"]
    )
    assert result.exit_code == 0, result.output
    assert "embedded 1 items with all-MiniLM-L6-v2" in result.stdout
    assert factory.loaded == [embed.DEFAULT_MODEL]


def test_cli_embed_help_has_an_example() -> None:
    assert main.get_command(None, "embed") is embed_command  # type: ignore[arg-type]
    result = CliRunner().invoke(main, ["embed", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output


def test_nothing_pending_imports_no_torch(tmp_path: Path) -> None:
    """The acceptance point: a run with nothing new loads no model, not even its libraries."""
    script = (
        "import sys\n"
        "from paperfeed.cli import main\n"
        f"main(['--home', {str(tmp_path)!r}, '--config', {str(tmp_path / 'x.yaml')!r}, 'embed'],"
        " standalone_mode=False)\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert "embedded 0 items" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
