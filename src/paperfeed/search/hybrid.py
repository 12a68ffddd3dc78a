"""Hybrid search and 'more like this': dense similarity fused with BM25 keyword relevance.

I/O rule: no files and no SQL here. Fusion and filtering are pure functions; `search` and
`similar` read items through the `Store` repositories and scores through the `Indexes` given to
them (built by `paperfeed.search.files`), and return plain `Hit` records for the CLI to print.

Fusion: a convex mix of min-max normalised scores over the union of both candidate lists,
`alpha * dense + (1 - alpha) * bm25`. alpha=1 is dense only, alpha=0 BM25 only. Weighted
reciprocal-rank fusion is available too. The default alpha was chosen on the CSFCube dev folds
(benchmarks/eval_csfcube.py prints every setting tried).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from paperfeed.config import Config
from paperfeed.errors import NotFound
from paperfeed.search.bm25 import tokenize
from paperfeed.search.vectors import top_k

if TYPE_CHECKING:
    from paperfeed.search.files import Indexes
    from paperfeed.store import Store
    from paperfeed.store.items import StoredItem

DEFAULT_ALPHA = 0.7
# A candidate with no query word in its title or abstract is shown only when its cosine with
# the query reaches this (all-MiniLM-L6-v2; measured by benchmarks/eval_floor.py).
DENSE_FLOOR = 0.36


@dataclass(frozen=True, slots=True)
class Fusion:
    method: str = "convex"  # convex | rrf
    alpha: float = DEFAULT_ALPHA  # weight of the dense side
    rrf_k: int = 60
    dense_floor: float = DENSE_FLOOR


@dataclass(frozen=True, slots=True)
class Filters:
    source: str | None = None
    tag: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive day
    unread: bool = False
    saved: bool = False  # only items marked saved
    read: bool = False  # only items marked read
    area: str | None = None  # only items of this focus area

    @property
    def active(self) -> bool:
        return bool(
            self.source
            or self.tag
            or self.since
            or self.until
            or self.unread
            or self.saved
            or self.read
            or self.area
        )

    def describe(self) -> str:
        """The active filters in the words of the command line ('saved, source arXiv cs.LG')."""
        parts = [name for name in ("saved", "read", "unread") if getattr(self, name)]
        for name in ("source", "tag", "area", "since", "until"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name} {value}")
        return ", ".join(parts)


def _stored_sources(item: Any) -> tuple[str, ...]:
    return tuple(item.sources or ())


def _no_tags(_item: Any) -> Iterable[str]:
    return ()


def _no_areas(_items: Sequence[Any]) -> dict[int, str]:
    return {}


@dataclass(frozen=True, slots=True)
class Context:
    """What the filters know beyond a stored item: which sources and tags sources.yaml gives it
    (an arXiv paper counts under every arXiv source of its categories) and its focus area."""

    sources_of: Callable[[Any], tuple[str, ...]] = _stored_sources
    tags_of: Callable[[Any], Iterable[str]] = _no_tags
    areas_of: Callable[[Sequence[Any]], dict[int, str]] = _no_areas

    @classmethod
    def of(cls, config: Config | None, store: Any) -> Context:
        """The context sources.yaml gives (None: no sources.yaml, categories are still tags)."""
        if config is None:
            return cls(tags_of=lambda item: tuple(item.categories or ()))

        def sources_of(item: Any) -> tuple[str, ...]:
            return config.sources_of(item.sources or (), item.categories or ())

        def areas_of(items: Sequence[Any]) -> dict[int, str]:
            from paperfeed.marks import item_areas  # imports ranking: only for --area

            return item_areas(store, items, config.area_keywords())

        return cls(
            sources_of=sources_of,
            tags_of=lambda item: config.tags_of(sources_of(item), item.categories or ()),
            areas_of=areas_of,
        )


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    arxiv_id: str | None
    title: str
    url: str | None
    source: str | None
    published: str | None
    score: float
    read: bool
    sources: tuple[str, ...] = field(default=(), compare=False)
    saved: bool = False
    snippet: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "arxiv_id": self.arxiv_id,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "sources": list(self.sources),
            "published": self.published,
            "score": round(self.score, 6),
            "read": self.read,
            "saved": self.saved,
            "snippet": self.snippet,
        }


# ---------------------------------------------------------------- pure fusion


def minmax(scores: np.ndarray) -> np.ndarray:
    if len(scores) == 0:
        return scores.astype(np.float64)
    low, high = float(scores.min()), float(scores.max())
    if high - low <= 1e-12:
        return np.where(scores > 0, 1.0, 0.0) if high > 0 else np.zeros(len(scores))
    return (scores.astype(np.float64) - low) / (high - low)


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each score (highest = 1)."""
    order = np.argsort(-scores, kind="stable")
    out = np.empty(len(scores), dtype=np.int64)
    out[order] = np.arange(1, len(scores) + 1)
    return out


