"""The weekly digest, end to end: gather → build (pure) → render → write → record.

I/O rule: `paperfeed.digest.gather` reads the store; `build_digest` is pure and returns a
`Digest` (plain data); `write_digest` writes the markdown atomically (temp file, fsync,
os.replace) and `record_digest` stores what was sent, so no item is ever sent twice. A dry run
stops after rendering. Nothing here builds SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from paperfeed.config import Config
from paperfeed.digest.build import build_digest
from paperfeed.digest.gather import gather
from paperfeed.digest.markdown import render_markdown
from paperfeed.digest.model import Digest, DigestOptions, Encoder
from paperfeed.errors import NotFound
from paperfeed.files import write_text_atomic
from paperfeed.store.digests import DigestSummary, SentItem, Unwritten

if TYPE_CHECKING:
    from paperfeed.store import Store


def default_window(now: datetime, days: int = 7) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now


def digest_path(folder: Path, period: str) -> Path:
    """digests/YYYY-Www.md, or -2, -3, ... when that week already has a digest."""
    path, n = folder / f"{period}.md", 1
    while path.exists():
        n += 1
        path = folder / f"{period}-{n}.md"
    return path


def write_digest(path: Path, text: str) -> None:
    """Atomically (paperfeed.files): a reader never sees half a digest."""
    write_text_atomic(path, text)


def record_digest(
    store: Store, digest: Digest, path: Path | None, markdown: str | None = None
) -> int:
    groups = [s.entries for s in digest.sections] + [digest.highlights]
    sent = [
        SentItem(e.item.id, e.area, position, e.score)
        for group in groups
        for position, e in enumerate(group, start=1)
    ]
    return store.digests.record(
        period=digest.period,
        window_start=digest.window_start,
        window_end=digest.window_end,
        created_at=digest.created_at,
        path=str(path) if path else None,
        items=sent,
        markdown=markdown,
    )


def forget_digest(store: Store, period: str, *, delete_file: bool = False) -> list[DigestSummary]:
    """Undo a digest: its items go back to the pool, its record goes; the file stays unless
    `delete_file`. Raises NotFound when no digest was recorded for `period`."""
    removed = store.digests.forget(period)
    if not removed:
        raise NotFound(f"no digest recorded for {period!r}: see `paperfeed stats` for the list")
    for digest in removed:
        if delete_file and digest.path:
            Path(digest.path).unlink(missing_ok=True)
    return removed


@dataclass(frozen=True, slots=True)
class DigestRun:
    digest: Digest | None  # None when the run only finished an interrupted one (`finished`)
    markdown: str
    path: Path | None  # None on a dry run
    finished: Unwritten | None = None

    @property
    def period(self) -> str:
        if self.digest is not None:
            return self.digest.period
        return self.finished.period if self.finished else ""

    @property
    def items(self) -> int:
        if self.digest is not None:
            return len(self.digest.entries)
        return self.finished.items if self.finished else 0


def finish_unwritten(store: Store, now: datetime | None = None) -> list[Unwritten]:
    """Write the files of digests that were recorded but whose write was not confirmed (a crash
    between the two); their items are already sent, so they are never built again."""
    pending = store.digests.unwritten()
    for digest in pending:
        write_digest(Path(digest.path), digest.markdown)
        store.digests.mark_written(digest.id, now or datetime.now(UTC))
    return pending


def run_digest(
    store: Store,
    config: Config,
    encode: Encoder,
    options: DigestOptions,
    *,
    folder: Path,
    out: Path | None = None,
    dry_run: bool = False,
) -> DigestRun:
    """gather → build → render → record → write (the last two skipped on a dry run).

    Recorded first, with the text and the path, then written atomically, then confirmed: a
    crash in between leaves a recorded digest that the next run writes, instead of building
    another one for the same period.
    """
    if not dry_run and (interrupted := finish_unwritten(store)):
        last = interrupted[-1]
        return DigestRun(None, last.markdown, Path(last.path), finished=last)
    digest = build_digest(gather(store, config, encode, options), options)
    markdown = render_markdown(digest)
    if dry_run:
        return DigestRun(digest, markdown, None)
    path = out or digest_path(folder, digest.period)
    digest_id = record_digest(store, digest, path, markdown)
    write_digest(path, markdown)
    store.digests.mark_written(digest_id, datetime.now(UTC))
    return DigestRun(digest, markdown, path)
