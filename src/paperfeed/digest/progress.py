"""Reading progress per focus area and ISO week: one count that the digest, `stats` and `--json`
all show.

I/O rule: `read_marks` reads the store (marks, the areas items were sent under); the rest is
pure. A read item counts for the area it was sent under in a digest, else for the area whose
keywords it names most, else for "(no area)"; it counts in the ISO week (UTC) of its read time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from paperfeed.config import FocusArea
from paperfeed.digest.rank import keyword_area

if TYPE_CHECKING:
    from paperfeed.store import Store

NO_AREA = "(no area)"


@dataclass(frozen=True, slots=True)
class ProgressRow:
    area: str
    read: int
    goal: int | None

    @property
    def met(self) -> bool:
        return self.goal is not None and self.read >= self.goal

    def as_json(self) -> dict[str, object]:
        return {"area": self.area, "read": self.read, "goal": self.goal, "met": self.met}


@dataclass(frozen=True, slots=True)
class ReadMark:
    read_at: datetime
    area: str | None


def week_of(moment: datetime) -> str:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) UTC of an ISO week such as 2024-W14."""
    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number[:2]), 1)
    start = datetime.combine(monday, time(), UTC)
    return start, start + timedelta(days=7)


def progress_rows(
    reads: Sequence[ReadMark], areas: Sequence[FocusArea], week: str
) -> list[ProgressRow]:
    """Every focus area (0 when nothing was read), then "(no area)" when some reads have none."""
    counts: dict[str, int] = {}
    for mark in reads:
        if week_of(mark.read_at) == week:
            name = mark.area or NO_AREA
            counts[name] = counts.get(name, 0) + 1
    rows = [ProgressRow(a.name, counts.pop(a.name, 0), a.weekly_goal) for a in areas]
    rows += [ProgressRow(name, n, None) for name, n in sorted(counts.items())]
    return rows


def weeks_with_reads(reads: Sequence[ReadMark]) -> list[str]:
    return sorted({week_of(m.read_at) for m in reads})


def read_marks(store: Store, areas: Sequence[FocusArea]) -> list[ReadMark]:
    """Every read mark with the area it counts for."""
    read = {i: m.read_at for i, m in store.reading.all().items() if m.read_at is not None}
    items = store.items.get_many(list(read))
    sent = store.digests.areas_of([i.id for i in items])
    keyword_areas = [(a.name, tuple(a.keywords)) for a in areas]
    names = {a.name for a in areas}
    found = []
    for item in items:
        area = sent.get(item.id)
        if area not in names:
            area = keyword_area(item.title, item.summary, keyword_areas)
        found.append(ReadMark(read[item.id], area))
    return found
