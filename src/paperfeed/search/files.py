"""The vector and keyword indexes: derived caches of DuckDB, never a source of truth.

I/O rule: this module owns every file under `settings.index_dir` and nothing else writes there.
DuckDB is read only through `store.vectors` (ids and vectors, no re-encoding) and `store.items`
(texts for BM25). Files are written into a fresh generation folder (`<gen>.tmp`, every file
fsynced, renamed to `<gen>`, directory fsynced); `manifest.json` is written last, atomically
(temp file, fsync, `os.replace`, directory fsync), and names the generation. A crash at any
moment leaves the old manifest pointing at a complete old generation, or the new one at a
complete new generation. On load the manifest and files are checked against
`store.vectors.stats(model)`, and every file's size and CRC-32 against the manifest before a
byte of it is parsed; any mismatch, missing or unreadable file means a rebuild. A home that
cannot be written (a read-only mount) is searched from the files, or from an in-memory rebuild,
without taking the lock or writing anything.

    index_dir/manifest.json        model, dim, count, max_id, id/content checksums, kind, gen,
                                   files: {name: [size, crc32]}
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
import json
import os
import secrets
import shutil
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from tokenize import TokenError
from typing import Any, Protocol

import numpy as np

from paperfeed.files import fsync_dir, write_atomic
from paperfeed.search.bm25 import BM25_ARRAYS, KeywordIndex
from paperfeed.search.vectors import VectorIndex

INDEX_VERSION = 3  # 3: per-file sizes and CRC-32s in the manifest
APPROX_THRESHOLD = 200_000  # exact numpy search below this many vectors (MEASURED.md: 1M = 39 ms)
HNSW_M = 32
MANIFEST = "manifest.json"
_CHUNK = 4 * 2**20
# what a damaged file can make numpy, faiss or json raise while it is read back
_UNREADABLE: tuple[type[Exception], ...] = (OSError, ValueError, RuntimeError, KeyError)
_UNREADABLE += (TypeError, EOFError, SyntaxError, TokenError, IndexError, MemoryError)


@dataclass
class Indexes:
    """The two indexes of one model over the same ids: what `load_or_rebuild` returns."""

    vectors: VectorIndex
    keywords: KeywordIndex
    rebuilt: bool = False  # True when this load found drift (or nothing) and rebuilt


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
            "files": _file_checksums(index_dir / gen),
        }
        write_atomic(
            index_dir / MANIFEST, lambda fh: fh.write(json.dumps(manifest, indent=1).encode())
        )
        cleanup(index_dir, locked=True)
    return gen


def cleanup(index_dir: Path, locked: bool = False) -> list[str]:
    """Remove stale `*.tmp` files and folders and generations the manifest does not name."""
    if not index_dir.is_dir() or not writable(index_dir):
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


def writable(index_dir: Path) -> bool:
    """False on a read-only mount (or without permission): search then writes nothing."""
    folder = index_dir
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK)


# ---------------------------------------------------------------- loading and checking


def _ids_digest(ids: np.ndarray) -> str:
    return hashlib.blake2b(
        np.ascontiguousarray(ids, dtype=np.int64).tobytes(), digest_size=16
    ).hexdigest()


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def _file_checksums(folder: Path) -> dict[str, list[int]]:
    """Size and CRC-32 of every file of a generation, as written (CRC-32: ~1 GB/s, and any
    accidental damage, even one bit, changes it)."""
    return {p.name: [p.stat().st_size, _crc32(p)] for p in sorted(folder.iterdir())}


def _files_intact(folder: Path, expected: Any) -> bool:
    if not isinstance(expected, dict) or not expected:
        return False
    present = {p.name: p for p in folder.iterdir()}
    if set(present) != set(expected):
        return False
    sizes_match = all(present[n].stat().st_size == v[0] for n, v in expected.items())
    return sizes_match and all(_crc32(present[n]) == v[1] for n, v in expected.items())


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
    folder = index_dir / str(manifest.get("generation"))
    try:
        if not _files_intact(folder, manifest.get("files")):
            return None
        return _read_generation(folder, expected, manifest)
    except _UNREADABLE:
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
    The stats are read once, before the build: a writer that lands meanwhile leaves the saved
    fingerprint older than the index, so the next load rebuilds (read after the build, a newer
    fingerprint could vouch for an index built from older vectors).
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
    if writable(index_dir):
        save_index(index_dir, indexes, expected, approx_threshold)
    return indexes
