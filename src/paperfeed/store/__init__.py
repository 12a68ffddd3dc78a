"""DuckDB store: the source of truth, and the only module that speaks SQL.

I/O rule: every SQL statement in paperfeed lives under `paperfeed.store`, always with parameter
binding. Each concern has its own repository object on `Store`: `items`, `sources`, `vectors`,
`reading`, `digests`, `browse` (read-only queries for the reading room). Writers keep connections
short so a search or a mark from another process waits at most a moment (see connection.connect).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import duckdb

from paperfeed.settings import LOCK_WAIT_SECONDS
from paperfeed.store.backup import wal_path
from paperfeed.store.browse import BrowseRepo
from paperfeed.store.connection import (
    applied_migrations,
    connect,
    migrate,
    transaction,
)
from paperfeed.store.digests import DigestRepo
from paperfeed.store.items import ItemRepo
from paperfeed.store.migrations import MIGRATIONS
from paperfeed.store.reading import ReadingRepo
from paperfeed.store.sources import SourceStateRepo
from paperfeed.store.vectors import VectorRepo

__all__ = ["Store", "transaction"]


class Store:
    def __init__(self, conn: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self.conn = conn
        self.path = path
        self.read_only = read_only
        self.items = ItemRepo(conn)
        self.sources = SourceStateRepo(conn)
        self.vectors = VectorRepo(conn)
        self.reading = ReadingRepo(conn)
        self.digests = DigestRepo(conn)
        self.browse = BrowseRepo(conn)

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False, wait: float = LOCK_WAIT_SECONDS) -> Store:
        """Open (creating and migrating when needed). Raises StoreBusy after `wait` seconds."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if read_only and not path.exists():
            cls.open(path, wait=wait).close()
        if not read_only and not path.exists():
            return cls._create(path, wait)
        conn = connect(path, read_only=read_only, wait=wait)
        if not read_only:
            migrate(conn)
        elif len(applied_migrations(conn)) < len(MIGRATIONS):
            # A file created by a process that died before its migrations finished, or by an
            # older paperfeed: bring it up to date once, then open it read-only as asked.
            conn.close()
            cls.open(path, wait=wait).close()
            conn = connect(path, read_only=True, wait=wait)
        return cls(conn, path, read_only)

    @classmethod
    def _create(cls, path: Path, wait: float) -> Store:
        """A new database; on any failure (a full disk) no half-made file is left behind."""
        try:
            conn = connect(path, wait=wait)
            try:
                migrate(conn)
                conn.execute("CHECKPOINT")
            except BaseException:
                conn.close()
                raise
        except BaseException:
            for leftover in (path, wal_path(path)):
                leftover.unlink(missing_ok=True)
            raise
        return cls(conn, path, read_only=False)

    @classmethod
    def memory(cls) -> Store:
        """An in-memory store for tests."""
        conn = duckdb.connect(":memory:")
        migrate(conn)
        return cls(conn, Path(":memory:"), read_only=False)

    def transaction(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """One atomic step; nested calls join the outer transaction."""
        return transaction(self.conn)

    def checkpoint(self) -> None:
        """Fold the WAL into the database file (end of every run; RELIABILITY D2)."""
        if not self.read_only:
            self.conn.execute("CHECKPOINT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
