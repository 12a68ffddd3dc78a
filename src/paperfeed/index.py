"""The vector and keyword indexes: derived caches of DuckDB, never a source of truth.

I/O rule: this module owns every file under `settings.index_dir` and nothing else writes there.
DuckDB is read only through `store.vectors` (ids and vectors, no re-encoding) and `store.items`
(texts for BM25). Files are written into a fresh generation folder (`<gen>.tmp`, every file
fsynced, renamed to `<gen>`, directory fsynced); `manifest.json` is written last, atomically
(temp file, fsync, `os.replace`, directory fsync), and names the generation. A crash at any
moment leaves the old manifest pointing at a complete old generation, or the new one at a
complete new generation. On load the manifest and files are checked against
`store.vectors.stats(model)`; any mismatch, missing or unreadable file means a rebuild.

    index_dir/manifest.json        model, dim, count, max_id, id/content checksums, kind, gen
    index_dir/<gen>/ids.npy        int64 item ids, ascending (DuckDB ids are the index ids)
    index_dir/<gen>/vectors.npy    float32 (count, dim), L2-normalised, memory-mapped on load
    index_dir/<gen>/hnsw.faiss     only above the approximate threshold (HNSW over row numbers)
    index_dir/<gen>/bm25_*.npy     BM25 weights, CSC: data, indices, indptr
    index_dir/<gen>/bm25_vocab.json  number of documents and the tokens, in token-id order
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from paperfeed.files import fsync_dir, write_atomic

INDEX_VERSION = 2
APPROX_THRESHOLD = 200_000  # exact numpy search below this many vectors (MEASURED.md: 1M = 39 ms)
HNSW_M = 32
HNSW_EF_SEARCH = 64  # recall@10 >= 0.95 on real MiniLM vectors: see benchmarks/bench_search.py
MANIFEST = "manifest.json"
BM25_ARRAYS = ("data", "indices", "indptr")
_EMPTY_BM25: dict[str, np.ndarray] = {
    "data": np.zeros(0, np.float32),
    "indices": np.zeros(0, np.int32),
    "indptr": np.zeros(1, np.int64),
}
# BM25: a query word found in more than this share of documents counts as common (max-score
# pruning in KeywordIndex.top); a tuning knob only, results are exact whatever its value.
COMMON_TERM_SHARE = 0.05
_WORD = re.compile(r"\w+(?:[-.+]\w+)*")
_COMPOUND = re.compile(r"\b\w++(?:[-.+]\w++)+")  # word starts only, no backtracking
_PART = re.compile(r"[^-.+ ]+")


class _Stats(Protocol):
    count: int
    max_id: int | None
    dim: int | None
    id_checksum: Any
    content_checksum: Any


class _Store(Protocol):
    vectors: Any
    items: Any


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the index was built from; compared with DuckDB on every load."""

    model: str
    dim: int
    count: int
    max_id: int
    id_checksum: str
    content_checksum: str = ""  # texts and vectors: a re-embedded item under the same id differs

    @classmethod
    def of(cls, model: str, stats: _Stats) -> Fingerprint:
        return cls(
            model,
            int(stats.dim or 0),
            int(stats.count),
            int(stats.max_id or 0),
            str(stats.id_checksum),
            str(stats.content_checksum),
        )


# ---------------------------------------------------------------- pure search structures


