"""The learner's reading marks: the `marks` table, its JSONL log and the queue for busy times.

I/O rule: only this module reads or writes `marks` (SQL with parameter binding) and the two
JSONL files named by Settings: `read_marks_log` (append-only history of every mark, the one state
we cannot re-fetch) and `pending_marks` (marks made while another process held the database,
applied by `apply_pending_marks` at the next writable open; RELIABILITY D3).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from paperfeed.errors import NotFound
from paperfeed.store.connection import as_utc

if TYPE_CHECKING:
    from paperfeed.settings import Settings
    from paperfeed.store import Store

ACTIONS = ("read", "unread", "save", "unsave", "up", "down")

_APPLY = {
    "read": "UPDATE marks SET read_at = coalesce(read_at, $2), updated_at = $2 WHERE item_id = $1",
    "unread": "UPDATE marks SET read_at = NULL, updated_at = $2 WHERE item_id = $1",
    "save": "UPDATE marks SET saved_at = coalesce(saved_at, $2), updated_at = $2 "
    "WHERE item_id = $1",
    "unsave": "UPDATE marks SET saved_at = NULL, updated_at = $2 WHERE item_id = $1",
    "up": "UPDATE marks SET rating = 1, updated_at = $2 WHERE item_id = $1",
    "down": "UPDATE marks SET rating = -1, updated_at = $2 WHERE item_id = $1",
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


@dataclass(frozen=True, slots=True)
class MarkEvent:
    """One mark as the learner made it: `ref` is what they typed (id, arXiv id or URL)."""

    ref: str
    action: str
    at: datetime
    item_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "action": self.action,
            "at": self.at.isoformat(),
            "item_id": self.item_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MarkEvent:
        return cls(
            str(data["ref"]),
            str(data["action"]),
            datetime.fromisoformat(data["at"]),
            data.get("item_id"),
        )


class ReadingRepo:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def apply(self, item_id: int, action: str, at: datetime) -> None:
        """Apply one mark; idempotent (a repeated `read` keeps the first read time)."""
        if action not in _APPLY:
            raise ValueError(f"unknown mark action {action!r}")
        self.conn.execute(
            "INSERT INTO marks (item_id, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [item_id, at],
        )
        self.conn.execute(_APPLY[action], [item_id, at])

    def read_ids(self) -> set[int]:
        """Ids of every item marked read (search's --unread filter and `read` field)."""
        rows = self.conn.execute("SELECT item_id FROM marks WHERE read_at IS NOT NULL").fetchall()
        return {int(row[0]) for row in rows}

    def all(self) -> dict[int, Mark]:
        rows = self.conn.execute(
            "SELECT item_id, read_at, saved_at, rating FROM marks ORDER BY item_id"
        ).fetchall()
        return {int(r[0]): Mark(int(r[0]), as_utc(r[1]), as_utc(r[2]), r[3]) for r in rows}

    def feedback(self) -> list[Mark]:
        """Marks that say something about taste: read, saved or rated."""
        return [m for m in self.all().values() if m.positive or m.rating == -1]


# ---------------------------------------------------------------- the JSONL files


def append_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Append records, one JSON object a line, and fsync: the log survives a crash."""
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete line; a torn last line (a crash mid-append) is skipped."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def record_marks(store: Store, settings: Settings, events: Sequence[MarkEvent]) -> list[int]:
    """Resolve and apply marks in one transaction, then log them. Raises NotFound first."""
    ids = [store.items.resolve(e.ref) if e.item_id is None else e.item_id for e in events]
    with store.transaction():
        for event, item_id in zip(events, ids, strict=True):
            store.reading.apply(item_id, event.action, event.at)
    logged = [MarkEvent(e.ref, e.action, e.at, i) for e, i in zip(events, ids, strict=True)]
    append_jsonl(settings.read_marks_log, (e.as_json() for e in logged))
    return ids


def queue_marks(settings: Settings, events: Sequence[MarkEvent]) -> None:
    """Keep marks for later: the database is busy now."""
    append_jsonl(settings.pending_marks, (e.as_json() for e in events))


def apply_pending_marks(store: Store, settings: Settings) -> int:
    """Apply queued marks (call right after a writable open). Returns how many were applied.

    The queue file is renamed first, so marks queued meanwhile land in a fresh file; a renamed
    file left by a crash is picked up next time (applying a mark twice changes nothing).
    """
    queue = settings.pending_marks
    if queue.exists():
        queue.replace(queue.with_name(f"{queue.name}.{os.getpid()}.applying"))
    applied = 0
    for taken in sorted(queue.parent.glob(f"{queue.name}.*.applying")):
        events = [MarkEvent.from_json(r) for r in read_jsonl(taken)]
        applied += _apply_each(store, settings, events)
        taken.unlink()
    return applied


def _apply_each(store: Store, settings: Settings, events: Sequence[MarkEvent]) -> int:
    applied = 0
    for event in events:
        try:
            record_marks(store, settings, [event])
        except NotFound:  # the item is gone or never existed: log the mark as dropped
            append_jsonl(settings.read_marks_log, [{**event.as_json(), "dropped": True}])
            continue
        applied += 1
    return applied