def fuse(dense: np.ndarray, keyword: np.ndarray, fusion: Fusion) -> np.ndarray:
    """Fused scores of the same candidates, given their dense and BM25 scores."""
    if fusion.method == "rrf":
        kw_rank = np.where(keyword > 0, 1.0 / (fusion.rrf_k + ranks(keyword)), 0.0)
        return fusion.alpha / (fusion.rrf_k + ranks(dense)) + (1 - fusion.alpha) * kw_rank
    if fusion.method != "convex":
        raise ValueError(f"unknown fusion method {fusion.method!r}")
    return fusion.alpha * minmax(dense) + (1 - fusion.alpha) * minmax(keyword)


def hybrid_rank(
    indexes: Indexes,
    query_vector: np.ndarray | None,
    query_text: str,
    limit: int,
    fusion: Fusion,
    allow_ids: Sequence[int] | None = None,
    exclude: Iterable[int] = (),
) -> list[tuple[int, float]]:
    """(id, fused score) for the best `limit` candidates from either side, best first."""
    vec, kw = indexes.vectors, indexes.keywords
    excluded = np.asarray(list(exclude), dtype=np.int64)
    allow_rows = vec.rows(allow_ids) if allow_ids is not None else None
    rows, kw_all = kw.top(query_text, limit, allow_rows, vec.rows(excluded))
    if query_vector is not None:
        dense_ids, _ = vec.search(query_vector, limit + len(excluded), allow_ids)
        dense_ids = dense_ids[~np.isin(dense_ids, excluded)][:limit]
        rows = np.union1d(rows, vec.rows(dense_ids))
    if len(rows) == 0:
        return []
    dense = (
        np.asarray(vec.matrix[rows]) @ np.asarray(query_vector, np.float32).ravel()
        if query_vector is not None
        else np.zeros(len(rows))
    )
    fused = fuse(dense, kw_all[rows], fusion)
    if query_vector is not None:  # fused first, so the floor never reorders what it keeps
        fused = np.where((kw_all[rows] > 0) | (dense >= fusion.dense_floor), fused, -np.inf)
    best = top_k(fused, limit)
    return [(int(vec.ids[rows[i]]), float(fused[i])) for i in best]


# ---------------------------------------------------------------- filters


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def item_date(item: StoredItem) -> datetime | None:
    when = item.published_at or item.first_seen_at
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


@dataclass(frozen=True, slots=True)
class Marked:
    """Ids of the items the learner marked read and saved."""

    read: frozenset[int] = frozenset()
    saved: frozenset[int] = frozenset()

    @classmethod
    def of(cls, store: Any) -> Marked:
        return cls(frozenset(store.reading.read_ids()), frozenset(store.reading.saved_ids()))

    def allowed(self, filters: Filters) -> frozenset[int] | None:
        """The only ids --saved / --read can let through (None: no such filter)."""
        if filters.saved and filters.read:
            return self.saved & self.read
        return self.saved if filters.saved else self.read if filters.read else None


def matches(item: Any, filters: Filters, marked: Marked, context: Context = Context()) -> bool:
    """Whether a stored item passes every active filter but --area (pure)."""
    item_id = int(item.id)
    if filters.source and filters.source not in context.sources_of(item):
        return False
    if filters.tag and filters.tag not in set(context.tags_of(item)):
        return False
    if (filters.unread and item_id in marked.read) or (filters.read and item_id not in marked.read):
        return False
    if filters.saved and item_id not in marked.saved:
        return False
    when = item_date(item)
    if filters.since and (when is None or when < _day_start(filters.since)):
        return False
    return not (filters.until and (when is None or when >= _day_start(filters.until) + _ONE_DAY))