def tokenize(text: str) -> list[str]:
    """Lower-cased words; a compound like `GPT-4o` or `Llama-3.1` is kept whole and split too,
    so an exact model name matches exactly and its parts still match. (Whole words first, then
    the parts of every compound: BM25 only counts tokens, and three C-level regex passes are
    ~15x faster over 65k abstracts than splitting word by word.)"""
    lowered = text.lower()
    words = _WORD.findall(lowered)
    compounds = _COMPOUND.findall(lowered)
    return words + _PART.findall(" ".join(compounds)) if compounds else words


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the k highest finite scores, best first."""
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class VectorIndex:
    """Item ids and their vectors: exact inner product, or HNSW above the threshold."""

    def __init__(
        self,
        model: str,
        ids: np.ndarray,
        matrix: np.ndarray,
        hnsw: Any = None,
        ef_search: int = HNSW_EF_SEARCH,
    ) -> None:
        self.model = model
        self.ids = ids
        self.matrix = matrix
        self.hnsw = hnsw
        self.ef_search = ef_search

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def kind(self) -> str:
        return "exact" if self.hnsw is None else "hnsw"

    def rows(self, item_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Row numbers of the given ids that are in the index."""
        wanted = np.asarray(item_ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, wanted)
        pos = np.clip(pos, 0, max(len(self.ids) - 1, 0))
        found = (self.ids[pos] == wanted) if len(self.ids) else np.zeros(len(wanted), bool)
        return np.asarray(pos[found], dtype=np.int64)

    def vector(self, item_id: int) -> np.ndarray | None:
        rows = self.rows([item_id])
        return np.asarray(self.matrix[rows[0]]) if len(rows) else None

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Inner product with every vector (exact)."""
        return np.asarray(self.matrix @ np.asarray(query, dtype=np.float32).ravel())

    def search(
        self, query: np.ndarray, k: int, allow_ids: Sequence[int] | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest ids (and inner products), best first, limited to allow_ids if given."""
        if len(self.ids) == 0 or k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        if self.hnsw is not None:
            return self._search_hnsw(query, k, allow_ids)
        scores = self.scores(query)
        if allow_ids is not None:
            mask = np.full(len(scores), -np.inf, dtype=np.float32)
            rows = self.rows(allow_ids)
            mask[rows] = 0.0
            scores = scores + mask
        rows = top_k(scores, k)
        return self.ids[rows], scores[rows]

    def _search_hnsw(
        self, query: np.ndarray, k: int, allow_ids: Sequence[int] | np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        q = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if allow_ids is not None:
            rows = self.rows(allow_ids)
            if len(rows) <= 50_000:  # small allowlist: exact over the subset is fast and exact
                sub = np.asarray(self.matrix[np.sort(rows)]) @ q.ravel()
                best = top_k(sub, k)
                return self.ids[np.sort(rows)[best]], sub[best]
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                efSearch=max(self.ef_search, k), sel=faiss.IDSelectorBatch(rows)
            )
        else:
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                efSearch=max(self.ef_search, k)
            )
        dist, rows_found = self.hnsw.search(q, k, params=params)
        keep = rows_found[0] >= 0
        return self.ids[rows_found[0][keep]], dist[0][keep]


