"""The learner's marks as a workflow: record them, log them, queue them while the database is busy,
and the views built on them (the reading list, the weekly progress).

I/O rule: the `marks` table is `store.reading`'s; this module reads and writes only the two JSONL
files named by Settings: `read_marks_log` (append-only history of every mark, the one state we
cannot re-fetch) and `pending_marks` (marks made while another process held the database,
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

from paperfeed.digest.rank import keyword_area
from paperfeed.errors import NotFound, StoreBusy
from paperfeed.records import MarkAction
from paperfeed.store import Store
from paperfeed.store.reading import Mark

if TYPE_CHECKING:
    from paperfeed.config import FocusArea
    from paperfeed.settings import Settings
    from paperfeed.store.items import StoredItem

KeywordAreas = Sequence[tuple[str, Sequence[str]]]  # (focus area name, its keywords)


@dataclass(frozen=True, slots=True)
class MarkEvent:
    """One mark as the learner made it: `ref` is what they typed (id, arXiv id or URL)."""

    ref: str
    action: MarkAction
    at: datetime
    item_id: int | None = None
    key: str | None = None  # the item's canonical key: ids are not kept by a rebuilt database

    def as_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "action": self.action,
            "at": self.at.isoformat(),
            "item_id": self.item_id,
            "key": self.key,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MarkEvent:
        return cls(
            str(data["ref"]),
            MarkAction(str(data["action"])),
            datetime.fromisoformat(data["at"]),
            data.get("item_id"),
            data.get("key"),
        )


@dataclass(frozen=True, slots=True)
class MarkResult:
    """What one mark did: `changed` is False when the item already was in that state."""

    ref: str
    item_id: int
    action: MarkAction
    changed: bool
    title: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "id": self.item_id,
            "action": self.action,
            "changed": self.changed,
            "title": self.title,
        }


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


def resolve_all(store: Store, refs: Sequence[str]) -> list[int]:
    """Item ids of every ref; NotFound names every ref that matches no item."""
    ids, missing = [], []
    for ref in refs:
        try:
            ids.append(store.items.resolve(ref))
        except NotFound:
            missing.append(ref)
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise NotFound(
            f"no item matches {names}: use short ids from `paperfeed search` or `list`, "
            "arXiv ids or URLs"
        )
    return ids


def record_marks(store: Store, settings: Settings, events: Sequence[MarkEvent]) -> list[MarkResult]:
    """Resolve and apply marks in one transaction, then log them. When any ref matches no item,
    NotFound names each one and nothing is marked."""
    unresolved = [e.ref for e in events if e.item_id is None]
    resolved = iter(resolve_all(store, unresolved))
    ids = [e.item_id if e.item_id is not None else next(resolved) for e in events]
    items = {item.id: item for item in store.items.get_many(sorted(set(ids)))}
    with store.transaction():
        outcomes = [
            MarkResult(e.ref, i, e.action, store.reading.apply(i, e.action, e.at), items[i].title)
            for e, i in zip(events, ids, strict=True)
        ]
    logged = [
        MarkEvent(e.ref, e.action, e.at, i, items[i].key) for e, i in zip(events, ids, strict=True)
    ]
    append_jsonl(settings.read_marks_log, (e.as_json() for e in logged))
    return outcomes


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


# ---------------------------------------------------------------- marking, with the busy fallback


@dataclass(frozen=True, slots=True)
class MarkOutcome:
    """What one `mark` call did: each mark's result, or how many marks it queued."""

    action: MarkAction
    results: list[MarkResult]
    queued: int = 0

    @property
    def ids(self) -> list[int]:
        return [r.item_id for r in self.results]


def mark(
    settings: Settings,
    refs: Sequence[str],
    action: MarkAction | str,
    now: datetime,
    *,
    queue: bool = False,
) -> MarkOutcome:
    """Apply marks now, or queue them when another process holds the database (after the usual
    wait) or `queue` says it was just found busy: a mark is never lost (RELIABILITY D3).
    Raises NotFound naming every unknown ref, and then marks nothing."""
    action = MarkAction(action)
    events = [MarkEvent(ref, action, now) for ref in refs]
    store = None if queue else _open_unless_busy(settings)
    if store is None:
        queue_marks(settings, events)
        return MarkOutcome(action, [], queued=len(events))
    with store:
        apply_pending_marks(store, settings)
        return MarkOutcome(action, record_marks(store, settings, events))


