"""Example papers of a focus area: the sources.yaml edit, fetching what the store lacks from a
local arXiv stand-in, and the examples counting as reads in the digest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fakes import FakeHttp, HashingEmbedder
from server import FixtureServer, static
from test_arxiv_fake import EPOCH, Paper, atom
from test_digest import NOW, config, fill, options, paper

from paperfeed.cli import main
from paperfeed.config import FocusArea, load_config, parse_config
from paperfeed.digest.gather import gather
from paperfeed.errors import ConfigError
from paperfeed.examples import add_examples, with_examples
from paperfeed.records import FetchResponse
from paperfeed.store import Store

CONFIG = """\
# my sources
sources:
  - name: Papers
    type: arxiv
    categories: [cs.LG]
    base_url: {base_url}
    allow_private: true
focus_areas:
  # what I study
  - name: NLP
    description: language models
  - name: Vision
    description: images
    examples:
      - 2603.00001   # the first one I liked
  - name: Search
    description: ranking
    examples: [2603.00002]
"""
PATH = Path("sources.yaml")


def areas_after(text: str, name: str, new: list[str]) -> tuple[str, ...]:
    updated = with_examples(text, PATH, name, new)
    assert "# what I study" in updated and "# the first one I liked" in updated
    return next(a.examples for a in parse_config(updated, PATH).focus_areas if a.name == name)


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ("NLP", ("2603.00007", "https://example.org/p")),  # no `examples:` yet
        ("Vision", ("2603.00001", "2603.00007", "https://example.org/p")),  # a block list
        ("Search", ("2603.00002", "2603.00007", "https://example.org/p")),  # a [...] list
    ],
)
def test_examples_are_appended_in_every_layout_and_comments_stay(area, expected) -> None:
    text = CONFIG.format(base_url="https://export.arxiv.org/api/query")
    assert areas_after(text, area, ["2603.00007", "https://example.org/p"]) == expected


def test_an_unknown_area_is_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError, match="unknown focus area 'Vison'.*'Vision'"):
        with_examples(CONFIG.format(base_url="https://x.example/api"), PATH, "Vison", ["1"])


def _atom_of(*ids: str) -> bytes:
    papers = [Paper(i, EPOCH) for i in ids]
    return atom(papers, total=len(papers), start=0, per_page=len(papers))


def test_examples_not_in_the_store_are_fetched_by_id_and_stored(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(CONFIG.format(base_url="http://127.0.0.1:9/api/query"))
    http = FakeHttp(
        FetchResponse(url="http://127.0.0.1:9/api/query", status=200, body=_atom_of("2603.00007"))
    )
    with Store.memory() as store:
        report = add_examples(load_config(path), "NLP", ["2603.00007v3"], store, http)  # type: ignore[arg-type]
        assert store.items.get(store.items.resolve("2603.00007")) is not None
    ((url, kwargs),) = http.calls
    assert "id_list=2603.00007" in url and kwargs["gate"] == "arxiv"
    assert report.added == ["2603.00007"] and report.fetched == ["2603.00007"]
    assert next(a for a in load_config(path).focus_areas if a.name == "NLP").examples == (
        "2603.00007",
    )


def test_cli_add_example_fetches_from_a_local_arxiv_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    with FixtureServer() as srv:
        srv.routes["/api/query"] = static(_atom_of("2603.00008"))
        path.write_text(CONFIG.format(base_url=srv.url("/api/query")))
        args = ["--home", str(tmp_path / "home"), "--config", str(path), "area", "add-example"]
        first = CliRunner().invoke(main, [*args, "Vision", "2603.00008", "--json"])
        again = CliRunner().invoke(main, [*args, "Vision", "https://arxiv.org/abs/2603.00008v2"])
        hits = srv.hits["/api/query"]
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["fetched"] == ["2603.00008"]
    assert again.exit_code == 0 and "already an example" in again.stdout
    assert hits == 1  # the second run found it in the store
    vision = next(a for a in load_config(path).focus_areas if a.name == "Vision")
    assert vision.examples == ("2603.00001", "2603.00008")


def test_cli_refuses_what_is_not_a_paper_reference_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(CONFIG.format(base_url="http://127.0.0.1:9/api/query"))
    args = ["--home", str(tmp_path / "home"), "--config", str(path), "area", "add-example"]
    result = CliRunner().invoke(main, [*args, "NLP", "not a paper"])
    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == [
        f"error: {path}:10: focus_areas[0].examples: 'not a paper' is not an arXiv id "
        "(2104.12255, v2 allowed) or a URL"
    ]


def test_examples_count_as_reads_of_their_area_from_day_one() -> None:
    store, embedder = Store.memory(), HashingEmbedder()
    old = [paper(n, "image segmentation pixels camera", days=30) for n in range(3)]
    fill(store, embedder, old + [paper(10 + n, "language models text") for n in range(20)], "arxiv")
    base = config(embedder.model_name)
    vision = FocusArea("Vision", "images, segmentation", examples=("2603.00000", "2603.00001"))
    areas = (base.focus_areas[0], vision, base.focus_areas[2])
    cfg = type(base)(path=base.path, model=base.model, focus_areas=areas, sources=base.sources)
    inputs = gather(store, cfg, embedder.query, options(), now=NOW)
    assert inputs.feedback is not None
    read = inputs.feedback.labels > 0
    assert read.sum() == 2 and (inputs.feedback.areas[read] == 1).all()
    assert {i.arxiv_id for i in inputs.feedback_items} == {"2603.00000", "2603.00001"}
    assert not np.isin([i.id for i in inputs.items], [i.id for i in inputs.feedback_items]).any()


def test_area_commands_have_help_with_an_example() -> None:
    for args in (["area", "--help"], ["area", "add-example", "--help"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0 and "Example:" in result.output
        assert "paperfeed area add-example" in result.output
