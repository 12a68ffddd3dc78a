"""Hybrid search: fusion, filters, id forms, the CLI's --json shape and D3 (busy database)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fakes import HashingEmbedder
from test_index import add_items, make_items

from paperfeed.cli import main
from paperfeed.config import DEFAULT_MODEL
from paperfeed.embed import embedder
from paperfeed.errors import NotFound
from paperfeed.records import Item
from paperfeed.search import files as ix
from paperfeed.search import hybrid as sx
from paperfeed.store import Store

MODEL = DEFAULT_MODEL  # fake vectors stored under the default name, so the CLI needs no config

NEEDLE = Item(
    title="Serving notes for small language models",
    summary="We benchmark Qwen2.5-7B-Instruct latency on one CPU.",
    url="https://example.org/needle",
    guid="needle",
    published=datetime(2025, 3, 2, tzinfo=UTC),
)
PAPER = Item(
    title="Attention is all you need",
    summary="The transformer architecture.",
    arxiv_id="1706.03762",
    arxiv_version=5,
    kind="paper",
    url="https://arxiv.org/abs/1706.03762v5",
    published=datetime(2017, 6, 12, tzinfo=UTC),
)


def fill(store: Store) -> dict[str, int]:
    add_items(store, make_items(80), source="blog-a", model=MODEL)
    add_items(store, make_items(40, seed=3, start=80), source="blog-b", model=MODEL)
    needle = add_items(store, [NEEDLE], source="blog-b", model=MODEL)[0]
    paper = add_items(store, [PAPER], source="arxiv", model=MODEL)[0]
    return {"needle": needle, "paper": paper}


@pytest.fixture
def world(tmp_path: Path) -> tuple[Store, ix.Indexes, dict[str, int]]:
    store = Store.memory()
    ids = fill(store)
    return store, ix.load_or_rebuild(store, tmp_path / "index", MODEL), ids


def encoder() -> HashingEmbedder:
    return HashingEmbedder(MODEL)


# ---------------------------------------------------------------- pure fusion


def test_minmax_and_ranks() -> None:
    assert list(sx.minmax(np.array([2.0, 4.0, 3.0]))) == [0.0, 1.0, 0.5]
    assert list(sx.ranks(np.array([0.1, 0.9, 0.5]))) == [3, 1, 2]


def test_convex_alpha_endpoints_are_single_signals() -> None:
    dense, kw = np.array([0.9, 0.1, 0.5]), np.array([0.0, 7.0, 1.0])
    assert np.argmax(sx.fuse(dense, kw, sx.Fusion(alpha=1.0))) == 0
    assert np.argmax(sx.fuse(dense, kw, sx.Fusion(alpha=0.0))) == 1


def test_rrf_prefers_items_ranked_well_by_both() -> None:
    dense, kw = np.array([0.9, 0.8, 0.0, 0.1]), np.array([0.1, 3.0, 4.0, 0.2])
    assert np.argmax(sx.fuse(dense, kw, sx.Fusion(method="rrf", alpha=0.5))) == 1


def test_exact_model_name_found_by_bm25_missed_by_dense_is_surfaced(world) -> None:
    store, indexes, ids = world
    query = "Qwen2.5-7B-Instruct"

    def blind(text: str) -> np.ndarray:  # a dense model that has never seen this name
        return encoder().query(re.sub(r"\S*\d\S*", "", text))

    dense_top, _ = indexes.vectors.search(blind(query), 10)
    kw_top, _ = indexes.keywords.search(query, 10)
    assert ids["needle"] not in set(dense_top.tolist())
    assert int(kw_top[0]) == ids["needle"]
    hits = sx.search(store, indexes, blind, query, k=5)
    assert hits[0].id == ids["needle"]


def test_dense_only_results_come_back_above_the_floor(world) -> None:
    store, indexes, _ = world
    no_floor = sx.Fusion(dense_floor=-1.0)
    hits = sx.search(store, indexes, encoder().query, "zzzunseenword", 5, fusion=no_floor)
    assert len(hits) == 5  # no BM25 match at all: dense candidates still ranked


def test_a_query_nothing_names_nor_resembles_matches_nothing(world) -> None:
    store, indexes, _ = world
    vector = encoder().query("zzzunseenword")
    best = float(np.max(indexes.vectors.scores(vector)))
    above = sx.Fusion(dense_floor=best + 1e-3)
    assert sx.search(store, indexes, encoder().query, "zzzunseenword", 5, fusion=above) == []
    at_best = sx.Fusion(dense_floor=best - 1e-3)
    assert len(sx.search(store, indexes, encoder().query, "zzzunseenword", 5, fusion=at_best)) == 1


# ---------------------------------------------------------------- filters and similar


def test_filters_source_dates_unread(world) -> None:
    store, indexes, ids = world
    q = encoder().query
    by_source = sx.search(store, indexes, q, "attention retrieval", 50, sx.Filters(source="blog-b"))
    assert by_source and all("blog-b" in h.sources for h in by_source)
    dated = sx.search(
        store,
        indexes,
        q,
        "transformer",
        50,
        sx.Filters(since=date(2025, 1, 3), until=date(2025, 1, 5)),
    )
    assert dated and all("2025-01-03" <= (h.published or "") <= "2025-01-05" for h in dated)
    first = sx.search(store, indexes, q, "transformer", 3)
    store.conn.execute(
        "INSERT INTO marks (item_id, read_at, updated_at) VALUES (?, now(), now())", [first[0].id]
    )
    unread = sx.search(store, indexes, q, "transformer", 50, sx.Filters(unread=True))
    assert first[0].id not in {h.id for h in unread}
    marked = sx.search(store, indexes, q, "transformer", 3)
    assert marked[0].read and marked[0].id == first[0].id


def test_tag_filter_uses_source_tags(world) -> None:
    store, indexes, _ = world
    tags = {"blog-a": ("nlp",), "arxiv": ("papers",)}
    hits = sx.search(
        store,
        indexes,
        encoder().query,
        "transformer attention",
        20,
        sx.Filters(tag="papers"),
        sx.Context(tags_of=lambda item: tags.get(item.sources[0], ())),
    )
    assert [h.sources for h in hits] == [("arxiv",)]


@pytest.mark.parametrize(
    "ref",
    [
        "1706.03762",
        "1706.03762v5",
        "arXiv:1706.03762v2",
        "https://arxiv.org/abs/1706.03762v5",
        "paper-id",
    ],
)
def test_similar_accepts_every_id_form(world, ref: str) -> None:
    store, indexes, ids = world
    ref = str(ids["paper"]) if ref == "paper-id" else ref
    hits = sx.similar(store, indexes, ref, k=5)
    assert len(hits) == 5 and ids["paper"] not in {h.id for h in hits}


def test_similar_unknown_ref_is_not_found(world) -> None:
    store, indexes, _ = world
    with pytest.raises(NotFound):
        sx.similar(store, indexes, "9999.99999", k=5)


# ---------------------------------------------------------------- CLI


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    with Store.open(home / "paperfeed.duckdb") as store:
        fill(store)
    monkeypatch.setattr(embedder, "load_query_encoder", lambda model: encoder().query)
    return home


def test_cli_search_json_shape(home: Path) -> None:
    result = CliRunner().invoke(main, ["search", "Qwen2.5-7B-Instruct study", "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 3
    keys = {"id", "arxiv_id", "title", "url", "source", "sources", "published", "score", "read"}
    assert all(set(r) == keys | {"saved", "snippet"} for r in rows)
    assert rows[0]["title"] == NEEDLE.title and rows[0]["read"] is False


def test_cli_similar_by_arxiv_id_and_text_output(home: Path) -> None:
    result = CliRunner().invoke(main, ["similar", "1706.03762v1", "-k", "2"])
    assert result.exit_code == 0, result.output
    header, columns, *rows = result.output.strip().splitlines()
    assert header == "2 matches like 1706.03762v1" and columns.split()[:3] == ["id", "RS", "score"]
    assert len([r for r in rows if not r.startswith(" " * 18)]) == 2  # the rest are snippets


def test_cli_similar_unknown_is_one_line_error(home: Path) -> None:
    result = CliRunner().invoke(main, ["similar", "https://nowhere.example/x"])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_cli_reindex_rebuilds(home: Path) -> None:
    result = CliRunner().invoke(main, ["reindex", "--approx-threshold", "10"])
    assert result.exit_code == 0 and "(hnsw)" in result.output
    manifest = json.loads((home / "index" / "manifest.json").read_text())
    assert manifest["kind"] == "hnsw" and manifest["count"] == 122


_HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from paperfeed.store import Store
    with Store.open(Path(sys.argv[1])) as store:
        print("holding", flush=True)
        time.sleep(60)
""")