class KeywordIndex:
    """BM25 over title + summary of the same ids as the vector index.

    Kept as bm25s keeps it: the precomputed Lucene BM25 weight matrix in CSC form (`data` and
    document `indices` of each token between its `indptr` bounds) and the vocabulary; built,
    loaded and queried in numpy (tests pin the scores to bm25s's own)."""

    def __init__(
        self,
        ids: np.ndarray,
        arrays: dict[str, np.ndarray],
        vocab: dict[str, int],
    ) -> None:
        self.ids = ids
        self.arrays = arrays  # data, indices, indptr
        self.vocab = vocab

    @classmethod
    def build(cls, ids: np.ndarray, texts: Sequence[str]) -> KeywordIndex:
        if not len(texts):
            return cls(ids, _EMPTY_BM25, {})
        vocab = _Vocabulary()
        docs = [tokenize(t) or [""] for t in texts]
        token_ids = np.fromiter(
            map(vocab.__getitem__, itertools.chain.from_iterable(docs)), np.int64
        )
        lengths = np.fromiter(map(len, docs), np.int64, len(docs))
        return cls(ids, bm25_weights(token_ids, lengths, len(vocab)), dict(vocab))

    def _postings(self, query: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """(document rows, BM25 weights) of each query token in the vocabulary; a repeated token
        counts again, as in bm25s's own scoring."""
        if len(self.ids) == 0:
            return []
        indptr, rows, weights = (self.arrays[name] for name in ("indptr", "indices", "data"))
        found = []
        for token in tokenize(query):
            token_id = self.vocab.get(token)
            if token_id is not None:
                start, end = int(indptr[token_id]), int(indptr[token_id + 1])
                found.append((rows[start:end], weights[start:end]))
        return found

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document (0 where no query term occurs)."""
        total = np.zeros(len(self.ids), dtype=np.float32)
        for rows, weights in self._postings(query):
            np.add.at(total, rows, weights)
        return total

    def top(
        self,
        query: str,
        k: int,
        allow_rows: np.ndarray | None = None,
        exclude_rows: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows of the k best matching documents, best first; every document's score).

        Exact, but avoids ranking every document when a query mixes rare and very common
        words (max-score pruning): the documents holding a rare word are ranked first, and
        that ranking stands when no document holding only common words could beat its k-th
        score (the sum of the common words' largest weights is below it)."""
        postings = self._postings(query)
        common_len = max(len(self.ids) * COMMON_TERM_SHARE, 1)
        rare = [p for p in postings if len(p[0]) <= common_len]
        common = [p for p in postings if len(p[0]) > common_len]
        total = np.zeros(len(self.ids), dtype=np.float32)
        for rows, weights in rare:
            np.add.at(total, rows, weights)
        early = np.flatnonzero(total) if rare and common and allow_rows is None else None
        for rows, weights in common:
            np.add.at(total, rows, weights)
        if allow_rows is not None:
            total = _only(total, allow_rows)
        if exclude_rows is not None and len(exclude_rows):
            total[exclude_rows] = 0.0
        if early is not None:
            best = _best_rows(total, early[total[early] > 0], k)
            bound = sum(float(weights.max()) for _, weights in common)
            if len(best) == k and bound * (1 + 1e-5) < total[best[-1]]:
                return best, total
        return _best_rows(total, np.flatnonzero(total), k), total

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows, scores = self.top(query, k)
        return self.ids[rows], scores[rows]


class _Vocabulary(dict[str, int]):
    """token -> id, numbering a token the first time it is looked up (at C speed for the rest)."""

    def __missing__(self, token: str) -> int:
        self[token] = token_id = len(self)
        return token_id


def bm25_weights(
    token_ids: np.ndarray, lengths: np.ndarray, vocab_size: int, k1: float = 1.5, b: float = 0.75
) -> dict[str, np.ndarray]:
    """Lucene BM25 weight of every (token, document) pair as CSC arrays, as bm25s computes them
    (idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf / (tf + k1 (1 - b + b dl / avgdl))), but in
    numpy: bm25s builds them in Python loops (~6x slower at 65k abstracts).

    token_ids: every document's tokens concatenated; lengths: tokens per document."""
    n_docs = len(lengths)
    doc_ids = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    pairs, tf = np.unique(token_ids * n_docs + doc_ids, return_counts=True)  # token, then doc
    term, doc = pairs // n_docs, pairs % n_docs
    df = np.bincount(term, minlength=vocab_size)
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    norm = k1 * ((1 - b) + b * lengths[doc] / lengths.mean())
    return {
        "data": (idf[term] * tf / (norm + tf)).astype(np.float32),
        "indices": doc.astype(np.int32),
        "indptr": np.concatenate([[0], np.cumsum(df)]).astype(np.int64),
    }


def _only(scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    kept = np.zeros_like(scores)
    kept[rows] = scores[rows]
    return kept


def _best_rows(scores: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """The candidate rows with the k highest scores, best first."""
    return np.asarray(candidates[top_k(scores[candidates], k)], dtype=np.int64)


@dataclass
class Indexes:
    vectors: VectorIndex
    keywords: KeywordIndex
    rebuilt: bool = False  # True when this load found drift (or nothing) and rebuilt


# ---------------------------------------------------------------- atomic file writes


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            with open(path, "rb+") as fh:
                os.fsync(fh.fileno())
        else:
            fsync_dir(path)
    fsync_dir(folder)


@contextlib.contextmanager
def _writer_lock(index_dir: Path, blocking: bool = True) -> Iterator[bool]:
    """An advisory lock so two processes never clean up each other's temp folders."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_generation(folder: Path, indexes: Indexes) -> None:
    folder.mkdir(parents=True)
    vec = indexes.vectors
    np.save(folder / "ids.npy", np.ascontiguousarray(vec.ids, dtype=np.int64))
    np.save(folder / "vectors.npy", np.ascontiguousarray(vec.matrix, dtype=np.float32))
    if vec.hnsw is not None:
        import faiss

        faiss.write_index(vec.hnsw, str(folder / "hnsw.faiss"))
    keywords = indexes.keywords
    for name in BM25_ARRAYS:
        np.save(folder / f"bm25_{name}.npy", np.ascontiguousarray(keywords.arrays[name]))
    tokens: list[str | None] = [None] * (len(keywords.arrays["indptr"]) - 1)
    for token, token_id in keywords.vocab.items():
        tokens[token_id] = token  # position = token id (a gap stays None and matches nothing)
    vocab = {"num_docs": len(keywords.ids), "tokens": tokens}
    (folder / "bm25_vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    _fsync_tree(folder)


def save_index(
    index_dir: Path,
    indexes: Indexes,
    fingerprint: Fingerprint,
    approx_threshold: int = APPROX_THRESHOLD,
) -> str:
    """Write a new generation and then the manifest naming it; remove older generations."""
    with _writer_lock(index_dir):
        cleanup(index_dir, locked=True)
        gen = f"{time.time_ns()}-{os.getpid()}-{secrets.token_hex(3)}"
        tmp = index_dir / f"{gen}.tmp"
        _write_generation(tmp, indexes)
        os.replace(tmp, index_dir / gen)
        fsync_dir(index_dir)
        manifest = {
            **asdict(fingerprint),
            "version": INDEX_VERSION,
            "generation": gen,
            "kind": indexes.vectors.kind,
            "approx_threshold": approx_threshold,
            "ids_digest": _ids_digest(indexes.vectors.ids),
        }
        write_atomic(
            index_dir / MANIFEST, lambda fh: fh.write(json.dumps(manifest, indent=1).encode())
        )
        cleanup(index_dir, locked=True)
    return gen


def cleanup(index_dir: Path, locked: bool = False) -> list[str]:
    """Remove stale `*.tmp` files and folders and generations the manifest does not name."""
    if not index_dir.is_dir():
        return []
    with contextlib.ExitStack() as stack:
        if not locked and not stack.enter_context(_writer_lock(index_dir, blocking=False)):
            return []  # another process is writing: its temp files are not stale
        current = (read_manifest(index_dir) or {}).get("generation")
        removed = []
        for path in index_dir.iterdir():
            stale = path.name.endswith(".tmp") or (path.is_dir() and path.name != current)
            if stale:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
                removed.append(path.name)
        return removed


# ---------------------------------------------------------------- loading and checking


def _ids_digest(ids: np.ndarray) -> str:
    return hashlib.blake2b(
        np.ascontiguousarray(ids, dtype=np.int64).tobytes(), digest_size=16
    ).hexdigest()


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    try:
        value = json.loads((index_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def load_index(index_dir: Path, expected: Fingerprint) -> Indexes | None:
    """The saved indexes if they match `expected` and every file reads back whole, else None."""
    manifest = read_manifest(index_dir)
    if not manifest or manifest.get("version") != INDEX_VERSION:
        return None
    saved = {k: manifest.get(k) for k in asdict(expected)}
    if saved != asdict(expected):
        return None
    try:
        return _read_generation(index_dir / str(manifest["generation"]), expected, manifest)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, EOFError):
        return None


def _read_generation(
    folder: Path, expected: Fingerprint, manifest: dict[str, Any]
) -> Indexes | None:
    ids = np.load(folder / "ids.npy", allow_pickle=False)
    matrix = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
    if (
        ids.dtype != np.int64
        or len(ids) != expected.count
        or _ids_digest(ids) != manifest.get("ids_digest")
        or matrix.dtype != np.float32
        or matrix.shape != (expected.count, expected.dim)
    ):
        return None
    hnsw = None
    if manifest.get("kind") == "hnsw":
        import faiss

        hnsw = faiss.read_index(str(folder / "hnsw.faiss"))
        if hnsw.ntotal != expected.count:
            return None
    vectors = VectorIndex(expected.model, ids, matrix, hnsw)
    return Indexes(vectors, _read_keywords(folder, ids))


def _read_keywords(folder: Path, ids: np.ndarray) -> KeywordIndex:
    arrays = {
        name: np.load(folder / f"bm25_{name}.npy", mmap_mode="r", allow_pickle=False)
        for name in BM25_ARRAYS
    }
    vocab = json.loads((folder / "bm25_vocab.json").read_text())
    tokens = vocab["tokens"]
    if vocab["num_docs"] != len(ids):
        raise ValueError("bm25 files disagree with the ids")
    if len(arrays["indptr"]) != len(tokens) + 1 or len(arrays["data"]) != len(arrays["indices"]):
        raise ValueError("bm25 files disagree with each other")
    return KeywordIndex(ids, arrays, {t: i for i, t in enumerate(tokens) if t is not None})


# ---------------------------------------------------------------- building from DuckDB


def build_hnsw(matrix: np.ndarray, m: int = HNSW_M) -> Any:
    import faiss

    hnsw = faiss.IndexHNSWFlat(matrix.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    hnsw.add(np.ascontiguousarray(matrix, dtype=np.float32))
    return hnsw


def build(
    store: _Store,
    model: str,
    approx_threshold: int = APPROX_THRESHOLD,
    embedding_text: Callable[[str, str], str] | None = None,
) -> Indexes:
    """Both indexes from what DuckDB holds for `model` (vectors are read, never re-encoded)."""
    ids, matrix = store.vectors.load(model)
    ids = np.asarray(ids, dtype=np.int64)
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2:
        matrix = matrix.reshape(len(ids), -1)
    hnsw = build_hnsw(matrix) if len(ids) > approx_threshold else None
    join = embedding_text or (lambda title, summary: f"{title}\n\n{summary}")
    texts = _texts(store, ids, join)
    return Indexes(
        VectorIndex(model, ids, matrix, hnsw), KeywordIndex.build(ids, texts), rebuilt=True
    )


def _texts(store: _Store, ids: np.ndarray, join: Callable[[str, str], str]) -> list[str]:
    by_id: dict[int, str] = {}
    for start in range(0, len(ids), 20_000):
        chunk = [int(i) for i in ids[start : start + 20_000]]
        for item in store.items.get_many(chunk):
            by_id[int(item.id)] = join(item.title or "", item.summary or "")
    return [by_id.get(int(i), "") for i in ids]


def load_or_rebuild(
    store: _Store,
    index_dir: Path,
    model: str,
    *,
    approx_threshold: int | None = None,
    rebuild: bool = False,
    embedding_text: Callable[[str, str], str] | None = None,
) -> Indexes:
    """The indexes for `model`, checked against DuckDB; rebuilt and saved when they differ.

    Works with a read-only store: the rebuild only reads DuckDB, and the files are ours.
    """
    expected = Fingerprint.of(model, store.vectors.stats(model))
    if not rebuild:
        loaded = load_index(index_dir, expected)
        if loaded is not None:
            cleanup(index_dir)
            return loaded
    if approx_threshold is None:
        approx_threshold = int(
            (read_manifest(index_dir) or {}).get("approx_threshold") or APPROX_THRESHOLD
        )
    indexes = build(store, model, approx_threshold, embedding_text)
    save_index(
        index_dir, indexes, Fingerprint.of(model, store.vectors.stats(model)), approx_threshold
    )
    return indexes
