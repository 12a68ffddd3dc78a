"""What the reading room's pages are made of: plain records the Room returns, ISO weeks. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from paperfeed.digest.progress import week_bounds
from paperfeed.errors import NotFound

if TYPE_CHECKING:
    from paperfeed.digest.model import Digest
    from paperfeed.search.hybrid import Hit
    from paperfeed.store.items import StoredItem
    from paperfeed.store.reading import Mark


@dataclass(frozen=True, slots=True)
class MarkOutcome:
    item_id: int
    mark: Mark | None  # the item's marks after this one; None when it was queued
    queued: bool


@dataclass(frozen=True, slots=True)
class AreaFit:
    """How one focus area sees an item: cosine to the area's description, keywords matched."""

    area: str
    similarity: float
    keywords: tuple[str, ...]
    best: bool


@dataclass(frozen=True, slots=True)
class PaperPage:
    item: StoredItem
    mark: Mark | None
    similar: list[tuple[Hit, StoredItem]]
    marks: dict[int, Mark]
    posts: list[StoredItem]  # posts that explain it: they link to it, or are very close
    areas: list[AreaFit]


@dataclass(frozen=True, slots=True)
class WeekPage:
    digest: Digest
    marks: dict[int, Mark]
    weeks: list[tuple[str, int]]  # (ISO week, items published) newest first
    period: str | None  # the week asked for; None for the last 7 days


@dataclass(frozen=True, slots=True)
class Progress:
    weeks: list[str]  # the last PROGRESS_WEEKS ISO weeks, oldest first
    read: dict[str, list[int]]  # area -> items read in each of `weeks`
    goals: dict[str, int | None]
    digests: list[dict[str, Any]]  # `stats` rows: period, items, read, saved


def iso_week_window(period: str) -> tuple[datetime, datetime]:
    """`2026-W48` -> [Monday 00:00 UTC, next Monday 00:00 UTC). Raises NotFound on bad text."""
    try:
        year, week = period.split("-W")
        date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise NotFound(f"not an ISO week: {period!r} (expected e.g. 2026-W48)") from None
    return week_bounds(period)