@pytest.fixture
def writer(home: Path, tmp_path: Path):
    script = tmp_path / "holder.py"
    script.write_text(_HOLDER)
    child = subprocess.Popen(
        [sys.executable, str(script), str(home / "paperfeed.duckdb")], stdout=subprocess.PIPE
    )
    assert child.stdout is not None and child.stdout.readline().strip() == b"holding"
    yield child
    child.kill()
    child.wait()


def test_d3_search_while_writer_holds_db_says_busy(writer, monkeypatch) -> None:
    monkeypatch.setenv("PAPERFEED_LOCK_WAIT", "0.2")
    outcomes = []
    for _ in range(20):
        result = CliRunner().invoke(main, ["search", "transformer"])
        outcomes.append(
            (
                result.exit_code,
                "database busy" in result.output,
                result.exception is None or isinstance(result.exception, SystemExit),
            )
        )
    assert outcomes == [(75, True, True)] * 20


def test_d3_subprocess_prints_busy_without_traceback(writer) -> None:
    env = {**os.environ, "PAPERFEED_LOCK_WAIT": "1"}
    code = "from paperfeed.cli import main; main()"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, "search", "attention"],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert time.monotonic() - started <= 10
    assert done.returncode == 75
    assert "database busy" in done.stderr and "Traceback" not in done.stderr + done.stdout


_LIGHT = textwrap.dedent("""
    import sys
    from paperfeed.cli import main
    try:
        main(sys.argv[1:], standalone_mode=False)
    finally:
        heavy = ("httpx", "paperfeed.ingest", "paperfeed.ingest.bulk", "paperfeed.digest.rank",
                 "bm25s", "scipy", "torch", "sentence_transformers", "prefect")
        print("HEAVY", sorted(m for m in heavy if m in sys.modules))
""")


def test_cold_similar_imports_only_the_search_path(home: Path) -> None:
    """A fresh `paperfeed similar` (the search path minus the query encoder) imports neither
    the other commands' stacks nor bm25s/scipy/torch: their import time is most of a cold
    search's budget."""
    done = subprocess.run(
        [sys.executable, "-c", _LIGHT, "--home", str(home), "similar", "1706.03762", "-k", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Attention" not in done.stdout.splitlines()[0]  # the paper itself is left out
    assert done.stdout.strip().splitlines()[-1] == "HEAVY []"
