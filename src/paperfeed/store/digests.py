"""Repository for the `digests`, `digest_items` and `digest_ticks` tables: what was sent, when,
under which area, and which of a digest file's boxes `paperfeed sync` has seen ticked.

I/O rule: only this module reads or writes those tables, with parameter binding. A digest and its
items are recorded (and forgotten) in one transaction, so an item is either sent (never sent
again) or back in the pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from paperfeed.store.connection import transaction


@dataclass(frozen=True, slots=True)
class SentItem:
    item_id: int
    focus_area: str | None
    rank: int
    score: float


@dataclass(frozen=True, slots=True)
class DigestSummary:
    id: int
    period: str
    window_start: datetime
    window_end: datetime
    created_at: datetime
    path: str | None
    items: int
    read: int  # items of this digest marked read afterwards
    saved: int


@dataclass(frozen=True, slots=True)
class Unwritten:
    id: int
    period: str
    path: str
    markdown: str
    items: int


_HISTORY = """
    SELECT d.id, d.period, d.window_start, d.window_end, d.created_at, d.path,
           count(di.item_id),
           count(di.item_id) FILTER (WHERE m.read_at IS NOT NULL),
           count(di.item_id) FILTER (WHERE m.saved_at IS NOT NULL)
    FROM digests d
    LEFT JOIN digest_items di ON di.digest_id = d.id
    LEFT JOIN marks m ON m.item_id = di.item_id
    GROUP BY ALL
    ORDER BY d.created_at, d.id
"""


class DigestRepo:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def record(
        self,
        *,
        period: str,
        window_start: datetime,
        window_end: datetime,
        created_at: datetime,
        path: str | None,
        items: Sequence[SentItem],
        markdown: str | None = None,
    ) -> int:
        """Record one sent digest and its items in one transaction. Returns the digest id.

        With `markdown`, the digest counts as not yet written until `mark_written`."""
        with transaction(self.conn):
            row = self.conn.execute(
                "INSERT INTO digests (period, window_start, window_end, created_at, path, markdown)"
                " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                [period, window_start, window_end, created_at, path, markdown],
            ).fetchone()
            digest_id = int(row[0]) if row else 0
            if items:
                self.conn.execute(
                    "INSERT INTO digest_items (digest_id, item_id, focus_area, rank, score) "
                    "SELECT $1, unnest($2::BIGINT[]), unnest($3::VARCHAR[]), "
                    "unnest($4::INTEGER[]), unnest($5::DOUBLE[])",
                    [
                        digest_id,
                        [i.item_id for i in items],
                        [i.focus_area for i in items],
                        [i.rank for i in items],
                        [i.score for i in items],
                    ],
                )
        return digest_id

    def mark_written(self, digest_id: int, at: datetime) -> None:
        self.conn.execute("UPDATE digests SET written_at = $2 WHERE id = $1", [digest_id, at])

    def unwritten(self) -> list[Unwritten]:
        """Digests recorded with their text whose file was not confirmed written (a crash)."""
        rows = self.conn.execute(
            "SELECT d.id, d.period, d.path, d.markdown, count(di.item_id) FROM digests d "
            "LEFT JOIN digest_items di ON di.digest_id = d.id "
            "WHERE d.markdown IS NOT NULL AND d.written_at IS NULL AND d.path IS NOT NULL "
            "GROUP BY ALL ORDER BY d.id"
        ).fetchall()
        return [Unwritten(int(i), period, path, text, int(n)) for i, period, path, text, n in rows]

    def sent_ids(self) -> set[int]:
        """Every item any earlier digest sent: they are never sent again."""
        rows = self.conn.execute("SELECT DISTINCT item_id FROM digest_items").fetchall()
        return {int(r[0]) for r in rows}

    def areas_of(self, item_ids: Sequence[int]) -> dict[int, str]:
        """The focus area each item was last sent under (items never sent are absent)."""
        if not item_ids:
            return {}
        rows = self.conn.execute(
            "SELECT di.item_id, arg_max(di.focus_area, d.created_at) FROM digest_items di "
            "JOIN digests d ON d.id = di.digest_id "
            "WHERE di.item_id IN (SELECT unnest($1::BIGINT[])) AND di.focus_area IS NOT NULL "
            "GROUP BY di.item_id",
            [list(item_ids)],
        ).fetchall()
        return {int(r[0]): str(r[1]) for r in rows}

    def placements(self, item_id: int) -> list[dict[str, Any]]:
        """Where digests placed one item, newest first: {period, area, rank, score}."""
        rows = self.conn.execute(
            "SELECT d.period, di.focus_area, di.rank, di.score FROM digest_items di "
            "JOIN digests d ON d.id = di.digest_id WHERE di.item_id = $1 "
            "ORDER BY d.created_at DESC, d.id DESC",
            [item_id],
        ).fetchall()
        return [
            {"period": r[0], "area": r[1], "rank": int(r[2]), "score": float(r[3])} for r in rows
        ]

    def sent_order(self) -> list[int]:
        """Sent item ids, newest digest first, then by rank (the reading list's order)."""
        rows = self.conn.execute(
            "SELECT di.item_id FROM digest_items di JOIN digests d ON d.id = di.digest_id "
            "ORDER BY d.created_at DESC, d.id DESC, di.rank"
        ).fetchall()
        seen: dict[int, None] = {}
        for (item_id,) in rows:
            seen.setdefault(int(item_id), None)
        return list(seen)

    def history(self) -> list[DigestSummary]:
        return [
            DigestSummary(
                int(r[0]),
                r[1],
                r[2].astimezone(UTC),
                r[3].astimezone(UTC),
                r[4].astimezone(UTC),
                r[5],
                int(r[6]),
                int(r[7]),
                int(r[8]),
            )
            for r in self.conn.execute(_HISTORY).fetchall()
        ]

    def forget(self, period: str) -> list[DigestSummary]:
        """Remove every digest recorded for `period` and its items (they can be sent again).
        Returns what was removed; the files themselves are the caller's business."""
        removed = [d for d in self.history() if d.period == period]
        ids = [d.id for d in removed]
        with transaction(self.conn):
            self.conn.execute(
                "DELETE FROM digest_items WHERE digest_id IN (SELECT unnest($1::BIGINT[]))", [ids]
            )
            self.conn.execute(
                "DELETE FROM digests WHERE id IN (SELECT unnest($1::BIGINT[]))", [ids]
            )
        return removed

    # ------------------------------------------------------------ boxes seen ticked (sync)

    def ticks_seen(self, path: str) -> set[int]:
        """Items whose box `paperfeed sync` has seen ticked in the digest file at `path`."""
        rows = self.conn.execute(
            "SELECT item_id FROM digest_ticks WHERE path = $1", [path]
        ).fetchall()
        return {int(r[0]) for r in rows}

    def set_ticks(self, path: str, ticked: Sequence[int], at: datetime) -> None:
        """The boxes ticked in `path` now: new ones remembered, unticked ones forgotten."""
        ids = sorted(set(ticked))
        with transaction(self.conn):
            self.conn.execute(
                "DELETE FROM digest_ticks WHERE path = $1 "
                "AND item_id NOT IN (SELECT unnest($2::BIGINT[]))",
                [path, ids],
            )
            if ids:
                self.conn.execute(
                    "INSERT INTO digest_ticks (path, item_id, seen_at) "
                    "SELECT $1, unnest($2::BIGINT[]), $3 ON CONFLICT DO NOTHING",
                    [path, ids, at],
                )
