"""Bulk import of arXiv's public metadata snapshot (JSON lines, optionally gzipped).

I/O rule: `import_arxiv_metadata` reads the file and writes through `Store.items` in batches;
everything between (`paper_from_record`, date and author parsing) is pure. A line that is not
a usable paper is counted in `bad_lines`, never raised.
"""

from __future__ import annotations

import gzip
import json
import re
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from paperfeed.errors import PaperfeedError
from paperfeed.keys import parse_arxiv_id
from paperfeed.progress import SILENT, Progress
from paperfeed.records import Item, ItemKind
from paperfeed.store import Store
from paperfeed.text import clean_text, page_count, parse_date

SOURCE_NAME = "arxiv-metadata"
# Measured on the 65k snapshot: same CPU time per paper as 5,000, but a 50 MB database instead
# of 73 MB (fewer commits leave fewer part-filled row groups). ~40 MB of Items in memory.
DEFAULT_BATCH_SIZE = 20_000
_GZIP_MAGIC = b"\x1f\x8b"
_AUTHOR_SPLIT = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_VERSION = re.compile(r"v?(\d+)$")


@dataclass(frozen=True, slots=True)
class ImportReport:
    read: int  # papers parsed from the file
    new: int
    updated: int
    unchanged: int
    bad_lines: int
    seconds: float

    @property
    def papers_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    @property
    def mostly_not_papers(self) -> bool:
        """More than half of the non-blank lines were not papers: likely the wrong file."""
        return self.bad_lines > self.read


class BadRecord(ValueError):
    """A line that is valid JSON (or not) but not a usable paper."""


# ---------------------------------------------------------------- pure parsing


def split_authors(value: object) -> tuple[str, ...]:
    """'A. One, B. Two and C. Three' → ('A. One', 'B. Two', 'C. Three')."""
    text = clean_text(value)
    return tuple(name.strip() for name in _AUTHOR_SPLIT.split(text) if name.strip())


def _versions(value: object) -> list[tuple[int, object]]:
    """[(number, created)] sorted by number; entries without a readable number are ignored."""
    if not isinstance(value, list):
        return []
    found = []
    for entry in value:
        if isinstance(entry, dict):
            match = _VERSION.match(str(entry.get("version", "")).strip())
            if match:
                found.append((int(match.group(1)), entry.get("created")))
    return sorted(found, key=lambda pair: pair[0])


def paper_from_record(record: Any) -> Item:
    """One metadata-snapshot object → Item(kind='paper'). Raises BadRecord when unusable."""
    if not isinstance(record, dict):
        raise BadRecord("not a JSON object")
    parsed = parse_arxiv_id(str(record.get("id") or ""))
    title = clean_text(record.get("title"))
    if parsed is None or not title:
        raise BadRecord("no valid arXiv id or no title")
    arxiv_id = parsed[0]
    versions = _versions(record.get("versions"))
    published = parse_date(versions[0][1]) if versions else None
    return Item(
        title=title,
        url=f"https://arxiv.org/abs/{arxiv_id}",
        summary=clean_text(record.get("abstract")),
        arxiv_id=arxiv_id,
        arxiv_version=versions[-1][0] if versions else parsed[1],
        authors=split_authors(record.get("authors")),
        categories=tuple(str(record.get("categories") or "").split()),
        published=published or parse_date(record.get("update_date")),
        updated=parse_date(record.get("update_date")),
        kind=ItemKind.PAPER,
        pages=page_count(record.get("comments")),
    )


def parse_line(line: bytes | str) -> Item | None:
    """One JSON line → Item, or None when the line is not a usable paper."""
    try:
        return paper_from_record(json.loads(line))
    except (ValueError, TypeError, RecursionError):  # JSONDecodeError and BadRecord are ValueErrors
        return None


# ---------------------------------------------------------------- file reading and storing


@contextmanager
def _open(path: Path) -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """(lines, raw file): gzip by extension or by magic bytes, plain bytes otherwise. The raw
    file's position says how far through the file the import is."""
    with path.open("rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        if path.suffix == ".gz" or magic == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=raw) as unpacked:
                yield cast(IO[bytes], unpacked), raw
        else:
            yield raw, raw


def read_batches(path: Path, batch_size: int) -> Iterator[tuple[list[Item], int, int]]:
    """Yield (papers, bad line count, bytes of the file read so far) per batch of up to
    `batch_size` non-blank lines."""
    try:
        yield from _batches(path, batch_size)
    except (OSError, EOFError, zlib.error) as exc:
        # a truncated or corrupt .gz surfaces here, mid-file; batches before it are stored
        raise PaperfeedError(f"{path}: unreadable gzip or JSON-lines file: {exc}") from exc


def _batches(path: Path, batch_size: int) -> Iterator[tuple[list[Item], int, int]]:
    batch: list[Item] = []
    bad = 0
    with _open(path) as (lines, raw):
        for line in lines:
            if not line.strip():
                continue
            item = parse_line(line)
            if item is None:
                bad += 1
            else:
                batch.append(item)
            if len(batch) + bad >= batch_size:
                yield batch, bad, raw.tell()
                batch, bad = [], 0
        if batch or bad:
            yield batch, bad, raw.tell()


def import_arxiv_metadata(
    store: Store,
    path: Path,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress = SILENT,
) -> ImportReport:
    """Import a metadata snapshot; each batch is one transaction, so a re-import adds 0 rows
    and an interrupted import resumes cleanly. Reported as the phase "importing": bytes of the
    file read (of its size), with the papers so far as the note."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    read = new = updated = unchanged = bad_lines = 0
    progress.start("importing", path.stat().st_size, "B")
    for papers, bad, position in read_batches(path, batch_size):
        result = store.items.upsert(papers, SOURCE_NAME)
        read += len(papers)
        bad_lines += bad
        new, updated = new + result.new, updated + result.updated
        unchanged += result.unchanged
        progress.advance(position, note=f"{read:,} papers")
    report = ImportReport(read, new, updated, unchanged, bad_lines, time.perf_counter() - started)
    progress.finish(f"{read:,} papers, {new:,} new, {bad_lines:,} bad lines")
    return report
