"""Ranking the week's items against the learner's focus areas. Pure: numpy arrays in, scores out.

An item's score for an area is a weighted sum of signals, each z-scored over the window's items
so that no signal dominates by its scale:

    semantic   cosine to the area's embedded description + keywords
    keyword    keyword phrases found in the title (2) and the summary (1), log-damped
    bm25       Okapi BM25 of the description and keywords over the window's titles+summaries
    feedback   cosine to the centroid of items read, saved or rated up in that area, minus
               half the cosine to the centroid of items rated down
    model      once an area has MIN_MODEL_POSITIVES positives: a ridge classifier on embeddings
               (positives against the window's items and the down-rated ones, as arxiv-sanity
               trains its per-user SVM), solved in closed form
    recency    exp(-age / 7 days), and the source's configured weight (log)

Each item then goes to the one area where it scores best (plus log of the area's weight), and
each area's list is diversified with MMR, never keeping two near-identical items.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MIN_MODEL_POSITIVES = 10
NEAR_DUPLICATE = 0.92  # cosine above which two items count as the same paper


@dataclass(frozen=True, slots=True)
class Weights:
    semantic: float = 1.0
    keyword: float = 0.3
    bm25: float = 0.6
    feedback: float = 0.5
    model: float = 0.5
    recency: float = 0.1
    source: float = 0.3


@dataclass(frozen=True, slots=True)
class Area:
    name: str
    vector: np.ndarray  # (d,), L2-normalised
    keywords: tuple[str, ...] = ()
    weight: float = 1.0
    description: str = ""


@dataclass(frozen=True, slots=True)
class Feedback:
    """The learner's marks: one row per marked item. label +1 read/saved/up, -1 rated down."""

    vectors: np.ndarray  # (m, d)
    labels: np.ndarray  # (m,)
    areas: np.ndarray  # (m,) index of the area each marked item belongs to

    @classmethod
    def empty(cls, dim: int) -> Feedback:
        return cls(np.zeros((0, dim), np.float32), np.zeros(0), np.zeros(0, np.int64))


@dataclass(frozen=True, slots=True)
class Candidates:
    vectors: np.ndarray  # (n, d), L2-normalised (zero rows for items without a vector)
    titles: Sequence[str]
    summaries: Sequence[str]
    age_days: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (n,) or empty
    source_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (n,) or empty


