"""The weekly digest, end to end: gather → build (pure) → render → write → record.

I/O rule: `paperfeed.digest.gather` reads the store; `build_digest` is pure and returns a
`Digest` (plain data); `write_digest` writes the markdown atomically (temp file, fsync,
os.replace) and `record_digest` stores what was sent, so no item is ever sent twice. A dry run
stops after rendering. Nothing here builds SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from paperfeed.config import Config
from paperfeed.digest.build import build_digest
from paperfeed.digest.gather import gather
from paperfeed.digest.markdown import render_markdown
from paperfeed.digest.model import Digest, DigestOptions, Encoder
from paperfeed.files import write_text_atomic
from paperfeed.store.digests import SentItem

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


def record_digest(store: Store, digest: Digest, path: Path | None) -> int:
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
    )


@dataclass(frozen=True, slots=True)
class DigestRun:
    digest: Digest
    markdown: str
    path: Path | None  # None on a dry run


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
    """gather → build → render → write → record (the last two skipped on a dry run)."""
    digest = build_digest(gather(store, config, encode, options), options)
    markdown = render_markdown(digest)
    if dry_run:
        return DigestRun(digest, markdown, None)
    path = out or digest_path(folder, digest.period)
    write_digest(path, markdown)
    record_digest(store, digest, path)
    return DigestRun(digest, markdown, path)
