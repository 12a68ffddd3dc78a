"""Repository for the digests tables. All SQL with parameter binding."""

from __future__ import annotations

import duckdb


class DigestRepo:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
