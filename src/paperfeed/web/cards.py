"""What the pages show, as plain data: item cards, mark buttons, the progress chart. Pure.

Every string from a feed is untrusted: titles and summaries go through `render.plain` (one
clean line, no control or bidi characters) and are escaped by Jinja's autoescape; a URL becomes
an `href` only when `render.safe_url` accepts it (http or https), else it is not a link at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from paperfeed.digest.build import code_link, estimate_minutes, item_url, snippet
from paperfeed.digest.markdown import safe_url
from paperfeed.store.items import StoredItem
from paperfeed.store.reading import Mark
from paperfeed.text import plain

MARK_ACTIONS = ("read", "unread", "save", "unsave", "up", "down", "unrate")


@dataclass(frozen=True, slots=True)
class Button:
    action: str
    label: str


@dataclass(frozen=True, slots=True)
class MarkState:
    item_id: int
    read: bool = False
    saved: bool = False
    rating: int | None = None
    queued: str | None = None  # the action queued while the database was busy

    @classmethod
    def of(cls, item_id: int, mark: Mark | None) -> MarkState:
        if mark is None:
            return cls(item_id)
        return cls(item_id, mark.read_at is not None, mark.saved_at is not None, mark.rating)

    @property
    def buttons(self) -> list[Button]:
        found = [Button("unread", "Undo read") if self.read else Button("read", "Read")]
        found.append(Button("unsave", "Undo save") if self.saved else Button("save", "Save"))
        if self.rating is None:
            found += [Button("up", "Rate up"), Button("down", "Not for me")]
        else:
            found.append(Button("unrate", "Undo rating"))
        return found

    @property
    def labels(self) -> list[str]:
        found = ["read"] * self.read + ["saved"] * self.saved
        found += {1: ["rated up"], -1: ["not for me"]}.get(self.rating or 0, [])
        return found


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    href: str | None  # None: shown as text, never as a link


@dataclass(frozen=True, slots=True)
class Card:
    id: int
    title: str
    url: str | None
    meta: str  # categories or source
    date: str | None
    minutes: int
    snippet: str
    marks: MarkState
    why: str = ""
    code_url: str | None = None
    explained_in: tuple[Link, ...] = ()
    score: float | None = None


def _date(item: StoredItem) -> str | None:
    when: datetime | None = item.published_at or item.first_seen_at
    return when.date().isoformat() if when else None


def meta_of(item: StoredItem) -> str:
    if item.categories:
        return ", ".join(plain(c, 20) for c in item.categories[:4])
    return ", ".join(plain(s, 40) for s in item.sources[:2])


def card(
    item: StoredItem,
    mark: Mark | None,
    *,
    why: str = "",
    explained_in: Sequence[tuple[str, str | None]] = (),
    score: float | None = None,
) -> Card:
    return Card(
        id=item.id,
        title=plain(item.title, 300) or "untitled",
        url=safe_url(item_url(item)),
        meta=meta_of(item),
        date=_date(item),
        minutes=estimate_minutes(item),
        snippet=snippet(item.summary),
        marks=MarkState.of(item.id, mark),
        why=plain(why, 400),
        code_url=safe_url(code_link(item.summary)),
        explained_in=tuple(Link(plain(t, 200) or "a post", safe_url(u)) for t, u in explained_in),
        score=score,
    )


def post_link(post: StoredItem) -> Link:
    return Link(plain(post.title, 200) or "a post", safe_url(post.url))


def pdf_url(item: StoredItem) -> str | None:
    return f"https://arxiv.org/pdf/{item.arxiv_id}" if item.arxiv_id else None


# ---------------------------------------------------------------- the progress chart

CHART_W, CHART_H, CHART_PAD = 480, 140, 24


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    week: str
    read: int


@dataclass(frozen=True, slots=True)
class Chart:
    area: str
    bars: tuple[Bar, ...]
    goal: int | None
    goal_y: float | None
    top: int  # the value at the top of the chart
    width: int = CHART_W
    height: int = CHART_H


def chart(area: str, weeks: Sequence[str], read: Sequence[int], goal: int | None) -> Chart:
    """Bars of items read per week, scaled so the goal line and the tallest bar both fit."""
    top = max([*read, goal or 0, 1])
    inner_h = CHART_H - 2 * CHART_PAD
    step = (CHART_W - 2 * CHART_PAD) / max(len(weeks), 1)

    def y_of(value: float) -> float:
        return round(CHART_PAD + inner_h * (1 - value / top), 1)

    bars = tuple(
        Bar(
            x=round(CHART_PAD + i * step + step * 0.15, 1),
            y=y_of(n),
            width=round(step * 0.7, 1),
            height=round(CHART_PAD + inner_h - y_of(n), 1),
            week=week,
            read=n,
        )
        for i, (week, n) in enumerate(zip(weeks, read, strict=True))
    )
    return Chart(plain(area, 80), bars, goal, y_of(goal) if goal else None, top)
