"""Dated backups of the DuckDB file, and putting one back (RELIABILITY D2).

I/O rule: this module owns the backup folder (`Settings.backup_dir`) and is the only code that
copies or replaces the database file, but for store/mend.py, which after a crash keeps a copy of
a damaged file and rewrites one block checksum. A backup is taken right after the ingest closes
its connection (a close folds the WAL into the file), so the copy is a whole database; never
while this process has the file open: closing any descriptor of a file drops every POSIX lock the
process holds on it, DuckDB's included, and another process could then open it for writing
beside ours. It is written atomically (temp file, fsync, rename); only the newest `keep` are kept.
A restore checks that the backup opens, moves the current file aside (`*.replaced-<time>`, never
deleted: it may be all that is left) and puts a copy of the backup in its place.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from paperfeed.errors import NotFound, StoreBusy, StoreError
from paperfeed.files import write_atomic

PREFIX = "paperfeed-"
SUFFIX = ".duckdb"


def backup(db_path: Path, folder: Path, keep: int, now: datetime | None = None) -> Path | None:
    """Copy the closed database into `folder`, holding a shared lock on it so that no process
    can start writing meanwhile. None when there is no file, or when a writer got in first (it
    holds the file, or left a WAL): the next ingest takes the backup."""
    if keep <= 0 or not db_path.is_file():
        return None
    target = folder / f"{PREFIX}{stamp(now)}{SUFFIX}"
    with open(db_path, "rb") as source:
        try:
            fcntl.lockf(source, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return None
        if has_wal(db_path):
            return None
        write_atomic(target, lambda handle: shutil.copyfileobj(source, handle, 2**20))
    prune(folder, keep)
    return target


def wal_path(db_path: Path) -> Path:
    """The write-ahead log DuckDB keeps beside `db_path`."""
    return db_path.with_name(db_path.name + ".wal")


def has_wal(db_path: Path) -> bool:
    """Whether commits wait in the WAL (a checkpoint or a clean close leaves none)."""
    wal = wal_path(db_path)
    return wal.is_file() and wal.stat().st_size > 0


def stamp(now: datetime | None = None) -> str:
    """UTC to the microsecond, in a form that sorts by time: backups' and set-aside files' names."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def backups(folder: Path) -> list[Path]:
    """Every backup in `folder`, oldest first (the names sort by time)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def prune(folder: Path, keep: int) -> list[Path]:
    old = backups(folder)[:-keep] if keep > 0 else []
    for path in old:
        path.unlink(missing_ok=True)
    return old


def newest(folder: Path) -> Path | None:
    found = backups(folder)
    return found[-1] if found else None


def restore(db_path: Path, backup_path: Path, now: datetime | None = None) -> Path | None:
    """Replace the database with a copy of `backup_path`. Returns where the old file went."""
    _check_backup(backup_path)
    moved = set_aside(db_path, now)
    with open(backup_path, "rb") as source:
        write_atomic(db_path, lambda handle: shutil.copyfileobj(source, handle, 2**20))
    return moved


def set_aside(db_path: Path, now: datetime | None = None) -> Path | None:
    """Move the database (and its WAL) out of the way, never deleting it; None if absent."""
    _check_not_in_use(db_path)
    when = stamp(now)
    wal = wal_path(db_path)
    moved = None
    if db_path.exists():
        moved = db_path.with_name(f"{db_path.name}.replaced-{when}")
        os.replace(db_path, moved)
    if wal.exists():
        os.replace(wal, wal.with_name(f"{wal.name}.replaced-{when}"))
    return moved


def _check_backup(path: Path) -> None:
    if not path.is_file():
        raise NotFound(f"no backup at {path}")
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"backup {path} cannot be opened: {first}") from exc


def _check_not_in_use(db_path: Path) -> None:
    """DuckDB holds an fcntl lock on the file it has open: refuse to swap it under a process."""
    if not db_path.exists():
        return
    with open(db_path, "rb+") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StoreBusy(db_path) from None
        fcntl.lockf(handle, fcntl.LOCK_UN)
