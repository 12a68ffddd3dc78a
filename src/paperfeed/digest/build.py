"""How the digest is built: rank, assign, diversify, describe.

I/O rule: none. `build_digest` takes `DigestInputs` (already read from the store by
`paperfeed.digest.gather`) and returns a `Digest` (`paperfeed.digest.model`);
`paperfeed.digest.markdown` turns that into markdown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from paperfeed.config import FocusArea
from paperfeed.digest import rank, why
from paperfeed.digest.model import (
    Attention,
    Digest,
    DigestEntry,
    DigestInputs,
    DigestOptions,
    Section,
)
from paperfeed.digest.plan import AreaNeed, Candidate, plan_budget, reading_minutes
from paperfeed.keys import parse_arxiv_id
from paperfeed.records import ItemKind, SourceState
from paperfeed.store.items import StoredItem
from paperfeed.text import plain

EXPLAINED_LOOKBACK = timedelta(days=60)  # posts this much older than the window still explain
EXPLAINED_SIMILARITY = 0.85  # a post this close to a paper explains it even without a link
# A post goes under a focus area only this close to the area's description (cosine), else under
# the highlights. Chosen on the dev half of 670 real posts of ../shared/fixtures/feeds (research
# blogs vs product news, benchmarks/bench_posts.py): balanced accuracy 0.689 on the held-out half,
# against 0.50 for "every post under its area" and "every post in the highlights".
POST_AREA_SIMILARITY = 0.28
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
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
    """From the item's real length (paperfeed.digest.plan); a post without a stored word count
    is counted by its summary."""
    return reading_minutes(item.kind, item.pages, item.words or len(item.summary.split()))


def dated(item: StoredItem, now: datetime) -> tuple[datetime, str]:
    """The item's date: published, unless that is before 1990 or after it was first seen (or
    after now): then first seen."""
    published = item.published_at
    latest = min(now, item.first_seen_at) + FUTURE_SLACK
    if published is not None and EARLIEST_PLAUSIBLE <= published <= latest:
        return published, "published"
    return item.first_seen_at, "first_seen"


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
    ages = [(inputs.now - dated(i, inputs.now)[0]).total_seconds() / 86400 for i in items]
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


def _entry(
    inputs: DigestInputs, ranked: _Ranked, index: int, highlight: bool = False
) -> DigestEntry:
    item = inputs.items[index]
    area = int(ranked.area_of[index])
    when, dated_by = dated(item, inputs.now)
    source = item.sources[0] if item.sources else None
    reason = (
        why.highlight_line(item.title, item.summary, source, ranked.areas[area])
        if highlight
        else why.why_line(
            item.title, item.summary, inputs.vectors[index], ranked.areas[area], inputs.marked
        )
    )
    text = snippet(item.summary)
    return DigestEntry(
        item=item,
        area=ranked.areas[area].name,
        score=float(ranked.scores[index, area]),
        minutes=estimate_minutes(item),
        why=reason,
        url=item_url(item),
        source=source,
        snippet="" if text.rstrip(".…") == plain(item.title).rstrip(".…") else text,
        code_url=code_link(item.summary),
        explained_in=_explained_in(inputs, ranked, index),
        date=when.date(),
        dated_by=dated_by,
    )


def _pick(inputs: DigestInputs, ranked: _Ranked, members: np.ndarray, k: int) -> list[int]:
    """MMR over `members` (indices into the window) by their own area's score."""
    if not len(members) or k <= 0:
        return []
    own = ranked.scores[members, ranked.area_of[members]]
    return [int(members[i]) for i in rank.mmr(inputs.vectors[members], own, k)]


def _under_area(inputs: DigestInputs, ranked: _Ranked) -> np.ndarray:
    """(n,) papers, and posts close enough to their area's description to go under it."""
    is_paper = np.array([i.kind == ItemKind.PAPER for i in inputs.items], dtype=bool)
    if not len(ranked.areas) or not len(inputs.items):
        return is_paper
    own = inputs.area_vectors[ranked.area_of]
    cosine = np.einsum("ij,ij->i", inputs.vectors, own)
    return np.asarray(is_paper | (cosine >= POST_AREA_SIMILARITY))


def _budgeted(
    inputs: DigestInputs,
    under_areas: Sequence[DigestEntry],
    highlights: Sequence[DigestEntry],
    budget: float | None,
) -> set[int]:
    needs = [
        AreaNeed(row.area, row.goal, row.read)
        for row in inputs.progress
        if any(row.area == f.name for f in inputs.focus_areas)
    ]
    candidates = [Candidate(e.item.id, e.area, e.score, e.minutes) for e in under_areas]
    candidates += [Candidate(e.item.id, None, e.score, e.minutes) for e in highlights]
    return plan_budget(candidates, needs, budget)


def _distinct_whys(entries: list[DigestEntry]) -> tuple[DigestEntry, ...]:
    lines = why.distinct([e.why for e in entries])
    return tuple(replace(e, why=line) for e, line in zip(entries, lines, strict=True))


def build_digest(inputs: DigestInputs, options: DigestOptions) -> Digest:
    """Rank, assign, diversify, fit to the budget and describe the window's items. Pure."""
    areas = rank_areas(inputs.focus_areas, inputs.area_vectors)
    scores = rank.area_scores(_candidates(inputs), areas, inputs.feedback)
    ranked = _Ranked(scores, rank.assign(scores, areas), areas, papers_linked(inputs.posts))
    kept = ranked.area_of >= 0  # -1: every area's filters drop the item
    under = _under_area(inputs, ranked)
    per_area = [
        [
            _entry(inputs, ranked, i)
            for i in _pick(
                inputs, ranked, np.flatnonzero(under & (ranked.area_of == j)), options.per_area
            )
        ]
        for j in range(len(areas))
    ]
    posts = (
        [
            _entry(inputs, ranked, i, highlight=True)
            for i in _pick(inputs, ranked, np.flatnonzero(~under & kept), options.highlights)
        ]
        if areas
        else []
    )
    keep = _budgeted(inputs, [e for s in per_area for e in s], posts, options.budget_minutes)
    sections = tuple(
        Section(a.name, _distinct_whys([e for e in s if e.item.id in keep]))
        for a, s in zip(areas, per_area, strict=True)
    )
    return Digest(
        period_of(options.window_end),
        options.window_start,
        options.window_end,
        inputs.now,
        sections,
        _distinct_whys([e for e in posts if e.item.id in keep]),
        tuple(inputs.progress),
        tuple(attention(inputs.source_states)),
    )
