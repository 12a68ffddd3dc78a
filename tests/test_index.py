"""The FAISS/BM25 cache: built from DuckDB, written atomically, checked and rebuilt on drift.

RELIABILITY E1 (kill -9 during save_index: 0/20 unreadable, stale .tmp cleaned), E2 (5 drift
scenarios detected and rebuilt, results all in the DB, recall equal to a fresh build) and E3.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import bm25s
import numpy as np
import pytest
from fakes import FAKE_MODEL, HashingEmbedder
from hypothesis import given
from hypothesis import strategies as st

from paperfeed.records import Item
from paperfeed.search import bm25, vectors
from paperfeed.search import files as ix
from paperfeed.store import Store

WORDS = [
    "transformer",
    "attention",
    "retrieval",
    "diffusion",
    "graph",
    "kernel",
    "bandit",
    "reinforcement",
    "policy",
    "language",
    "vision",
    "speech",
    "token",
    "sparse",
    "dense",
    "quantization",
    "pruning",
    "distillation",
]


def make_items(n: int, seed: int = 0, start: int = 0) -> list[Item]:
    rng = random.Random(seed)
    items = []
    for i in range(start, start + n):
        words = rng.sample(WORDS, 5)
        items.append(
            Item(
                title=f"paper {i} on {words[0]} {words[1]}",
                summary=" ".join(words) + f" study number {i}",
                url=f"https://example.org/p/{i}",
                guid=f"g{i}",
                kind="post",
                published=datetime(2025, 1, 1 + i % 28, tzinfo=UTC),
            )
        )
    return items


def add_items(
    store: Store, items: list[Item], source: str = "blog", model: str = FAKE_MODEL
) -> list[int]:
    result = store.items.upsert(items, source)
    embedder = HashingEmbedder(model)
    stored = store.items.get_many(result.new_ids)
    vectors = embedder.encode([f"{s.title}\n\n{s.summary}" for s in stored])
    store.vectors.put(
        model, [(s.id, s.content_hash, v) for s, v in zip(stored, vectors, strict=True)]
    )
    return result.new_ids


@pytest.fixture
def store() -> Store:
    s = Store.memory()
    add_items(s, make_items(60))
    return s


def test_build_uses_db_ids_and_vectors_without_reencoding(store: Store, tmp_path: Path) -> None:
    indexes = ix.load_or_rebuild(store, tmp_path / "index", FAKE_MODEL)
    ids, matrix = store.vectors.load(FAKE_MODEL)
    assert indexes.rebuilt
    assert np.array_equal(indexes.vectors.ids, ids)
    assert np.array_equal(np.asarray(indexes.vectors.matrix), matrix)
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["model"] == FAKE_MODEL and manifest["count"] == 60
    assert manifest["dim"] == 64 and manifest["max_id"] == int(ids.max())


def test_second_load_reads_files_without_rebuild(store: Store, tmp_path: Path) -> None:
    ix.load_or_rebuild(store, tmp_path / "index", FAKE_MODEL)
    again = ix.load_or_rebuild(store, tmp_path / "index", FAKE_MODEL)
    assert not again.rebuilt
    assert isinstance(again.vectors.matrix, np.memmap)


def test_exact_search_matches_brute_force(store: Store, tmp_path: Path) -> None:
    indexes = ix.load_or_rebuild(store, tmp_path / "index", FAKE_MODEL)
    ids, matrix = store.vectors.load(FAKE_MODEL)
    q = HashingEmbedder().query("diffusion graph kernel")
    got, scores = indexes.vectors.search(q, 5)
    want = ids[np.argsort(-(matrix @ q), kind="stable")[:5]]
    assert list(got) == list(want)
    assert np.all(np.diff(scores) <= 1e-6)


def test_allowlist_limits_results(store: Store, tmp_path: Path) -> None:
    indexes = ix.load_or_rebuild(store, tmp_path / "index", FAKE_MODEL)
    allowed = [int(i) for i in indexes.vectors.ids[::7]]
    got, _ = indexes.vectors.search(HashingEmbedder().query("attention"), 50, allow_ids=allowed)
    assert sorted(int(i) for i in got) == sorted(allowed)


def test_hnsw_above_threshold_has_high_recall(store: Store, tmp_path: Path) -> None:
    add_items(store, make_items(400, seed=1, start=60))
    exact = ix.build(store, FAKE_MODEL, approx_threshold=10**9)
    approx = ix.load_or_rebuild(store, tmp_path / "index", FAKE_MODEL, approx_threshold=100)
    assert approx.vectors.kind == "hnsw" and exact.vectors.kind == "exact"
    reloaded = ix.load_or_rebuild(store, tmp_path / "index", FAKE_MODEL)
    assert reloaded.vectors.kind == "hnsw" and not reloaded.rebuilt
    queries = [
        HashingEmbedder().query(" ".join(random.Random(i).sample(WORDS, 3))) for i in range(30)
    ]
    # The fake vectors have many exact ties, so a hit counts when its score reaches the 10th
    # exact score (tie-aware recall@10).
    recall = np.mean(
        [
            np.mean(reloaded.vectors.search(q, 10)[1] >= exact.vectors.search(q, 10)[1][-1] - 1e-5)
            for q in queries
        ]
    )
    assert recall >= 0.95


def test_keyword_index_finds_exact_compound_term(tmp_path: Path) -> None:
    store = Store.memory()
    add_items(store, make_items(30))
    add_items(
        store,
        [
            Item(
                title="Scaling notes",
                summary="we evaluate GPT-4o and Llama-3.1",
                url="https://example.org/x",
                guid="x",
            )
        ],
    )
    indexes = ix.load_or_rebuild(store, tmp_path / "index", FAKE_MODEL)
    target = store.items.resolve("https://example.org/x")
    assert int(indexes.keywords.search("gpt-4o", 3)[0][0]) == target
    assert int(indexes.keywords.search("llama", 3)[0][0]) == target


def _zipf_corpus(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, 301)
    words = rng.choice(300, size=(n, 30), p=weights / weights.sum())
    return [" ".join(f"w{w}" for w in row) for row in words]


def test_keyword_scores_equal_bm25s_own_scoring() -> None:
    texts = [*_zipf_corpus(298, seed=3), "", "GPT-4o, gpt-4o and GPT"]
    ids = np.arange(10, 310, dtype=np.int64)
    kw = bm25.KeywordIndex.build(ids, texts)
    reference = bm25s.BM25()
    reference.index([bm25.tokenize(t) or [""] for t in texts], show_progress=False)
    for query in ["w0 w5 w150", "w1 w1 w299", "nothing here", "w0", "gpt-4o w3"]:
        tokens = [t for t in bm25.tokenize(query) if t in reference.vocab_dict]
        want = reference.get_scores(tokens) if tokens else np.zeros(len(ids))
        np.testing.assert_allclose(kw.scores(query), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_pruned_top_equals_ranking_every_document(seed: int) -> None:
    """Max-score pruning must return exactly the top of the full score vector, also with
    excluded rows, an allowlist, and queries of only common, only rare or mixed words."""
    texts = _zipf_corpus(500, seed=seed)
    ids = np.arange(1, 501, dtype=np.int64)
    kw = bm25.KeywordIndex.build(ids, texts)
    rng = np.random.default_rng(seed)
    exclude = rng.choice(500, size=5, replace=False)
    allow = np.sort(rng.choice(500, size=200, replace=False))
    queries = ["w0 w1", "w250 w280", "w0 w2 w120 w260", "w0 w0 w199", "w3 unknown"]
    for query in queries:
        for allow_rows, exclude_rows in [(None, None), (None, exclude), (allow, exclude)]:
            rows, total = kw.top(query, 10, allow_rows, exclude_rows)
            full = kw.scores(query)
            if allow_rows is not None:
                full[np.setdiff1d(np.arange(500), allow_rows)] = 0
            if exclude_rows is not None:
                full[exclude_rows] = 0
            np.testing.assert_allclose(total, full, rtol=1e-5, atol=1e-6)
            want = vectors.top_k(np.where(full > 0, full, -np.inf), 10)
            np.testing.assert_allclose(total[rows], full[want], rtol=1e-5)
            assert not set(rows.tolist()) & set(exclude_rows if exclude_rows is not None else [])


def test_tokenize_keeps_compounds_and_parts() -> None:
    assert sorted(bm25.tokenize("GPT-4o beats Llama-3.1")) == sorted(
        ["gpt-4o", "gpt", "4o", "beats", "llama-3.1", "llama", "3", "1"]
    )


def _reference_tokenize(text: str) -> list[str]:
    """Word by word: each word, then its parts when it is a compound."""
    tokens = []
    for word in re.findall(r"\w+(?:[-.+]\w+)*", text.lower()):
        tokens.append(word)
        parts = re.split(r"[-.+]", word)
        if len(parts) > 1:
            tokens.extend(p for p in parts if p)
    return tokens


@given(st.text(alphabet="aZé1_-.+ \t\n,", max_size=40))
def test_tokenize_counts_the_same_tokens_as_word_by_word(text: str) -> None:
    assert Counter(bm25.tokenize(text)) == Counter(_reference_tokenize(text))


@given(st.text(alphabet="aZ19_-.+ \t\n\x00\x1f,;:()[]/'\"!?", max_size=60))
def test_tokenize_counts_the_same_tokens_in_ascii_text(text: str) -> None:
    """ASCII text takes the split path (every other character a word break): same tokens."""
    assert text.isascii()
    assert Counter(bm25.tokenize(text)) == Counter(_reference_tokenize(text))


# ---------------------------------------------------------------- E2: drift


def _recall_vs_fresh(store: Store, indexes: ix.Indexes, model: str = FAKE_MODEL) -> float:
    fresh = ix.build(store, model)
    emb = HashingEmbedder(model, dim=fresh.vectors.matrix.shape[1])
    hits = total = 0
    for i in range(10):
        q = emb.query(" ".join(random.Random(100 + i).sample(WORDS, 3)))
        want = set(fresh.vectors.search(q, 10)[0])
        hits += len(want & set(indexes.vectors.search(q, 10)[0]))
        total += len(want)
    return hits / total


def _gen_file(index_dir: Path, name: str) -> Path:
    manifest = json.loads((index_dir / "manifest.json").read_text())
    return index_dir / manifest["generation"] / name


def _delete(store: Store, index_dir: Path) -> str:
    _gen_file(index_dir, "vectors.npy").unlink()
    return FAKE_MODEL


def _truncate(store: Store, index_dir: Path) -> str:
    path = _gen_file(index_dir, "vectors.npy")
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 2)
    return FAKE_MODEL


def _rows_added(store: Store, index_dir: Path) -> str:
    add_items(store, make_items(15, seed=9, start=500))
    return FAKE_MODEL


def _model_changed(store: Store, index_dir: Path) -> str:
    items = store.items.get_many(store.items.ids())
    emb = HashingEmbedder("other-model", dim=32)
    vectors = emb.encode([f"{s.title}\n\n{s.summary}" for s in items])
    store.vectors.put(
        "other-model", [(s.id, s.content_hash, v) for s, v in zip(items, vectors, strict=True)]
    )
    return "other-model"


def _text_changed_and_reembedded(store: Store, index_dir: Path) -> str:
    """Same ids, same count: only the content of a few items (and so their vectors) differs."""
    changed = [
        Item(
            title=f"paper {i} rewritten",
            summary=f"zeppelin hydrodynamics study number {i}",
            url=f"https://example.org/p/{i}",
            guid=f"g{i}",
            kind="post",
            published=datetime(2025, 1, 1 + i % 28, tzinfo=UTC),
        )
        for i in range(3)
    ]
    store.items.upsert(changed, "blog")
    stored = store.items.get_many([store.items.resolve(it.url) for it in changed])
    vectors = HashingEmbedder().encode([f"{s.title}\n\n{s.summary}" for s in stored])
    store.vectors.put(
        FAKE_MODEL, [(s.id, s.content_hash, v) for s, v in zip(stored, vectors, strict=True)]
    )
    return FAKE_MODEL


@pytest.mark.parametrize(
    "scenario",
    [_delete, _truncate, _rows_added, _model_changed, _text_changed_and_reembedded],
    ids=["index-deleted", "index-truncated", "db-rows-added", "model-changed", "reembedded"],
)
def test_drift_is_detected_and_rebuilt(store: Store, tmp_path: Path, scenario) -> None:
    index_dir = tmp_path / "index"
    ix.load_or_rebuild(store, index_dir, FAKE_MODEL)
    model = scenario(store, index_dir)
    indexes = ix.load_or_rebuild(store, index_dir, model)
    assert indexes.rebuilt
    db_ids = set(store.vectors.load(model)[0].tolist())
    assert set(indexes.vectors.ids.tolist()) == db_ids
    emb = HashingEmbedder(model, dim=indexes.vectors.matrix.shape[1])
    for i in range(5):
        got, _ = indexes.vectors.search(emb.query(WORDS[i]), 10)
        assert set(got.tolist()) <= db_ids
    assert _recall_vs_fresh(store, indexes, model) == 1.0
    ids, matrix = store.vectors.load(model)
    assert np.array_equal(np.asarray(indexes.vectors.matrix), matrix)  # no stale vector left
    assert not ix.load_or_rebuild(store, index_dir, model).rebuilt


def test_reembedded_text_is_searchable_after_reload(store: Store, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    ix.load_or_rebuild(store, index_dir, FAKE_MODEL)
    _text_changed_and_reembedded(store, index_dir)
    indexes = ix.load_or_rebuild(store, index_dir, FAKE_MODEL)
    target = store.items.resolve("https://example.org/p/0")
    assert target in indexes.keywords.search("zeppelin", 3)[0].tolist()
    query = HashingEmbedder().query("paper 0 rewritten\n\nzeppelin hydrodynamics study number 0")
    assert int(indexes.vectors.search(query, 1)[0][0]) == target


def test_deleted_manifest_or_garbage_manifest_rebuilds(store: Store, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    ix.load_or_rebuild(store, index_dir, FAKE_MODEL)
    (index_dir / "manifest.json").write_text("{not json")
    assert ix.load_or_rebuild(store, index_dir, FAKE_MODEL).rebuilt
    (index_dir / "manifest.json").unlink()
    assert ix.load_or_rebuild(store, index_dir, FAKE_MODEL).rebuilt


def test_tampered_ids_file_is_detected(store: Store, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    ix.load_or_rebuild(store, index_dir, FAKE_MODEL)
    ids = np.load(_gen_file(index_dir, "ids.npy"))
    ids[0] += 1000
    np.save(_gen_file(index_dir, "ids.npy"), ids)
    assert ix.load_or_rebuild(store, index_dir, FAKE_MODEL).rebuilt


def test_works_with_read_only_store(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    with Store.open(db) as writer:
        add_items(writer, make_items(20))
    with Store.open(db, read_only=True) as reader:
        indexes = ix.load_or_rebuild(reader, tmp_path / "index", FAKE_MODEL)
    assert len(indexes.vectors) == 20 and (tmp_path / "index" / "manifest.json").exists()


# ---------------------------------------------------------------- E1/E3: kill -9 while saving

_CHILD = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {tests!r})
    from paperfeed.search import bm25, vectors
    from paperfeed.search import files as ix
    from fakes import HashingEmbedder
    n = 3000
    ids = np.arange(1, n + 1, dtype=np.int64)
    emb = HashingEmbedder()
    texts = [f"doc {{i}} about topic {{i % 37}} and {{i % 11}}" for i in range(n)]
    mat = emb.encode(texts)
    fp = ix.Fingerprint("m", 64, n, n, "c")
    indexes = ix.Indexes(vectors.VectorIndex("m", ids, mat), bm25.KeywordIndex.build(ids, texts))
    print("ready", flush=True)
    while True:
        ix.save_index(__import__("pathlib").Path(sys.argv[1]), indexes, fp)
""")


