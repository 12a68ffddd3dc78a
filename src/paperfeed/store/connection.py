"""The DuckDB connection: opening with a bounded wait for the file lock, migrations, transactions.

DuckDB lets one process hold the file for writing and then refuses every other open, even
read-only, at once. We retry that refusal with backoff for up to `wait` seconds and then raise
StoreBusy, whose one-line message the CLI prints. `storage_fault` turns what DuckDB or the file
system raise for a full disk, a damaged file or a read-only home into one typed StoreError
each, with its own exit code and what to do next.
"""

from __future__ import annotations

import errno
import sys
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from paperfeed.errors import DatabaseCorrupt, DiskFull, ReadOnlyHome, StoreBusy, StoreError
from paperfeed.settings import LOCK_WAIT_SECONDS
from paperfeed.store.mend import mend_torn_checkpoint
from paperfeed.store.migrations import MIGRATIONS

_CORRUPT = (
    "corrupt database file",
    "not a valid duckdb database file",
    "could not read enough bytes",
    "does not match stored checksum",
    "database has been invalidated",
)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def storage_fault(exc: BaseException, home: Path) -> StoreError | None:
    """The typed error for a storage fault raised by DuckDB or the OS, or None if it is not one."""
    if not isinstance(exc, duckdb.Error | OSError):
        return None
    code = exc.errno if isinstance(exc, OSError) else None
    text = str(exc).lower()
    if code == errno.ENOSPC or "no space left on device" in text:
        return DiskFull(
            f"disk full while writing in {home}: free some space and run the command again "
            "(nothing was half-written; the last complete state is kept)"
        )
    if code == errno.EROFS or "read-only file system" in text:
        return ReadOnlyHome(
            f"{home} is on a read-only file system: search, similar, list and status still "
            "work; for this command make it writable or pass --home"
        )
    if isinstance(exc, duckdb.Error) and any(marker in text for marker in _CORRUPT):
        return DatabaseCorrupt(
            f"the database in {home} is damaged ({_first_line(exc)}): run `paperfeed recover` "
            "to rebuild it from the newest backup and read_marks.jsonl"
        )
    return None


def _is_lock_error(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def _quiet(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """DuckDB's progress bar prints to stdout even without a TTY, breaking --json output."""
    conn.execute("SET enable_progress_bar = false")
    return conn


def connect(
    path: Path, *, read_only: bool = False, wait: float = LOCK_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """Open `path`, retrying a lock held by another process for up to `wait` seconds."""
    deadline = time.monotonic() + wait
    delay = 0.05
    mended = False
    while True:
        try:
            return _quiet(duckdb.connect(str(path), read_only=read_only))
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                if not mended and _mend(path, exc):
                    mended = True
                    continue
                fault = storage_fault(exc, path.parent)
                message = f"{path}: cannot open the database: {_first_line(exc)}"
                raise fault or StoreError(message) from exc
            if time.monotonic() + delay > deadline:
                raise StoreBusy(path) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _mend(path: Path, exc: duckdb.Error) -> bool:
    """Mend a checkpoint a kill cut short (store/mend.py), saying so on stderr."""
    try:
        kept = mend_torn_checkpoint(path, exc)
    except OSError:
        return False
    if kept is not None:
        print(
            f"paperfeed: {path} was left damaged by a checkpoint cut short; mended, the WAL "
            f"replayed (the damaged copy is kept as {kept.name})",
            file=sys.stderr,
        )
    return kept is not None


def applied_migrations(conn: duckdb.DuckDBPyConnection) -> set[str]:
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return set()
    return {row[0] for row in conn.execute("SELECT name FROM schema_migrations").fetchall()}


def migrate(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction. Returns their names."""
    done = applied_migrations(conn)
    if len(done) == len(MIGRATIONS):
        return []
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        with transaction(conn):
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (name) VALUES (?)", [name])
        applied.append(name)
    return applied


_open_transactions: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception. Re-entrant: an inner block joins the
    outer transaction (DuckDB has no nested transactions), so a repository method that is
    atomic on its own can also be part of a larger atomic step."""
    depth = _open_transactions.get(conn, 0)
    if depth:
        _open_transactions[conn] = depth + 1
        try:
            yield conn
        finally:
            _open_transactions[conn] = depth
        return
    conn.execute("BEGIN TRANSACTION")
    _open_transactions[conn] = 1
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        _open_transactions.pop(conn, None)
    conn.execute("COMMIT")


def rows_as_dicts(cursor: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def as_utc(value: datetime | None) -> datetime | None:
    """DuckDB hands TIMESTAMPTZ back in the session's time zone; paperfeed speaks UTC."""
    return None if value is None else value.astimezone(UTC)
