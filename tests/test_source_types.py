"""A source type is one declaration: this test adds a toy type through `SourceType` alone (no
file outside tests/ changes) and checks that sources.yaml validates its options with the usual
`sources.yaml:LINE: KEY: problem` errors, that the ingest collects and stores it, and that
`paperfeed sources` shows its label."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paperfeed import Paperfeed
from paperfeed.config import SourceConfig, parse_config
from paperfeed.errors import ConfigError
from paperfeed.records import Collected, Item, SourceState
from paperfeed.settings import Settings
from paperfeed.sources import SourceType, register, source_types
from paperfeed.yamlnodes import NodeMap

COLLECTED: list[str] = []


def _read(entry: NodeMap) -> dict[str, Any]:
    topic = entry.reader.text(entry.require("topic"), entry.key("topic"))
    papers = entry.optional("papers", lambda n, k: entry.reader.integer(n, k, 1, 5), 2)
    return {"options": {"topic": topic, "papers": papers}}


def _collect(source: SourceConfig, state: SourceState, http: object) -> Collected:
    COLLECTED.append(source.name)
    topic, papers = source.options["topic"], source.options["papers"]
    items = [Item(title=f"{topic} note {n}", guid=f"toy:{topic}:{n}") for n in range(papers)]
    return Collected(items=items, requests=1)


TOY = SourceType(
    name="toy",
    options=("topic", "papers"),
    read=_read,
    collect=_collect,
    host=lambda source, state: "toy.invalid",
    label=lambda source: f"toy: {source.options['topic']}",
)


@pytest.fixture(autouse=True)
def toy_type() -> Any:
    register(TOY)
    yield
    import paperfeed.sources as sources

    sources._REGISTERED.pop("toy", None)


def _config(body: str) -> Any:
    return parse_config("sources:\n" + body, Path("sources.yaml"))


def test_the_toy_type_is_known_beside_the_builtin_ones() -> None:
    assert list(source_types()) == ["arxiv", "feed", "html", "toy"]
    [source] = _config("  - {name: t, type: toy, topic: kernels, papers: 3}\n").sources
    assert (source.type, dict(source.options)) == ("toy", {"topic": "kernels", "papers": 3})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "  - name: t\n    type: toy\n",
            "sources.yaml:2: sources[0].topic: required key is missing or empty",
        ),
        (
            "  - name: t\n    type: toy\n    topic: kernels\n    papers: 9\n",
            "sources.yaml:5: sources[0].papers: expected a whole number from 1 to 5, got 9",
        ),
        (
            "  - name: t\n    type: toy\n    topic: kernels\n    url: https://x.example/\n",
            "sources.yaml:5: sources[0].url: not an option of toy sources",
        ),
        (
            "  - name: t\n    type: tyo\n    topic: kernels\n",
            "sources.yaml:3: sources[0].type: "
            "must be arxiv, feed, html or toy (did you mean 'toy'?)",
        ),
    ],
)
def test_its_options_are_validated_with_file_line_and_key(body: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _config(body)
    assert str(raised.value).startswith(message), str(raised.value)


def test_the_ingest_collects_and_stores_it_and_sources_shows_its_label(tmp_path: Path) -> None:
    settings = Settings.resolve(tmp_path / "home", tmp_path / "sources.yaml")
    settings.config_path.write_text("sources:\n  - {name: notes, type: toy, topic: kernels}\n")
    pf = Paperfeed(settings)
    COLLECTED.clear()
    report = pf.ingest(embed=False)
    assert COLLECTED == ["notes"]
    [summary] = report.sources
    assert (summary.name, summary.type, summary.status, summary.new) == ("notes", "toy", "new", 2)
    [row] = pf.sources()
    assert (row["url"], row["items"]) == ("toy: kernels", 2)
