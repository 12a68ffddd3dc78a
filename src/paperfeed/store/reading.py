"""The learner's reading marks in DuckDB: the `marks` table.

I/O rule: only this module reads or writes `marks` (SQL with parameter binding). The workflow
around it (the JSONL log, the queue for busy times) is `paperfeed.marks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from paperfeed.records import MarkAction
from paperfeed.store.connection import as_utc

_APPLY = {
    MarkAction.READ: "UPDATE marks SET read_at = coalesce(read_at, $2), updated_at = $2 "
    "WHERE item_id = $1",
    MarkAction.UNREAD: "UPDATE marks SET read_at = NULL, updated_at = $2 WHERE item_id = $1",
    MarkAction.SAVE: "UPDATE marks SET saved_at = coalesce(saved_at, $2), updated_at = $2 "
    "WHERE item_id = $1",
    MarkAction.UNSAVE: "UPDATE marks SET saved_at = NULL, updated_at = $2 WHERE item_id = $1",
    MarkAction.UP: "UPDATE marks SET rating = 1, updated_at = $2 WHERE item_id = $1",
    MarkAction.DOWN: "UPDATE marks SET rating = -1, updated_at = $2 WHERE item_id = $1",
    MarkAction.UNRATE: "UPDATE marks SET rating = NULL, updated_at = $2 WHERE item_id = $1",
}


@dataclass(frozen=True, slots=True)
class Mark:
    item_id: int
    read_at: datetime | None
    saved_at: datetime | None
    rating: int | None

    @property
    def positive(self) -> bool:
        return self.rating != -1 and (
            self.read_at is not None or self.saved_at is not None or self.rating == 1
        )


def changes(mark: Mark | None, action: MarkAction | str) -> bool:
    """Whether applying `action` to an item marked `mark` (None: never marked) changes it."""
    read_at, saved_at, rating = (mark.read_at, mark.saved_at, mark.rating) if mark else (None,) * 3
    return {
        "read": read_at is None,
        "unread": read_at is not None,
        "save": saved_at is None,
        "unsave": saved_at is not None,
        "up": rating != 1,
        "down": rating != -1,
        "unrate": rating is not None,
    }[action]


class ReadingRepo:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def apply(self, item_id: int, action: MarkAction | str, at: datetime) -> bool:
        """Apply one mark; idempotent (a repeated `read` keeps the first read time).
        Returns whether it changed anything."""
        if action not in _APPLY:
            raise ValueError(f"unknown mark action {action!r}")
        if not changes(self.get(item_id), action):
            return False
        self.conn.execute(
            "INSERT INTO marks (item_id, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [item_id, at],
        )
        self.conn.execute(_APPLY[MarkAction(action)], [item_id, at])
        return True

    def get(self, item_id: int) -> Mark | None:
        row = self.conn.execute(
            "SELECT item_id, read_at, saved_at, rating FROM marks WHERE item_id = $1", [item_id]
        ).fetchone()
        return Mark(int(row[0]), as_utc(row[1]), as_utc(row[2]), row[3]) if row else None

    def read_ids(self) -> set[int]:
        """Ids of every item marked read (search's --unread filter and `read` field)."""
        rows = self.conn.execute("SELECT item_id FROM marks WHERE read_at IS NOT NULL").fetchall()
        return {int(row[0]) for row in rows}

    def saved_ids(self) -> set[int]:
        """Ids of every saved item (search's --saved filter and `saved` field)."""
        rows = self.conn.execute("SELECT item_id FROM marks WHERE saved_at IS NOT NULL").fetchall()
        return {int(row[0]) for row in rows}

    def all(self) -> dict[int, Mark]:
        rows = self.conn.execute(
            "SELECT item_id, read_at, saved_at, rating FROM marks ORDER BY item_id"
        ).fetchall()
        return {int(r[0]): Mark(int(r[0]), as_utc(r[1]), as_utc(r[2]), r[3]) for r in rows}

    def feedback(self) -> list[Mark]:
        """Marks that say something about taste: read, saved or rated."""
        return [m for m in self.all().values() if m.positive or m.rating == -1]
