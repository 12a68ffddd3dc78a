"""The digest as plain data: what `build` produces, `markdown` renders and `run` records.

I/O rule: none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from paperfeed.config import FocusArea
from paperfeed.digest import rank
from paperfeed.records import SourceState
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

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.item.id,
            "arxiv_id": self.item.arxiv_id,
            "title": self.item.title,
            "url": self.url,
            "score": round(self.score, 6),
            "why": self.why,
            "minutes": self.minutes,
        }


@dataclass(frozen=True, slots=True)
class Section:
    focus_area: str
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True, slots=True)
class ProgressRow:
    area: str
    read: int
    goal: int | None


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

    def as_json(self) -> dict[str, object]:
        sections: list[dict[str, object]] = [
            {"focus_area": s.focus_area, "items": [e.as_json() for e in s.entries]}
            for s in self.sections
        ]
        if self.highlights:
            sections.append({"focus_area": None, "items": [e.as_json() for e in self.highlights]})
        return {
            "window": {
                "start": self.window_start.isoformat(),
                "end": self.window_end.isoformat(),
                "period": self.period,
            },
            "sections": sections,
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
    posts: Sequence[StoredItem] = ()  # blog/newsletter items that may explain a paper
    post_vectors: np.ndarray | None = None
    source_weights: dict[str, float] = field(default_factory=dict)
    source_states: dict[str, SourceState] = field(default_factory=dict)
    read_per_area: dict[str, int] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
