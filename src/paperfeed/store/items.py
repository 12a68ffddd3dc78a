"""Repository for the items tables. All SQL with parameter binding."""

from __future__ import annotations

import duckdb


class ItemRepo:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