def _open_unless_busy(settings: Settings) -> Store | None:
    try:
        return Store.open(settings.db_path, wait=settings.lock_wait)
    except StoreBusy:
        return None


# ---------------------------------------------------------------- views: reading list, progress


def item_areas(
    store: Store, items: Sequence[StoredItem], keyword_areas: KeywordAreas
) -> dict[int, str]:
    """Digest area where the item was sent, else the area its keywords name."""
    sent = store.digests.areas_of([i.id for i in items])
    found = {}
    for item in items:
        area = sent.get(item.id) or keyword_area(item.title, item.summary, keyword_areas)
        if area:
            found[item.id] = area
    return found


def _row(item: StoredItem, mark: Mark | None, area: str | None) -> dict[str, Any]:
    return {
        "id": item.id,
        "arxiv_id": item.arxiv_id,
        "title": item.title,
        "url": item.url,
        "area": area,
        "read": bool(mark and mark.read_at),
        "saved": bool(mark and mark.saved_at),
        "rating": mark.rating if mark else None,
    }


def reading_list(store: Store, keyword_areas: KeywordAreas) -> list[dict[str, Any]]:
    """Items sent in digests (newest first), then other marked items, one JSON-ready row each."""
    marks = store.reading.all()
    order = store.digests.sent_order()
    sent = set(order)
    order += [i for i in marks if i not in sent]
    items = store.items.get_many(order)
    areas = item_areas(store, items, keyword_areas)
    return [_row(i, marks.get(i.id), areas.get(i.id)) for i in items]


def reading_stats(
    store: Store, areas: Sequence[FocusArea], week: str | None, now: datetime
) -> dict[str, Any]:
    """Per past digest how many items were later read or saved; per ISO week (`week`, else this
    week and every week with reads) every focus area's reads against its goal: the count the
    digest's progress table shows (paperfeed.digest.progress)."""
    from paperfeed.digest import progress

    reads = progress.read_marks(store, areas)
    weeks = [week] if week else sorted({progress.week_of(now), *progress.weeks_with_reads(reads)})
    rows = [
        {**row.as_json(), "week": w}
        for w in weeks
        for row in progress.progress_rows(reads, areas, w)
    ]
    digests = [
        {
            "id": d.id,
            "period": d.period,
            "created": d.created_at.isoformat(timespec="seconds"),
            "items": d.items,
            "read": d.read,
            "saved": d.saved,
        }
        for d in store.digests.history()
    ]
    return {"digests": digests, "progress": rows}


@dataclass(frozen=True, slots=True)
class Replay:
    applied: int
    unmatched: int  # marks on items the database does not hold (yet): re-ingest, then replay


def replay_marks(store: Store, settings: Settings) -> Replay:
    """Apply every mark in read_marks.jsonl again, in order, to a restored or rebuilt database.

    Replaying the whole history gives the same final marks however many of them the database
    already had (a repeated `read` keeps the first time; an `unread` after it still wins).
    Items are found by canonical key, then by what the learner typed; old short ids are used
    only when neither is known, because a rebuilt database numbers its items anew.
    """
    log = settings.read_marks_log
    events = [MarkEvent.from_json(r) for r in read_jsonl(log) if not r.get("dropped")]
    by_key = store.items.ids_for_keys(sorted({e.key for e in events if e.key}))
    applied = unmatched = 0
    with store.transaction():
        for event in events:
            item_id = by_key.get(event.key) if event.key else _fallback_id(store, event)
            if item_id is None:
                unmatched += 1
                continue
            store.reading.apply(item_id, event.action, event.at)
            applied += 1
    return Replay(applied, unmatched)


def _fallback_id(store: Store, event: MarkEvent) -> int | None:
    ref = event.ref if not event.ref.isdigit() else str(event.item_id or event.ref)
    try:
        return store.items.resolve(ref)
    except NotFound:
        return None
