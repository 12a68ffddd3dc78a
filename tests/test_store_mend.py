"""A checkpoint cut short by kill -9 (RELIABILITY D1): store/mend.py gives the file back.

The damage is built exactly, without racing a kill: the file and its WAL as a crash leaves them
after a commit (A), the same file after the next checkpoint (B), and A with the first pages of
its metadata block taken from B, as a write cut between pages leaves it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from paperfeed.errors import DatabaseCorrupt
from paperfeed.records import Item
from paperfeed.store import Store
from paperfeed.store.backup import wal_path
from paperfeed.store.mend import BLOCK_SIZE, HEADERS_SIZE, block_checksum

PAGE = 4096


def _item(n: int) -> Item:
    return Item(title=f"Paper {n}", summary=f"about topic {n}", url=f"https://a.example/{n}")


def _crash_images(folder: Path) -> tuple[bytes, bytes, bytes]:
    """(A, A's WAL, B): the file mid-run with commits only in its WAL, and after a checkpoint."""
    path = folder / "paperfeed.duckdb"
    with Store.open(path) as store:
        store.items.upsert([_item(n) for n in range(40)], "feed")
        store.checkpoint()
        store.items.upsert([_item(n) for n in range(40, 100)], "feed")  # in the WAL only
        a, wal = path.read_bytes(), wal_path(path).read_bytes()
        store.checkpoint()
        b = path.read_bytes()
    return a, wal, b


def _metadata_block(image: bytes) -> bytes:
    return image[HEADERS_SIZE : HEADERS_SIZE + BLOCK_SIZE]


def _torn(a: bytes, b: bytes, pages: int) -> bytes:
    start, end = HEADERS_SIZE, HEADERS_SIZE + pages * PAGE
    return a[:start] + b[start:end] + a[end:]


def _write_home(folder: Path, image: bytes, wal: bytes | None) -> Path:
    folder.mkdir(parents=True)
    path = folder / "paperfeed.duckdb"
    path.write_bytes(image)
    if wal is not None:
        wal_path(path).write_bytes(wal)
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, bytes, list[int]]:
    a, wal, b = _crash_images(tmp_path_factory.mktemp("images"))
    old, new = _metadata_block(a), _metadata_block(b)
    # what the tear relies on, checked rather than assumed: the checkpoint rewrote the block
    # A's header reads, in place, and A's copy of it was whole
    assert int.from_bytes(old[:8], "little") == block_checksum(old)
    assert old != new and int.from_bytes(new[:8], "little") == block_checksum(new)
    differing = [
        p
        for p in range(BLOCK_SIZE // PAGE)
        if old[p * PAGE : (p + 1) * PAGE] != new[p * PAGE : (p + 1) * PAGE]
    ]
    cuts = list(range(1, differing[-1] + 1))  # every cut that leaves the block part new, part old
    return a, wal, b, cuts


def test_every_cut_checkpoint_opens_with_every_commit_and_keeps_the_damaged_copy(
    tmp_path: Path,
    images: tuple[bytes, bytes, bytes, list[int]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, wal, b, cuts = images
    damaged_before = 0
    for pages in cuts:
        path = _write_home(tmp_path / f"cut{pages}", _torn(a, b, pages), wal)
        block = _metadata_block(path.read_bytes())
        damaged_before += int.from_bytes(block[:8], "little") != block_checksum(block)
        with Store.open(path, read_only=True) as store:
            assert store.items.count() == 100, pages
        kept = list(path.parent.glob("paperfeed.duckdb.damaged-*"))
        assert len(kept) == 2 and {p.read_bytes() for p in kept} == {_torn(a, b, pages), wal}
    assert damaged_before == len(cuts) > 0  # each cut did leave a checksum that fails
    assert capsys.readouterr().err.count("mended, the WAL replayed") == len(cuts)


def test_a_mended_file_takes_writes_and_checkpoints(
    tmp_path: Path, images: tuple[bytes, bytes, bytes, list[int]]
) -> None:
    a, wal, b, cuts = images
    path = _write_home(tmp_path / "home", _torn(a, b, cuts[0]), wal)
    with Store.open(path) as store:
        store.items.upsert([_item(n) for n in range(100, 120)], "feed")
        store.checkpoint()
    with Store.open(path, read_only=True) as store:
        assert store.items.count() == 120


def test_without_a_wal_the_damage_is_reported_and_the_file_left_alone(
    tmp_path: Path, images: tuple[bytes, bytes, bytes, list[int]]
) -> None:
    a, _, b, cuts = images
    torn = _torn(a, b, cuts[0])
    path = _write_home(tmp_path / "home", torn, None)
    with pytest.raises(DatabaseCorrupt, match="run `paperfeed recover`"):
        Store.open(path, read_only=True)
    assert path.read_bytes() == torn
    assert not list(path.parent.glob("*.damaged-*"))


def test_a_block_that_still_does_not_read_gets_its_damaged_bytes_back(
    tmp_path: Path, images: tuple[bytes, bytes, bytes, list[int]]
) -> None:
    a, wal, _, _ = images
    wrecked = bytearray(a)
    wrecked[HEADERS_SIZE + 8 : HEADERS_SIZE + 4 * PAGE] = bytes(4 * PAGE - 8)  # live metadata gone
    path = _write_home(tmp_path / "home", bytes(wrecked), wal)
    with pytest.raises(DatabaseCorrupt):
        Store.open(path, read_only=True)
    assert path.read_bytes() == bytes(wrecked)


def test_the_checksum_is_duckdbs_own(tmp_path: Path) -> None:
    path = tmp_path / "x.duckdb"
    with Store.open(path) as store:
        store.items.upsert([_item(1)], "feed")
        store.checkpoint()
    image = path.read_bytes()
    blocks = range(HEADERS_SIZE, len(image) - BLOCK_SIZE + 1, BLOCK_SIZE)
    assert len(blocks) >= 2
    for start in blocks:
        block = image[start : start + BLOCK_SIZE]
        if any(block):
            assert int.from_bytes(block[:8], "little") == block_checksum(block)