_ONE_DAY = timedelta(days=1)


# ---------------------------------------------------------------- search and similar


def snippet(summary: str, query: str, width: int = 110) -> str:
    """One line of the abstract: the sentence naming most query words (the first on a tie)."""
    sentences = [x.strip() for x in _SENTENCE.split(" ".join(summary.split())) if x.strip()]
    if not sentences:
        return ""
    words = set(tokenize(query))
    best = max(sentences, key=lambda x: len(words.intersection(tokenize(x))))
    return best if len(best) <= width else best[: width - 1].rstrip() + "…"


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _hit(item: Any, score: float, marked: Marked, context: Context, query: str) -> Hit:
    sources = context.sources_of(item)
    when = item.published_at or item.first_seen_at
    return Hit(
        id=int(item.id),
        arxiv_id=item.arxiv_id,
        title=item.title,
        url=item.url,
        source=sources[0] if sources else None,
        published=when.date().isoformat() if when is not None else None,
        score=score,
        read=int(item.id) in marked.read,
        sources=sources,
        saved=int(item.id) in marked.saved,
        snippet=snippet(item.summary or "", query),
    )


def _passing(items: Sequence[Any], filters: Filters, marked: Marked, context: Context) -> list[Any]:
    kept = [i for i in items if matches(i, filters, marked, context)]
    if filters.area is None:
        return kept
    areas = context.areas_of(kept)
    return [i for i in kept if areas.get(int(i.id)) == filters.area]


def _collect(
    store: Any,
    ranked_at: Callable[[int, Sequence[int] | None], list[tuple[int, float]]],
    k: int,
    total: int,
    filters: Filters,
    context: Context,
    query: str,
) -> list[Hit]:
    """Fetch ranked candidates, growing the candidate list until k pass the filters."""
    marked = Marked.of(store)
    allowed = marked.allowed(filters)
    if allowed is not None and not allowed:
        return []
    allow_ids = sorted(allowed) if allowed is not None else None
    limit = max(k * 10, 100) if filters.active else max(k * 5, 50)
    while True:
        ranked = ranked_at(limit, allow_ids)
        items = {int(i.id): i for i in store.items.get_many([i for i, _ in ranked])}
        kept = {int(i.id) for i in _passing(list(items.values()), filters, marked, context)}
        hits = [_hit(items[i], s, marked, context, query) for i, s in ranked if i in kept]
        if len(hits) >= k or limit >= total or len(ranked) < limit:
            return hits[:k]
        limit *= 4


def search(
    store: Store,
    indexes: Indexes,
    encode: Callable[[str], np.ndarray] | None,
    query: str,
    k: int = 10,
    filters: Filters = Filters(),
    context: Context = Context(),
    fusion: Fusion = Fusion(),
) -> list[Hit]:
    """The k best items for a free-text query: each names a query word or passes the floor."""
    vector = encode(query) if encode is not None and len(indexes.vectors) else None
    return _collect(
        store,
        lambda n, allow: hybrid_rank(indexes, vector, query, n, fusion, allow),
        k,
        len(indexes.vectors),
        filters,
        context,
        query,
    )


def similar(
    store: Store,
    indexes: Indexes,
    ref: str | int,
    k: int = 10,
    fusion: Fusion = Fusion(),
    filters: Filters = Filters(),
    context: Context = Context(),
) -> list[Hit]:
    """'More like this': items nearest to a stored item, the item itself left out."""
    item_id = int(ref) if isinstance(ref, int) else int(store.items.resolve(ref))
    vector = indexes.vectors.vector(item_id)
    if vector is None:
        raise NotFound(
            f"item {item_id} has no embedding for {indexes.vectors.model}; "
            "run `paperfeed embed` first"
        )
    items = store.items.get_many([item_id])
    text = f"{items[0].title}\n\n{items[0].summary}" if items else ""
    return _collect(
        store,
        lambda n, allow: hybrid_rank(indexes, vector, text, n, fusion, allow, exclude=[item_id]),
        k,
        len(indexes.vectors),
        filters,
        context,
        text,
    )
