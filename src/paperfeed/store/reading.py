"""Repository for the reading tables. All SQL with parameter binding."""

from __future__ import annotations

import duckdb


class ReadingRepo:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def read_ids(self) -> set[int]:
        """Ids of every item marked read (search's --unread filter and `read` field)."""
        rows = self.conn.execute("SELECT item_id FROM marks WHERE read_at IS NOT NULL").fetchall()
        return {int(row[0]) for row in rows}