def zscore(values: np.ndarray) -> np.ndarray:
    """Column-wise z-scores; a constant column becomes zeros."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] == 0:
        return values
    spread = values.std(axis=0)
    safe = np.where(spread > 1e-12, spread, 1.0)
    return np.where(spread > 1e-12, (values - values.mean(axis=0)) / safe, 0.0)


def _phrase(keyword: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(keyword.lower()) + r"(?:e?s)?(?![a-z0-9])")


def matched_keywords(title: str, summary: str, keywords: Sequence[str]) -> list[str]:
    text = f"{title}\n{summary}".lower()
    return [k for k in keywords if k.strip() and _phrase(k.strip()).search(text)]


def keyword_scores(
    titles: Sequence[str], summaries: Sequence[str], keywords: Sequence[str]
) -> np.ndarray:
    """(n,) keyword relevance: 2 per keyword in the title, 1 per keyword in the summary."""
    patterns = [_phrase(k.strip()) for k in keywords if k.strip()]
    scores = np.zeros(len(titles))
    if not patterns:
        return scores
    for i, (title, summary) in enumerate(zip(titles, summaries, strict=True)):
        low_title, low_summary = title.lower(), summary.lower()
        hits = sum(2 * bool(p.search(low_title)) + bool(p.search(low_summary)) for p in patterns)
        scores[i] = math.log1p(hits)
    return scores


_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "how",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "what",
        "when",
        "which",
        "with",
    ]
)


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS and len(t) > 1]


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    return [_tokens(t) for t in texts]


def bm25(docs: Sequence[Sequence[str]], query: str, k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """(n,) Okapi BM25 of `query` against tokenized `docs`, with IDF taken over `docs`."""
    terms = sorted(set(_tokens(query)))
    if not terms or not docs:
        return np.zeros(len(docs))
    index = {term: j for j, term in enumerate(terms)}
    tf = np.zeros((len(docs), len(terms)))
    for i, doc in enumerate(docs):
        for token in doc:
            j = index.get(token)
            if j is not None:
                tf[i, j] += 1
    lengths = np.array([len(d) for d in docs], dtype=np.float64)
    df = (tf > 0).sum(axis=0)
    idf = np.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
    norm = k1 * (1 - b + b * lengths / max(lengths.mean(), 1.0))
    return np.asarray((tf * (k1 + 1) / (tf + norm[:, None])) @ idf)


def attribute(
    vectors: np.ndarray, areas: Sequence[Area], keyword_hits: np.ndarray | None = None
) -> np.ndarray:
    """(m,) the best area of each item on absolute signals (cosine plus a keyword bonus)."""
    if not areas or len(vectors) == 0:
        return np.zeros(len(vectors), dtype=np.int64)
    sims = vectors @ np.stack([a.vector for a in areas]).T
    if keyword_hits is not None:
        sims = sims + 0.05 * keyword_hits
    return np.asarray(sims.argmax(axis=1), dtype=np.int64)


def _centroid(rows: np.ndarray) -> np.ndarray:
    mean = rows.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return np.asarray(mean / norm if norm > 0 else mean)


def feedback_signal(vectors: np.ndarray, feedback: Feedback, area: int) -> np.ndarray:
    """(n,) cosine to the centroid of the area's positive marks minus half the cosine to the
    centroid of its down-ratings (Rocchio: robust to one odd paper among the reads)."""
    mine = feedback.areas == area
    pos = feedback.vectors[mine & (feedback.labels > 0)]
    neg = feedback.vectors[mine & (feedback.labels < 0)]
    signal = vectors @ _centroid(pos) if len(pos) else np.zeros(len(vectors))
    if len(neg):
        signal = signal - 0.5 * (vectors @ _centroid(neg))
    return np.asarray(signal, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Gram:
    """Second moments of the negatives (with a bias column): shared by every area's model."""

    outer: np.ndarray  # (d+1, d+1)
    total: np.ndarray  # (d+1,)
    count: int

    @classmethod
    def of(cls, rows: np.ndarray) -> _Gram:
        x = np.hstack([rows.astype(np.float64), np.ones((len(rows), 1))])
        return cls(x.T @ x, x.sum(axis=0), len(x))


def _ridge(positives: np.ndarray, negatives: _Gram, alpha: float) -> np.ndarray:
    x = np.hstack([positives.astype(np.float64), np.ones((len(positives), 1))])
    wp, wn = 0.5 / max(len(x), 1), 0.5 / max(negatives.count, 1)
    gram = wp * x.T @ x + wn * negatives.outer
    gram += alpha / (len(x) + negatives.count) * np.eye(len(gram))
    return np.asarray(np.linalg.solve(gram, wp * x.sum(axis=0) - wn * negatives.total))


