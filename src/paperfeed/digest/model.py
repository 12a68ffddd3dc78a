"""The digest as plain data: what `build` produces, `markdown` renders and `run` records.

I/O rule: none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from paperfeed.config import FocusArea
from paperfeed.digest import rank, why
from paperfeed.digest.progress import ProgressRow
from paperfeed.records import ItemKind, SourceState
from paperfeed.store.items import StoredItem

Encoder = Callable[[str], np.ndarray]


@dataclass(frozen=True, slots=True)
class DigestOptions:
    window_start: datetime
    window_end: datetime
    per_area: int = 5
    highlights: int = 5
    budget_minutes: float | None = None


@dataclass(frozen=True, slots=True)
class DigestEntry:
    item: StoredItem
    area: str
    score: float
    minutes: int
    why: str
    url: str | None
    source: str | None
    snippet: str = ""
    code_url: str | None = None
    explained_in: tuple[tuple[str, str | None], ...] = ()  # (post title, post url)
    date: date | None = None  # published, or first seen when the published date is implausible
    dated_by: str = "published"  # or "first_seen"

    @property
    def categories(self) -> tuple[str, ...]:
        """arXiv categories, primary first (empty for posts)."""
        return self.item.categories if self.item.kind == ItemKind.PAPER else ()

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.item.id,
            "kind": self.item.kind,
            "arxiv_id": self.item.arxiv_id,
            "title": self.item.title,
            "url": self.url,
            "area": self.area,
            "score": round(self.score, 6),
            "why": self.why,
            "minutes": self.minutes,
            "snippet": self.snippet,
            "source": self.source,
            "categories": list(self.categories),
            "authors": list(self.item.authors),
            "date": self.date.isoformat() if self.date else None,
            "dated_by": self.dated_by,
            "code_url": self.code_url,
            "explained_in": [{"title": t, "url": u} for t, u in self.explained_in],
        }


@dataclass(frozen=True, slots=True)
class Section:
    focus_area: str
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True, slots=True)
class Attention:
    source: str
    problem: str


@dataclass(frozen=True, slots=True)
class Digest:
    period: str
    window_start: datetime
    window_end: datetime
    created_at: datetime
    sections: tuple[Section, ...]
    highlights: tuple[DigestEntry, ...] = ()
    progress: tuple[ProgressRow, ...] = ()
    attention: tuple[Attention, ...] = ()

    @property
    def entries(self) -> list[DigestEntry]:
        return [e for s in self.sections for e in s.entries] + list(self.highlights)

    @property
    def last_day(self) -> date:
        """The window's last day (its end is exclusive: the next Monday, 00:00)."""
        return (self.window_end - timedelta(microseconds=1)).date()

    def as_json(self) -> dict[str, object]:
        sections: list[dict[str, object]] = [
            {"focus_area": s.focus_area, "items": [e.as_json() for e in s.entries]}
            for s in self.sections
        ]
        if self.highlights:
            sections.append({"focus_area": None, "items": [e.as_json() for e in self.highlights]})
        return {
            "window": {
                "start": self.window_start.isoformat(timespec="seconds"),
                "end": self.window_end.isoformat(timespec="seconds"),
                "period": self.period,
            },
            "created": self.created_at.isoformat(timespec="seconds"),
            "sections": sections,
            "progress": [row.as_json() for row in self.progress],
            "attention": [{"source": a.source, "problem": a.problem} for a in self.attention],
        }


@dataclass(frozen=True, slots=True)
class DigestInputs:
    """Everything `build_digest` needs, already read from the store."""

    focus_areas: Sequence[FocusArea]
    area_vectors: np.ndarray  # (k, d)
    items: Sequence[StoredItem]  # candidates: in the window, never sent before
    vectors: np.ndarray  # (n, d), zero rows where an item has no vector yet
    feedback_items: Sequence[StoredItem] = ()
    feedback: rank.Feedback | None = None
    marked: why.Marked | None = None  # read, saved or rated up: what "why this" may cite
    posts: Sequence[StoredItem] = ()  # blog/newsletter items that may explain a paper
    post_vectors: np.ndarray | None = None
    source_weights: dict[str, float] = field(default_factory=dict)
    source_states: dict[str, SourceState] = field(default_factory=dict)
    progress: Sequence[ProgressRow] = ()  # this week's, from paperfeed.digest.progress
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
