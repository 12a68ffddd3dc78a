"""Index files damaged in place, same size (RELIABILITY E2): every kind is caught by the
manifest's per-file CRC-32 before anything is parsed, and rebuilt from DuckDB; a read-only home
searches without writing a byte."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fakes import FAKE_MODEL, HashingEmbedder
from test_index import WORDS, add_items, make_items

from paperfeed.search import files as ix
from paperfeed.store import Store


def _flip(offset: Callable[[int], int]) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        at = offset(len(data))
        return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]

    return damage


def _block(data: bytes, value: int, start: int, length: int) -> bytes:
    end = min(len(data), start + length)
    return data[:start] + bytes([value]) * (end - start) + data[end:]


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "random-bytes": lambda d: random.Random(len(d)).randbytes(len(d)),
    "all-zero": lambda d: bytes(len(d)),
    "first-bit": _flip(lambda n: 0),
    "header-byte": _flip(lambda n: min(20, n - 1)),  # inside the .npy header / faiss header
    "middle-byte": _flip(lambda n: n // 2),
    "last-byte": _flip(lambda n: n - 1),
    "zeroed-head": lambda d: _block(d, 0, 0, 128),
    "ff-block-middle": lambda d: _block(d, 0xFF, len(d) // 3, 4096),
    "halves-swapped": lambda d: d[len(d) // 2 :] + d[: len(d) // 2],
    "reversed": lambda d: d[::-1],
}
FILES = [
    "ids.npy",
    "vectors.npy",
    "hnsw.faiss",
    "bm25_data.npy",
    "bm25_indices.npy",
    "bm25_indptr.npy",
    "bm25_vocab.json",
]
APPROX = 10  # above this many vectors the index is HNSW, so hnsw.faiss exists too


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    """Shared: load_or_rebuild only reads the store."""
    s = Store.memory()
    add_items(s, make_items(60))
    yield s
    s.close()


def _results(indexes: ix.Indexes) -> list[list[int]]:
    emb = HashingEmbedder(FAKE_MODEL)
    found = []
    for i in range(6):
        query = " ".join(random.Random(i).sample(WORDS, 3))
        found.append(indexes.vectors.search(emb.query(query), 10)[0].tolist())
        found.append(indexes.keywords.search(query, 10)[0].tolist())
    return found


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("kind", DAMAGE)
def test_same_size_damage_is_detected_and_rebuilt(
    store: Store, tmp_path: Path, name: str, kind: str
) -> None:
    index_dir = tmp_path / "index"
    clean = ix.load_or_rebuild(store, index_dir, FAKE_MODEL, approx_threshold=APPROX)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    path = index_dir / manifest["generation"] / name
    before = path.read_bytes()
    damaged = DAMAGE[kind](before)
    assert len(damaged) == len(before) and damaged != before
    path.write_bytes(damaged)

    loaded = ix.load_or_rebuild(store, index_dir, FAKE_MODEL)
    assert loaded.rebuilt
    assert _results(loaded) == _results(clean)
    assert not ix.load_or_rebuild(store, index_dir, FAKE_MODEL).rebuilt  # the rebuild was saved


@contextlib.contextmanager
def read_only_mount(folder: Path) -> Iterator[None]:
    """`folder` bind-mounted read-only over itself (a chmod does not stop root)."""
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    try:
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("mount --bind is not permitted here (container without CAP_SYS_ADMIN)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("saved", [True, False], ids=["index-saved", "index-missing"])
def test_read_only_home_is_searched_without_writing(tmp_path: Path, saved: bool) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with Store.open(home / "db.duckdb") as writer:
        add_items(writer, make_items(30))
        if saved:
            ix.load_or_rebuild(writer, home / "index", FAKE_MODEL)
    before = _tree(home)
    with read_only_mount(home), Store.open(home / "db.duckdb", read_only=True) as reader:
        indexes = ix.load_or_rebuild(reader, home / "index", FAKE_MODEL)
        assert indexes.rebuilt is not saved
        assert len(indexes.vectors.search(HashingEmbedder().query("graph kernel"), 5)[0]) == 5
    assert _tree(home) == before


def test_clean_files_verify_and_load_without_rebuild(store: Store, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    ix.load_or_rebuild(store, index_dir, FAKE_MODEL, approx_threshold=APPROX)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(FILES)
    loaded = ix.load_or_rebuild(store, index_dir, FAKE_MODEL)
    assert not loaded.rebuilt and loaded.vectors.kind == "hnsw"
    assert np.asarray(loaded.vectors.ids).tolist() == store.vectors.load(FAKE_MODEL)[0].tolist()