def test_kill9_during_save_never_leaves_unreadable_index(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    tests = str(Path(__file__).parent)
    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(tests=tests))
    expected = ix.Fingerprint("m", 64, 3000, 3000, "c")
    rng = random.Random(7)
    unreadable = 0
    for _ in range(20):
        child = subprocess.Popen(
            [sys.executable, str(script), str(index_dir)],
            stdout=subprocess.PIPE,
            env={**os.environ},
        )
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait()
        if ix.read_manifest(index_dir) is not None and ix.load_index(index_dir, expected) is None:
            unreadable += 1
    assert unreadable == 0
    left = [p.name for p in index_dir.iterdir()]
    ix.cleanup(index_dir)
    after = [p.name for p in index_dir.iterdir()]
    assert not [n for n in after if n.endswith(".tmp")]
    assert ix.load_index(index_dir, expected) is not None
    assert len(after) <= len(left)


def test_stale_tmp_is_ignored_and_cleaned_up(store: Store, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    ix.load_or_rebuild(store, index_dir, FAKE_MODEL)
    (index_dir / "123-1-abc.tmp").mkdir()
    (index_dir / "123-1-abc.tmp" / "vectors.npy").write_bytes(b"torn")
    (index_dir / "manifest.json.tmp").write_bytes(b'{"generation": "123-1-abc"')
    loaded = ix.load_or_rebuild(store, index_dir, FAKE_MODEL)
    assert not loaded.rebuilt
    assert not [p for p in index_dir.iterdir() if p.name.endswith(".tmp")]


def test_e3_drift_after_commit_without_index_write_is_always_detected(tmp_path: Path) -> None:
    store = Store.memory()
    add_items(store, make_items(10))
    index_dir = tmp_path / "index"
    ix.load_or_rebuild(store, index_dir, FAKE_MODEL)
    detected = 0
    for trial in range(20):
        add_items(store, make_items(1, seed=trial, start=1000 + trial))  # committed, no save
        indexes = ix.load_or_rebuild(store, index_dir, FAKE_MODEL)
        detected += indexes.rebuilt and len(indexes.vectors) == 11 + trial
    assert detected == 20
