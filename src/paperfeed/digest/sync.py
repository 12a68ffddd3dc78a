"""`paperfeed sync`: the digest's ticked boxes become read marks.

I/O rule: `sync_digests` reads the digest files (never writes them) and records marks through
`paperfeed.marks.record_marks` (so they reach the marks log like any other mark);
`task_states` is pure. A task line is found by its `id N`, wherever it stands, so a digest edited
by hand (items moved, notes written between them) still syncs. The store remembers, per file,
which boxes sync has seen ticked (`digest_ticks`): a box that is unticked now becomes an unread
mark only when sync had seen it ticked, so an item read another way is never taken back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from paperfeed.errors import PaperfeedError
from paperfeed.marks import MarkEvent, apply_pending_marks, record_marks
from paperfeed.records import MarkAction

if TYPE_CHECKING:
    from paperfeed.settings import Settings
    from paperfeed.store import Store

# `- [ ] ...`, `* [x] ...`, `1. [X] ...`; the item's id is the last `id N` on the line.
_TASK = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+\[([ xX])\]\s")
_ID = re.compile(r"(?<![\w-])id (\d{1,18})\b")


class DigestFileError(PaperfeedError):
    """A digest file named for sync cannot be read."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    files: int
    read: list[int] = field(default_factory=list)  # newly marked read
    unread: list[int] = field(default_factory=list)  # unticked after sync had seen them ticked
    unknown: list[int] = field(default_factory=list)  # ids that match no item
    unreadable: list[str] = field(default_factory=list)  # files skipped (folder sync only)

    def as_json(self) -> dict[str, object]:
        return {
            "files": self.files,
            "read": self.read,
            "unread": self.unread,
            "unknown": self.unknown,
            "unreadable": self.unreadable,
        }


def task_states(text: str) -> dict[int, bool]:
    """Item id -> ticked, from every task line that carries an id (ticked wins on repeats)."""
    states: dict[int, bool] = {}
    for line in text.splitlines():
        task = _TASK.match(line)
        ids = _ID.findall(line) if task else []
        if task and ids:
            item_id = int(ids[-1])
            states[item_id] = states.get(item_id, False) or task.group(1) != " "
    return states


def digest_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.md")) if folder.is_dir() else []


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DigestFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _sync_file(store: Store, key: str, states: dict[int, bool]) -> tuple[list[int], list[int]]:
    """(ids to mark read, ids to mark unread) for one file; updates what sync has seen ticked."""
    read_now = store.reading.read_ids()
    seen = store.digests.ticks_seen(key)
    ticked = sorted(i for i, on in states.items() if on)
    unticked = sorted(i for i, on in states.items() if not on and i in seen)
    return [i for i in ticked if i not in read_now], [i for i in unticked if i in read_now]


def sync_folder(store: Store, settings: Settings, folder: Path) -> SyncResult:
    """Sync every digest in the folder, skipping files that cannot be read: what `ingest` and
    `digest` do first, so a stray file never stops them."""
    return sync_digests(store, settings, digest_files(folder), skip_unreadable=True)


def sync_digests(
    store: Store,
    settings: Settings,
    paths: Sequence[Path],
    now: datetime | None = None,
    *,
    skip_unreadable: bool = False,
) -> SyncResult:
    """Apply the ticks of every file in `paths`; running it again changes nothing. Raises
    DigestFileError for a file it cannot read, unless `skip_unreadable`."""
    now = now or datetime.now(UTC)
    result = SyncResult(files=len(paths))
    for path in paths:
        try:
            states = task_states(_read(path))
        except DigestFileError:
            if not skip_unreadable:
                raise
            result.unreadable.append(str(path))
            continue
        known = {i.id for i in store.items.get_many(sorted(states))}
        result.unknown.extend(sorted(set(states) - known))
        states = {i: on for i, on in states.items() if i in known}
        key = str(path.resolve())
        to_read, to_unread = _sync_file(store, key, states)
        events = [MarkEvent(str(i), MarkAction.READ, now, i) for i in to_read]
        events += [MarkEvent(str(i), MarkAction.UNREAD, now, i) for i in to_unread]
        with store.transaction():
            if events:
                record_marks(store, settings, events)
            store.digests.set_ticks(key, [i for i, on in states.items() if on], now)
        result.read.extend(to_read)
        result.unread.extend(to_unread)
    return result


def marks_first(store: Store, settings: Settings, folder: Path) -> SyncResult:
    """What every writer that ranks runs first (ingest, digest; CLI and flows): the marks
    queued while the store was busy, then the digests' ticked boxes."""
    apply_pending_marks(store, settings)
    return sync_folder(store, settings, folder)
