"""How the digest is built: rank, assign, diversify, describe.

I/O rule: none. `build_digest` takes `DigestInputs` (already read from the store by
`paperfeed.digest.gather`) and returns a `Digest` (`paperfeed.digest.model`);
`paperfeed.digest.markdown` turns that into markdown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from paperfeed.config import FocusArea
from paperfeed.digest import rank
from paperfeed.digest.model import (
    Attention,
    Digest,
    DigestEntry,
    DigestInputs,
    DigestOptions,
    ProgressRow,
    Section,
)
from paperfeed.keys import parse_arxiv_id
from paperfeed.records import ItemKind, SourceState
from paperfeed.store.items import StoredItem
from paperfeed.text import plain

EXPLAINED_LOOKBACK = timedelta(days=60)  # posts this much older than the window still explain
EXPLAINED_SIMILARITY = 0.85  # a post this close to a paper explains it even without a link
NEAREST_READ_SIMILARITY = 0.3
_CODE_URL = re.compile(
    r"https?://(?:www\.)?(github\.com|gitlab\.com|huggingface\.co)/"
    r"([A-Za-z0-9][A-Za-z0-9_.-]{0,99})/([A-Za-z0-9][A-Za-z0-9_.-]{0,99})"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def snippet(summary: str, sentences: int = 2, limit: int = 400) -> str:
    # only the head can reach the snippet: cleaning a whole long abstract costs more than ranking
    parts = _SENTENCE_END.split(plain(summary[: 2 * limit]))
    return plain(" ".join(parts[:sentences]), limit)


def code_link(text: str) -> str | None:
    """A repository URL named in the text, rebuilt from its checked parts (never copied)."""
    found = _CODE_URL.search(text or "")
    if not found:
        return None
    host, owner, repo = found.groups()
    repo = repo.rstrip(".").removesuffix(".git")
    return f"https://{host.lower()}/{owner}/{repo}" if repo else None


def estimate_minutes(item: StoredItem) -> int:
    """Papers: 15 min plus 1 per 40 abstract words (max 30). Posts: 230 words a minute, min 3."""
    words = len(item.summary.split())
    if item.kind == ItemKind.PAPER:
        return min(30, 15 + words // 40)
    return max(3, math.ceil(words / 230))


def item_url(item: StoredItem) -> str | None:
    if item.arxiv_id:
        return f"https://arxiv.org/abs/{item.arxiv_id}"
    return item.url


def period_of(window_end: datetime) -> str:
    year, week, _ = (window_end - timedelta(microseconds=1)).isocalendar()
    return f"{year}-W{week:02d}"


def attention(states: dict[str, SourceState]) -> list[Attention]:
    """Sources the learner should look at: disabled, failing, or moved."""
    found = []
    for name in sorted(states):
        state = states[name]
        if state.disabled:
            why = state.disabled_reason or state.last_error or "disabled"
            found.append(Attention(name, f"disabled: {why}"))
        elif state.consecutive_failures > 0:
            found.append(
                Attention(
                    name,
                    f"failing ({state.consecutive_failures} in a row): "
                    f"{state.last_error or 'unknown error'}",
                )
            )
        elif state.last_status == "unreachable":
            found.append(Attention(name, f"unreachable (offline?): {state.last_error}"))
        if state.moved_to:
            found.append(Attention(name, f"moved to {state.moved_to}: update sources.yaml"))
    return found


def rank_areas(focus_areas: Sequence[FocusArea], vectors: np.ndarray) -> list[rank.Area]:
    """The focus areas as the ranking sees them, with their encoded descriptions."""
    return [
        rank.Area(
            f.name, vectors[i], tuple(f.keywords), f.weight, f.description, f.exclude, f.require
        )
        for i, f in enumerate(focus_areas)
    ]


def _candidates(inputs: DigestInputs) -> rank.Candidates:
    items = inputs.items
    ages = [
        (inputs.now - (i.published_at or i.first_seen_at)).total_seconds() / 86400 for i in items
    ]
    weights = [
        max((inputs.source_weights.get(s, 1.0) for s in i.sources), default=1.0) for i in items
    ]
    return rank.Candidates(
        inputs.vectors,
        [i.title for i in items],
        [i.summary for i in items],
        np.asarray(ages, dtype=np.float64),
        np.asarray(weights, np.float64),
    )


@dataclass(frozen=True, slots=True)
class _Ranked:
    """The window's scores: (n, k) per area, each item's one area."""

    scores: np.ndarray
    area_of: np.ndarray
    areas: list[rank.Area]
    linked: dict[str, set[int]]  # arXiv id -> posts linking to it


def _why(inputs: DigestInputs, ranked: _Ranked, index: int) -> str:
    item, area = inputs.items[index], ranked.areas[int(ranked.area_of[index])]
    parts = [f"matches {area.name}"]
    hits = rank.matched_keywords(item.title, item.summary, area.keywords)
    if hits:
        parts.append("keywords: " + ", ".join(hits[:4]))
    feedback = inputs.feedback
    marked = len(inputs.feedback_items)  # the rows after them are unread items (label 0)
    if feedback is not None and marked and (feedback.labels[:marked] > 0).any():
        sims = np.where(
            feedback.labels[:marked] > 0, feedback.vectors[:marked] @ inputs.vectors[index], -1.0
        )
        best = int(np.argmax(sims))
        if sims[best] >= NEAREST_READ_SIMILARITY:
            parts.append(
                f"close to {plain(inputs.feedback_items[best].title, 100)!r}, which you read"
            )
    return "; ".join(parts)


def papers_linked(posts: Sequence[StoredItem]) -> dict[str, set[int]]:
    """arXiv id -> indices of the posts whose links point at that paper."""
    linked: dict[str, set[int]] = {}
    for index, post in enumerate(posts):
        for url in post.links:
            parsed = parse_arxiv_id(url)
            if parsed:
                linked.setdefault(parsed[0], set()).add(index)
    return linked


def _explained_in(
    inputs: DigestInputs, ranked: _Ranked, index: int
) -> tuple[tuple[str, str | None], ...]:
    paper = inputs.items[index]
    if paper.kind != ItemKind.PAPER or not inputs.posts:
        return ()
    close = np.zeros(len(inputs.posts), dtype=bool)
    if inputs.post_vectors is not None and len(inputs.post_vectors):
        close = inputs.post_vectors @ inputs.vectors[index] >= EXPLAINED_SIMILARITY
    linked = ranked.linked.get(paper.arxiv_id or "", set())
    return tuple(
        (post.title, post.url) for i, post in enumerate(inputs.posts) if i in linked or close[i]
    )[:3]


def _entry(inputs: DigestInputs, ranked: _Ranked, index: int) -> DigestEntry:
    item = inputs.items[index]
    area = int(ranked.area_of[index])
    return DigestEntry(
        item=item,
        area=ranked.areas[area].name,
        score=float(ranked.scores[index, area]),
        minutes=estimate_minutes(item),
        why=_why(inputs, ranked, index),
        url=item_url(item),
        source=item.sources[0] if item.sources else None,
        snippet=snippet(item.summary),
        code_url=code_link(item.summary),
        explained_in=_explained_in(inputs, ranked, index),
    )


def _pick(inputs: DigestInputs, ranked: _Ranked, members: np.ndarray, k: int) -> list[int]:
    """MMR over `members` (indices into the window) by their own area's score."""
    if not len(members) or k <= 0:
        return []
    own = ranked.scores[members, ranked.area_of[members]]
    return [int(members[i]) for i in rank.mmr(inputs.vectors[members], own, k)]


