"""Repository for the vectors tables. All SQL with parameter binding."""

from __future__ import annotations

import duckdb


class VectorRepo:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
