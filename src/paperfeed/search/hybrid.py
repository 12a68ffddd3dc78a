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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from paperfeed.errors import NotFound
from paperfeed.search.vectors import top_k

if TYPE_CHECKING:
    from paperfeed.search.files import Indexes
    from paperfeed.store import Store
    from paperfeed.store.items import StoredItem

DEFAULT_ALPHA = 0.7


@dataclass(frozen=True, slots=True)
class Fusion:
    method: str = "convex"  # convex | rrf
    alpha: float = DEFAULT_ALPHA  # weight of the dense side
    rrf_k: int = 60


@dataclass(frozen=True, slots=True)
class Filters:
    source: str | None = None
    tag: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive day
    unread: bool = False

    @property
    def active(self) -> bool:
        return bool(self.source or self.tag or self.since or self.until or self.unread)


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

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "arxiv_id": self.arxiv_id,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "published": self.published,
            "score": round(self.score, 6),
            "read": self.read,
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


def matches(
    item: StoredItem, filters: Filters, read_ids: set[int], tags_of: Callable[[str], Iterable[str]]
) -> bool:
    """Whether a stored item passes every active filter (pure)."""
    sources = tuple(item.sources or ())
    if filters.source and filters.source not in sources:
        return False
    if filters.tag and not any(filters.tag in tags_of(s) for s in sources):
        return False
    if filters.unread and int(item.id) in read_ids:
        return False
    when = item_date(item)
    if filters.since and (when is None or when < _day_start(filters.since)):
        return False
    return not (filters.until and (when is None or when >= _day_start(filters.until) + _ONE_DAY))


_ONE_DAY = timedelta(days=1)


# ---------------------------------------------------------------- search and similar


def _hit(item: StoredItem, score: float, read_ids: set[int]) -> Hit:
    sources = tuple(item.sources or ())
    when = item.published_at or item.first_seen_at
    return Hit(
        id=int(item.id),
        arxiv_id=item.arxiv_id,
        title=item.title,
        url=item.url,
        source=sources[0] if sources else None,
        published=when.date().isoformat() if when is not None else None,
        score=score,
        read=int(item.id) in read_ids,
        sources=sources,
    )


def _collect(
    store: Store,
    ranked_at: Callable[[int], list[tuple[int, float]]],
    k: int,
    total: int,
    filters: Filters,
    tags_of: Callable[[str], Iterable[str]],
) -> list[Hit]:
    """Fetch ranked candidates, growing the candidate list until k pass the filters."""
    read_ids: set[int] = set(store.reading.read_ids())
    limit = max(k * 10, 100) if filters.active else max(k * 5, 50)
    while True:
        ranked = ranked_at(limit)
        items = {int(i.id): i for i in store.items.get_many([i for i, _ in ranked])}
        hits = [_hit(items[i], s, read_ids) for i, s in ranked if i in items]
        hits = [h for h in hits if matches(items[h.id], filters, read_ids, tags_of)]
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
    tags_of: Callable[[str], Iterable[str]] = lambda _s: (),
    fusion: Fusion = Fusion(),
) -> list[Hit]:
    """The k best items for a free-text query."""
    vector = encode(query) if encode is not None and len(indexes.vectors) else None
    return _collect(
        store,
        lambda n: hybrid_rank(indexes, vector, query, n, fusion),
        k,
        len(indexes.vectors),
        filters,
        tags_of,
    )


def similar(
    store: Store,
    indexes: Indexes,
    ref: str | int,
    k: int = 10,
    fusion: Fusion = Fusion(),
    filters: Filters = Filters(),
    tags_of: Callable[[str], Iterable[str]] = lambda _s: (),
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
        lambda n: hybrid_rank(indexes, vector, text, n, fusion, exclude=[item_id]),
        k,
        len(indexes.vectors),
        filters,
        tags_of,
    )
