"""Mending the one damage a kill -9 does to a DuckDB file (RELIABILITY D1).

Every checkpoint writes its new metadata into free sub-blocks of DuckDB's metadata block and
then rewrites that whole 256 KiB block in place, before the header that makes the checkpoint
count (seen with strace on DuckDB 1.5 and 2.0). SIGKILL can cut a write between pages, so a
process killed inside that one write leaves the block part new, part old: the sub-blocks the
old header reads are unchanged, only the block's checksum no longer matches its bytes, and
every later open fails. The WAL is still beside the file (a checkpoint removes it only after the
header), so recomputing that checksum gives back the last checkpoint, and the WAL replays every
commit made since: nothing is lost.

A block is mended only when the failure says a checksum does not match at a block boundary and
a non-empty WAL is there (the signs of a cut checkpoint; a damaged disk shows neither often),
and only after the file and its WAL are copied aside (`*.damaged-<time>`, never deleted). If the
mended file does not open and read in full, the damaged bytes go back.

I/O rule: this module changes the database file in one place only, the 8 checksum bytes of
the block named by the failure, and writes the damaged copies; store/backup.py does every other
copy and replacement of the database file.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np

from paperfeed.files import fsync_dir
from paperfeed.store.backup import has_wal, stamp, wal_path

HEADERS_SIZE = 3 * 4096  # DuckDB's main header and its two database headers
BLOCK_SIZE = 262144  # DuckDB's default block allocation size; paperfeed never sets another
CHECKSUM_SIZE = 8  # each block starts with the checksum of the rest of it
_CHECKSUM_SEED = 5381
_CHECKSUM_MULTIPLIER = np.uint64(0xBF58476D1CE4E5B9)

_MISMATCH = re.compile(r"does not match stored checksum \d+ in block at location (\d+)")


def block_checksum(block: bytes) -> int:
    """DuckDB's block checksum: the seed xor every little-endian 64-bit word of the block after
    its checksum, each multiplied by a constant (mod 2**64)."""
    words = np.frombuffer(block, dtype="<u8", offset=CHECKSUM_SIZE)
    with np.errstate(over="ignore"):
        mixed = words * _CHECKSUM_MULTIPLIER
    return int(np.bitwise_xor.reduce(mixed)) ^ _CHECKSUM_SEED


def torn_block(path: Path, error: BaseException) -> int | None:
    """Where the block of a checkpoint cut short begins, if `error` says that is the damage."""
    found = _MISMATCH.search(str(error))
    if found is None:
        return None
    location = int(found.group(1))
    on_boundary = location >= HEADERS_SIZE and (location - HEADERS_SIZE) % BLOCK_SIZE == 0
    inside = location + BLOCK_SIZE <= path.stat().st_size
    return location if on_boundary and inside and has_wal(path) else None


def mend_torn_checkpoint(path: Path, error: BaseException) -> Path | None:
    """Recompute the checksum of the block a cut checkpoint left behind. Returns where the
    damaged file was copied, or None when the damage is not that (the file is left as it is).
    Raises OSError while another process has the file open."""
    location = torn_block(path, error)
    if location is None:
        return None
    # One descriptor for the lock, the copy and the patch: closing any other descriptor of the
    # file would drop this process's lock on it.
    with open(path, "r+b") as handle:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        kept = _copy_aside(handle, path)
        block = os.pread(handle.fileno(), BLOCK_SIZE, location)
        _write_at(handle, location, block_checksum(block).to_bytes(CHECKSUM_SIZE, "little"))
        fcntl.lockf(handle, fcntl.LOCK_UN)
        if _reads_in_full(path):
            return kept
        _write_at(handle, location, block[:CHECKSUM_SIZE])
        return None


def _copy_aside(handle: BinaryIO, path: Path) -> Path:
    kept = path.with_name(f"{path.name}.damaged-{stamp()}")
    with open(kept, "wb") as copy:
        shutil.copyfileobj(handle, copy, 2**20)
    shutil.copyfile(wal_path(path), wal_path(kept))
    fsync_dir(path.parent)
    return kept


def _write_at(handle: BinaryIO, location: int, data: bytes) -> None:
    os.pwrite(handle.fileno(), data, location)
    os.fsync(handle.fileno())


def _reads_in_full(path: Path) -> bool:
    """Whether the file opens (read-only, the WAL replayed) and every row of every table reads:
    DuckDB checks the checksum of each block it reads."""
    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        for schema, table in conn.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary"
        ).fetchall():
            conn.table(f'"{schema}"."{table}"').fetchnumpy()  # one table in memory at a time
    except duckdb.Error:
        return False
    finally:
        conn.close()
    return True
