"""The way back from a lost or damaged database (RELIABILITY D2): the newest backup, then every
mark in read_marks.jsonl replayed, then the sources fetched again.

The database is rebuilt from what paperfeed keeps outside it; the learner's marks are the one
thing that cannot be fetched again, so they are replayed both before the re-ingest (items the
backup holds) and after it (items that only the re-ingest brought back).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from paperfeed.config import Config
from paperfeed.errors import NotFound
from paperfeed.http import HttpClient
from paperfeed.ingest.collect import ingest
from paperfeed.ingest.record import IngestReport
from paperfeed.marks import Replay, replay_marks
from paperfeed.settings import Settings
from paperfeed.store import Store
from paperfeed.store.backup import newest, restore, set_aside


@dataclass(frozen=True, slots=True)
class Restored:
    backup: Path
    set_aside: Path | None  # where the replaced database went
    marks: Replay


@dataclass(frozen=True, slots=True)
class Recovery:
    backup: Path | None  # None: no backup yet, the database was started empty
    set_aside: Path | None
    marks: Replay
    ingest: IngestReport | None


def restore_backup(settings: Settings, backup: Path | None = None) -> Restored:
    """Put `backup` (default: the newest) in place of the database and replay every mark."""
    chosen = backup or newest(settings.backup_dir)
    if chosen is None:
        raise NotFound(f"no backup in {settings.backup_dir}: try `paperfeed recover`")
    moved = restore(settings.db_path, chosen)
    with Store.open(settings.db_path) as store:
        marks = replay_marks(store, settings)
        store.checkpoint()
    return Restored(chosen, moved, marks)


def recover(
    settings: Settings, config: Config, *, http: HttpClient | None = None, fetch: bool = True
) -> Recovery:
    """A new database from the newest backup (or empty), every mark replayed, sources re-fetched."""
    chosen = newest(settings.backup_dir)
    if chosen is not None:
        restored = restore_backup(settings, chosen)
        moved, marks = restored.set_aside, restored.marks
    else:
        moved = set_aside(settings.db_path)
        with Store.open(settings.db_path) as store:
            marks = replay_marks(store, settings)
    report = ingest(settings, config, http=http) if fetch else None
    if report is not None:
        with Store.open(settings.db_path) as store:
            marks = replay_marks(store, settings)
            store.checkpoint()
    return Recovery(chosen, moved, marks, report)