def ridge_model(positives: np.ndarray, negatives: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Weights (d+1,) of a class-balanced ridge classifier (+1 positives, -1 negatives),
    solved in closed form from second moments."""
    return _ridge(positives, _Gram.of(negatives), alpha)


def model_signal(
    vectors: np.ndarray, feedback: Feedback, area: int, negatives: _Gram | None = None
) -> np.ndarray:
    """(n,) the per-learner model's decision value, or zeros without enough positives.
    Negatives: the window's items and everything rated down (`negatives` when precomputed)."""
    mine = feedback.areas == area
    pos = feedback.vectors[mine & (feedback.labels > 0)]
    if len(pos) < MIN_MODEL_POSITIVES:
        return np.zeros(len(vectors))
    if negatives is None:
        negatives = _Gram.of(np.vstack([vectors, feedback.vectors[feedback.labels < 0]]))
    weights = _ridge(pos, negatives, 1.0)
    return np.asarray(vectors.astype(np.float64) @ weights[:-1] + weights[-1])


def _negatives(vectors: np.ndarray, feedback: Feedback) -> _Gram | None:
    counts = np.bincount(feedback.areas[(feedback.labels > 0) & (feedback.areas >= 0)], minlength=1)
    if counts.max(initial=0) < MIN_MODEL_POSITIVES:
        return None
    return _Gram.of(np.vstack([vectors, feedback.vectors[feedback.labels < 0]]))


def _context_signal(cands: Candidates, n: int, weights: Weights) -> np.ndarray:
    signal = np.zeros(n)
    if len(cands.age_days) == n:
        signal += weights.recency * np.exp(-np.clip(cands.age_days, 0, None) / 7.0)
    if len(cands.source_weight) == n:
        signal += weights.source * np.log(np.clip(cands.source_weight, 1e-3, None))
    return signal


def area_scores(
    cands: Candidates,
    areas: Sequence[Area],
    feedback: Feedback | None = None,
    weights: Weights = Weights(),
) -> np.ndarray:
    """(n, k) each item's score for each area."""
    n = len(cands.titles)
    feedback = feedback or Feedback.empty(cands.vectors.shape[1])
    scores = np.zeros((n, len(areas)))
    if n == 0:
        return scores
    context = _context_signal(cands, n, weights)
    negatives = _negatives(cands.vectors, feedback)
    docs = tokenize([f"{t} {s}" for t, s in zip(cands.titles, cands.summaries, strict=True)])
    for j, area in enumerate(areas):
        semantic = cands.vectors @ area.vector
        keyword = keyword_scores(cands.titles, cands.summaries, area.keywords)
        lexical = bm25(docs, f"{area.description} {' '.join(area.keywords)}")
        scores[:, j] = (
            weights.semantic * zscore(semantic)
            + weights.keyword * zscore(keyword)
            + weights.bm25 * zscore(lexical)
            + weights.feedback * zscore(feedback_signal(cands.vectors, feedback, j))
            + weights.model * zscore(model_signal(cands.vectors, feedback, j, negatives))
            + context
        )
    return scores


def assign(scores: np.ndarray, areas: Sequence[Area]) -> np.ndarray:
    """(n,) the one area each item goes under: best score plus log of the area's weight."""
    if scores.shape[1] == 0:
        return np.zeros(scores.shape[0], dtype=np.int64)
    bonus = np.log(np.clip([a.weight for a in areas], 1e-3, None))
    return np.asarray((scores + bonus).argmax(axis=1), dtype=np.int64)


def mmr(
    vectors: np.ndarray,
    scores: np.ndarray,
    k: int,
    diversity: float = 0.3,
    pool: int = 100,
    near_duplicate: float = NEAR_DUPLICATE,
) -> list[int]:
    """Indices of up to k items by maximal marginal relevance, skipping near-duplicates."""
    order = [int(i) for i in np.argsort(-scores, kind="stable")[:pool]]
    if not order or k <= 0:
        return []
    relevance = scores[order]
    spread = float(relevance.max() - relevance.min()) or 1.0
    relevance = (relevance - relevance.min()) / spread
    sims = vectors[order] @ vectors[order].T
    chosen: list[int] = []
    closest = np.full(len(order), -1.0)
    available = np.ones(len(order), dtype=bool)
    while len(chosen) < k and available.any():
        value = (1 - diversity) * relevance - diversity * np.clip(closest, 0, None)
        best = int(np.argmax(np.where(available, value, -np.inf)))
        available[best] = False
        if closest[best] > near_duplicate:
            continue
        chosen.append(best)
        closest = np.maximum(closest, sims[best])
    return [order[i] for i in chosen]


def keyword_area(
    title: str, summary: str, areas: Sequence[tuple[str, Sequence[str]]]
) -> str | None:
    """The area whose keywords the text names most often (None when it names none): the light
    attribution `list` and `stats` use for items no digest has sent (no model needed)."""
    counts = [(len(matched_keywords(title, summary, keywords)), name) for name, keywords in areas]
    best = max(counts, default=(0, None), key=lambda pair: pair[0])
    return best[1] if best[0] > 0 else None
