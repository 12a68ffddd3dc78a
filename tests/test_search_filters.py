"""Search over the learner's own library, and search that says what it did (issue 12, item 2):
--saved/--read/--area, usage errors for empty queries and unknown names, arXiv categories as
tags and sources, a header and a snippet per result; and the 5-saved-of-1,000-real-papers case."""

from __future__ import annotations

import gzip
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import shared_path
from fakes import HashingEmbedder

from paperfeed.cli import main
from paperfeed.config import DEFAULT_MODEL
from paperfeed.embed import embedder as embedder_module
from paperfeed.ingest import bulk
from paperfeed.records import Item
from paperfeed.store import Store

CONFIG = """
sources:
  - name: arXiv cs.LG
    type: arxiv
    categories: [cs.LG]
    tags: [papers]
  - name: Some blog
    type: feed
    url: https://blog.example/feed.xml
    tags: [blogs]
focus_areas:
  - name: Vision
    description: images
    keywords: [segmentation]
  - name: Language
    description: text
    keywords: [language model]
"""


def _paper(n: int, topic: str, category: str) -> Item:
    return Item(
        title=f"A study of {topic} number {n}",
        summary=f"We look at {topic}. It is hard. Results on {topic} benchmarks follow.",
        arxiv_id=f"2501.{n:05d}",
        arxiv_version=1,
        categories=(category,),
        kind="paper",
        published=datetime(2025, 1, 2, tzinfo=UTC),
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (tmp_path / "sources.yaml").write_text(CONFIG)
    monkeypatch.setenv("PAPERFEED_CONFIG", str(tmp_path / "sources.yaml"))
    embedder = HashingEmbedder(DEFAULT_MODEL)
    papers = [_paper(n, "image segmentation", "cs.CV") for n in range(1, 6)]
    papers += [_paper(n, "language model", "cs.LG") for n in range(6, 11)]
    post = Item(title="Blog post on image segmentation", url="https://blog.example/1")
    with Store.open(home / "paperfeed.duckdb") as store:
        store.items.upsert(papers, bulk.SOURCE_NAME)  # as `import arxiv-metadata` stores them
        store.items.upsert([post], "Some blog")
        stored = store.items.get_many(store.items.ids())
        store.vectors.put(
            DEFAULT_MODEL,
            [(i.id, i.content_hash, embedder.query(f"{i.title}\n\n{i.summary}")) for i in stored],
        )
    monkeypatch.setattr(embedder_module, "load_query_encoder", lambda model: embedder.query)
    return home


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def ids(result: Result) -> list[int]:
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.stdout)]


def test_saved_and_read_filters_keep_only_marked_items(home: Path) -> None:
    run("save", "2", "7")
    run("read", "7", "8")
    assert set(ids(run("search", "study", "--saved", "--json"))) == {2, 7}
    assert set(ids(run("search", "study", "--read", "--json"))) == {7, 8}
    assert ids(run("search", "study", "--saved", "--read", "--json")) == [7]
    assert set(ids(run("similar", "1", "--saved", "--json"))) == {2, 7}


def test_area_filter_in_search_and_similar(home: Path) -> None:
    vision = ids(run("search", "segmentation study", "--area", "Vision", "-k", "50", "--json"))
    assert set(vision) == {1, 2, 3, 4, 5, 11}
    assert set(ids(run("similar", "6", "--area", "language", "--json"))) == {7, 8, 9, 10}


@pytest.mark.parametrize("query", ["", "   ", "\t"])
def test_an_empty_query_is_a_usage_error(home: Path, query: str) -> None:
    result = run("search", query)
    assert result.exit_code == 2 and "query is empty" in result.output


@pytest.mark.parametrize(
    "option,typed,hint",
    [
        ("--source", "Nope", "known: "),
        ("--source", "arXiv cs.LGG", "did you mean 'arXiv cs.LG'?"),
        ("--tag", "paper", "did you mean 'papers'?"),
        ("--area", "Visoin", "did you mean 'Vision'?"),
    ],
)
def test_unknown_names_are_errors_with_a_hint(
    home: Path, option: str, typed: str, hint: str
) -> None:
    result = run("search", "study", option, typed)
    assert result.exit_code == 2 and hint in result.stderr, result.output
    assert "Traceback" not in result.output


def test_arxiv_papers_count_under_the_source_and_tags_of_their_category(home: Path) -> None:
    by_source = ids(run("search", "study", "--source", "arxiv cs.lg", "-k", "50", "--json"))
    assert set(by_source) == {6, 7, 8, 9, 10}  # bulk-imported, found under "arXiv cs.LG"
    assert set(ids(run("search", "study", "--tag", "cs.CV", "-k", "50", "--json"))) == {
        1,
        2,
        3,
        4,
        5,
    }
    assert set(ids(run("search", "study", "--tag", "papers", "-k", "50", "--json"))) == set(
        by_source
    )


def test_text_results_have_a_header_and_a_snippet(home: Path) -> None:
    result = run("search", "segmentation", "-k", "2", "--saved")
    assert result.exit_code == 0
    assert "no matches for 'segmentation' (saved)" in result.stderr
    run("save", "1", "3")
    lines = run("search", "benchmarks segmentation", "-k", "2", "--saved").stdout.splitlines()
    assert lines[0] == "2 matches for 'benchmarks segmentation' (saved)"
    assert lines[1].split()[:3] == ["id", "RS", "score"]
    assert lines[2].split()[1] == "-S" and "A study of image segmentation" in lines[2]
    assert lines[3].strip() == "Results on image segmentation benchmarks follow."


@pytest.mark.slow
def test_saved_search_over_1000_real_papers_returns_only_the_5_saved_best_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mission's "semantic search over saved papers", with the real model."""
    from paperfeed.embed.embedder import embed_pending
    from paperfeed.settings import Settings

    source = shared_path("data/arxiv_bulk/arxiv_metadata_65k.jsonl.gz")
    sample = tmp_path / "1000.jsonl"
    with gzip.open(source, "rb") as lines:
        sample.write_bytes(b"".join(itertools.islice(lines, 1000)))
    settings = Settings.resolve(tmp_path / "home", tmp_path / "none.yaml")
    with Store.open(settings.db_path) as store:
        assert bulk.import_arxiv_metadata(store, sample).read == 1000
    embed_pending(settings, DEFAULT_MODEL)
    home = ["--home", str(settings.home), "--config", str(settings.config_path)]
    query = "neural networks for language"
    everything = ids(run(*home, "search", query, "-k", "1000", "--json"))
    saved = everything[3:400:80]  # 5 papers spread over the ranking, none of the top 3
    assert len(saved) == 5
    assert run(*home, "save", *map(str, saved)).exit_code == 0
    found = ids(run(*home, "search", query, "-k", "10", "--saved", "--json"))
    assert found == saved  # only those 5, in the order the full search ranks them