def _within_budget(entries: list[DigestEntry], budget: float | None) -> set[int]:
    """Ids chosen by score until the estimated minutes are spent (all, without a budget)."""
    if budget is None:
        return {e.item.id for e in entries}
    chosen, spent = set(), 0.0
    for entry in sorted(entries, key=lambda e: -e.score):
        if spent + entry.minutes <= budget:
            chosen.add(entry.item.id)
            spent += entry.minutes
    return chosen


def build_digest(inputs: DigestInputs, options: DigestOptions) -> Digest:
    """Rank, assign, diversify and describe the window's items. Pure."""
    areas = rank_areas(inputs.focus_areas, inputs.area_vectors)
    scores = rank.area_scores(_candidates(inputs), areas, inputs.feedback)
    ranked = _Ranked(scores, rank.assign(scores, areas), areas, papers_linked(inputs.posts))
    is_paper = np.array([i.kind == ItemKind.PAPER for i in inputs.items], dtype=bool)
    kept = ranked.area_of >= 0  # -1: every area's filters drop the item
    per_area = [
        [
            _entry(inputs, ranked, i)
            for i in _pick(
                inputs, ranked, np.flatnonzero(is_paper & (ranked.area_of == j)), options.per_area
            )
        ]
        for j in range(len(areas))
    ]
    posts = (
        [
            _entry(inputs, ranked, i)
            for i in _pick(inputs, ranked, np.flatnonzero(~is_paper & kept), options.highlights)
        ]
        if areas
        else []
    )
    keep = _within_budget([e for s in per_area for e in s] + posts, options.budget_minutes)
    sections = tuple(
        Section(a.name, tuple(e for e in s if e.item.id in keep))
        for a, s in zip(areas, per_area, strict=True)
    )
    progress = tuple(
        ProgressRow(f.name, inputs.read_per_area.get(f.name, 0), f.weekly_goal)
        for f in inputs.focus_areas
    )
    return Digest(
        period_of(options.window_end),
        options.window_start,
        options.window_end,
        inputs.now,
        sections,
        tuple(e for e in posts if e.item.id in keep),
        progress,
        tuple(attention(inputs.source_states)),
    )
