"""The week as a reading plan: how long each item takes, and which items fill a budget.

I/O rule: none; pure functions over numbers. Reading time comes from the item's real length: a
paper's page count (its arXiv comments, "12 pages"), a post's word count (its whole content).
`plan_budget` shares the minutes across focus areas in proportion to what each still needs this
week (weekly goal minus already read), and gives every area with a goal an item first, so no such
area is left empty while minutes remain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from paperfeed.records import ItemKind

# A first read of a paper (abstract, figures, method, results), not a study: 1.5 minutes a page.
MINUTES_PER_PAGE = 1.5
# Median page count of the 870 real arXiv records with "N pages" in their comments in
# ../shared/data/arxiv_bulk (arxiv-browse test data): what a paper without one is taken to have.
MEDIAN_PAGES = 12
WORDS_PER_MINUTE = 230
MIN_MINUTES = 2


def reading_minutes(kind: str, pages: int | None, words: int) -> int:
    """Minutes to read one item: pages for a paper (the median when unknown), words for a post."""
    if kind == ItemKind.PAPER:
        return max(MIN_MINUTES, round((pages or MEDIAN_PAGES) * MINUTES_PER_PAGE))
    return max(MIN_MINUTES, math.ceil(words / WORDS_PER_MINUTE))


@dataclass(frozen=True, slots=True)
class Candidate:
    """One item a budget may take: its id, the area it would go under (None: highlights)."""

    id: int
    area: str | None
    score: float
    minutes: int


@dataclass(frozen=True, slots=True)
class AreaNeed:
    area: str
    goal: int | None
    read: int

    @property
    def left(self) -> int:
        return max((self.goal or 0) - self.read, 0)


def _best_fitting(pool: Sequence[Candidate], cap: float) -> Candidate | None:
    """The best-scored candidate no longer than `cap`."""
    fitting = [c for c in pool if c.minutes <= cap]
    return max(fitting, key=lambda c: c.score, default=None)


def _cover(
    by_area: dict[str, list[Candidate]], needs: Sequence[AreaNeed], budget: float
) -> list[Candidate]:
    """One item for every area with a goal (most still needed first), each within a fair share
    of what is left, so an early area cannot spend the minutes the later ones need."""
    chosen: list[Candidate] = []
    order = sorted((n for n in needs if n.goal is not None), key=lambda n: -n.left)
    for position, need in enumerate(order):
        left = budget - sum(c.minutes for c in chosen)
        pool = by_area.get(need.area, [])
        fair = left / (len(order) - position)
        pick = _best_fitting(pool, fair) or _best_fitting(pool, left)
        if pick is not None:
            chosen.append(pick)
    return chosen


def plan_budget(
    candidates: Sequence[Candidate], needs: Sequence[AreaNeed], budget: float | None
) -> set[int]:
    """Ids of the candidates to keep: all without a budget; else every area with a goal covered,
    then each area filled up to its share of the minutes (in proportion to what it still needs
    this week), then whatever still fits, best score first. Never more than `budget` minutes."""
    if budget is None:
        return {c.id for c in candidates}
    by_area: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_area.setdefault(candidate.area or "", []).append(candidate)
    chosen = _cover(by_area, needs, budget)
    spent = sum(c.minutes for c in chosen)
    total_left = sum(n.left for n in needs)
    for need in needs:
        share = budget * need.left / total_left if total_left else 0.0
        used = sum(c.minutes for c in chosen if c.area == need.area)
        for candidate in sorted(by_area.get(need.area, []), key=lambda c: -c.score):
            fits = used + candidate.minutes <= share and spent + candidate.minutes <= budget
            if candidate not in chosen and fits:
                chosen.append(candidate)
                used += candidate.minutes
                spent += candidate.minutes
    for candidate in sorted(candidates, key=lambda c: -c.score):
        if candidate not in chosen and spent + candidate.minutes <= budget:
            chosen.append(candidate)
            spent += candidate.minutes
    return {c.id for c in chosen}
