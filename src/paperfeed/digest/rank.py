"""Ranking the week's items against the learner's focus areas. Pure: numpy arrays in, scores out.

An item's score for an area, from signals z-scored over the window's items:

    description  cosine to the area's query (its embedded description + keywords, moved toward
                 the centroid of items read, saved or rated up in that area and away from those
                 rated down: Rocchio), plus Okapi BM25 of its words over the window's titles and
                 summaries at a weight that shrinks for areas of few words
    model        once an area has MIN_MODEL_POSITIVES reads or examples: the learner's own
                 classifier on embeddings (paperfeed.digest.learn; as arxiv-sanity trains its
                 per-user SVM), blended with the description in the share that best ranks the
                 learner's history (reads against what they left unread)
    context      exp(-age / 7 days), and the source's configured weight (log)

An area's `exclude`/`require` words drop items from it outright. Each item then goes to the one
area where it scores best (plus log of the area's weight), and each area's list is diversified
with MMR, never keeping two near-identical items.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from paperfeed.digest.learn import ReaderModel, fit_reader_model

MIN_MODEL_POSITIVES = 3  # reads (or examples) before an area has a reader model
MIN_NEGATIVES = 50  # below this many unread or down-rated items, the window's items join them
WINDOW_NEGATIVES = 500  # about this many of the window's items, sampled, when they stand in
STRONG_NEGATIVE = 3.0  # weight of an item rated down against one merely left unread
NEAR_DUPLICATE = 0.92  # cosine above which two items count as the same paper


@dataclass(frozen=True, slots=True)
class Weights:
    """How the signals combine, chosen on the tuning half of benchmarks/bench_rank.py (17 areas x
    3 styles x the 3 oldest tuning weeks, 153 cases; mean P@10, dense-only cosine 0.393):
    BM25 weight 0 / 0.2 / 0.3 / 0.6 / 1.0 gave 0.393 / 0.402 / 0.400 / 0.380 / 0.365, with the
    short phrases always losing to dense; scaling it by the rarity of the area's words (0.386 at
    0.6, 0.397 at 0.3) did not help; pseudo-relevance feedback (0.5-1.0, 20-50 items) lowered
    it (0.364-0.370); BM25 0.3 in full from 10 words on (less for shorter areas) scored 0.405,
    losing to dense in no style (phrase 1.000x, sentence 1.035x, description 1.052x). Reader
    model: shrink 0 / 5 / 15 gave 0.476 / 0.467 / 0.447 at 5 reads and 0.533 / 0.532 / 0.519 at
    20; ridge 0.3 / 1 / 3 gave 0.519 / 0.532 / 0.531 at 20; no Rocchio 0.526."""

    semantic: float = 1.0
    bm25: float = 0.3
    bm25_specific: bool = False  # scale bm25 by how rare the area's words are in the window
    bm25_terms: float = 10.0  # if set, bm25 in full only for areas of at least this many words
    prf: float = 0.0  # how far the window's nearest items move an area's query
    prf_top: int = 20  # how many of them
    rocchio: float = 0.5  # how far the learner's reads move an area's query
    rocchio_full: float = 10.0  # positives at which that move reaches its full size
    model_l2: float = 1.0  # the reader model's ridge penalty
    model_shrink: float = 0.0  # with p reads, the model's share is scaled by p / (p + this)
    recency: float = 0.1
    source: float = 0.3


@dataclass(frozen=True, slots=True)
class Area:
    name: str
    vector: np.ndarray  # (d,), L2-normalised
    keywords: tuple[str, ...] = ()
    weight: float = 1.0
    description: str = ""
    exclude: tuple[str, ...] = ()  # items naming any of these are dropped from the area
    require: tuple[str, ...] = ()  # when set, items naming none of these are dropped


@dataclass(frozen=True, slots=True)
class Feedback:
    """The learner's history: one row per item. label +1 read/saved/rated up, -1 rated down,
    0 shown (or arrived) and not read; area -1 for an item of no particular area."""

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
    corpus: Corpus | None = None  # the tokenized texts, when the caller already has them


def zscore(values: np.ndarray) -> np.ndarray:
    """Column-wise z-scores; a constant column becomes zeros."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] == 0:
        return values
    spread = values.std(axis=0)
    safe = np.where(spread > 1e-12, spread, 1.0)
    return np.where(spread > 1e-12, (values - values.mean(axis=0)) / safe, 0.0)


@functools.lru_cache(maxsize=1024)  # the same few keywords, for every item of a window
def _phrase(keyword: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(keyword.lower()) + r"(?:e?s)?(?![a-z0-9])")


def matched_keywords(title: str, summary: str, keywords: Sequence[str]) -> list[str]:
    text = f"{title}\n{summary}".lower()
    return [k for k in keywords if k.strip() and _phrase(k.strip()).search(text)]


def keyword_scores(
    titles: Sequence[str], summaries: Sequence[str], keywords: Sequence[str]
) -> np.ndarray:
    """(n,) keyword relevance: 2 per keyword in the title, 1 per keyword in the summary."""
    return Corpus.of(titles, summaries).keyword_scores(keywords)


_TOKEN = re.compile(r"[a-z0-9]{2,}")  # maximal alphanumeric runs of two characters or more
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
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    return [_tokens(t) for t in texts]


def _okapi(tf: np.ndarray, lengths: np.ndarray, df: np.ndarray, k1: float, b: float) -> np.ndarray:
    """(n,) BM25 from term counts (n, q), document lengths (n,) and document frequencies (q,)."""
    n = len(lengths)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    norm = k1 * (1 - b + b * lengths / max(float(lengths.mean()), 1.0))
    return np.asarray((tf * (k1 + 1) / (tf + norm[:, None])) @ idf)


def bm25(docs: Sequence[Sequence[str]], query: str, k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """(n,) Okapi BM25 of `query` against tokenized `docs`, with IDF taken over `docs`."""
    terms = sorted(set(_tokens(query)))
    if not terms or not docs:
        return np.zeros(len(docs))
    tf = np.array([[doc.count(term) for term in terms] for doc in docs], dtype=np.float64)
    lengths = np.array([len(d) for d in docs], dtype=np.float64)
    return _okapi(tf, lengths, (tf > 0).sum(axis=0), k1, b)


@dataclass(frozen=True, slots=True)
class Corpus:
    """The window's texts, lowercased and tokenized once for every area (the per-area work is
    then vectorised): token ids in one flat array with the document each token belongs to."""

    titles: list[str]  # lowercased
    summaries: list[str]  # lowercased
    vocab: dict[str, int]
    token_ids: np.ndarray  # (T,) stopwords left out
    doc_of: np.ndarray  # (T,)
    lengths: np.ndarray  # (n,)

    @classmethod
    def of(cls, titles: Sequence[str], summaries: Sequence[str]) -> Corpus:
        low_titles = [t.lower() for t in titles]
        low_summaries = [s.lower() for s in summaries]
        vocab: dict[str, int] = {}
        fresh = itertools.count()
        ids: list[int] = []
        lengths = []
        for title, summary in zip(low_titles, low_summaries, strict=True):
            found = _TOKEN.findall(title) + _TOKEN.findall(summary)
            ids.extend(map(vocab.setdefault, found, fresh))
            lengths.append(len(found))
        flat = np.array(ids, dtype=np.int64)
        doc_of = np.repeat(np.arange(len(lengths)), lengths)
        stop = np.array([vocab[w] for w in _STOPWORDS if w in vocab], dtype=np.int64)
        keep = ~np.isin(flat, stop)
        counts = np.bincount(doc_of[keep], minlength=len(lengths)).astype(np.float64)
        return cls(low_titles, low_summaries, vocab, flat[keep], doc_of[keep], counts)

    def bm25(self, query: str, k1: float = 1.5, b: float = 0.75) -> np.ndarray:
        """(n,) Okapi BM25 of `query` over the corpus, IDF taken over the corpus."""
        n = len(self.lengths)
        terms = sorted({self.vocab[t] for t in _tokens(query) if t in self.vocab})
        if not terms or n == 0:
            return np.zeros(n)
        column = np.full(max(self.vocab.values()) + 1, -1, dtype=np.int64)
        column[terms] = np.arange(len(terms))
        hit = column[self.token_ids]
        mask = hit >= 0
        tf = np.bincount(
            self.doc_of[mask] * len(terms) + hit[mask], minlength=n * len(terms)
        ).reshape(n, len(terms))
        return _okapi(tf.astype(np.float64), self.lengths, (tf > 0).sum(axis=0), k1, b)

    def specificity(self, query: str) -> float:
        """0..1: how rare the query's words are in the corpus, on average (a word in at most
        1% of the documents counts 1, one in every document 0); 0 for no known word."""
        n = len(self.lengths)
        terms = sorted({self.vocab[t] for t in _tokens(query) if t in self.vocab})
        if not terms or n == 0:
            return 0.0
        width = max(self.vocab.values()) + 1  # ids are unique, not dense
        present = np.isin(self.token_ids, terms)
        pairs = np.unique(self.doc_of[present] * width + self.token_ids[present])
        df = np.bincount(pairs % width, minlength=width)[terms]
        rarity = np.log(n / np.maximum(df, 1)) / np.log(100.0)
        return float(np.clip(rarity, 0.0, 1.0).mean())

    def keyword_scores(self, keywords: Sequence[str]) -> np.ndarray:
        """(n,) log(1 + 2 per keyword in the title + 1 per keyword in the summary)."""
        hits = np.zeros(len(self.titles))
        for keyword in {k.strip().lower() for k in keywords if k.strip()}:
            pattern = _phrase(keyword)
            for texts, points in ((self.titles, 2), (self.summaries, 1)):
                for i, text in enumerate(texts):
                    # the substring test is a fast filter: the pattern needs the keyword itself
                    if keyword in text and pattern.search(text):
                        hits[i] += points
        return np.log1p(hits)


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


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return np.asarray(vector / norm if norm > 0 else vector, dtype=np.float64)


def area_query(area: Area, feedback: Feedback, index: int, weights: Weights) -> np.ndarray:
    """The area's query moved towards the centroid of what was read, saved or rated up in it and
    away from what was rated down (Rocchio). The learner's reads say what they mean by the
    area better than its description does, so they move the query itself."""
    mine = feedback.areas == index
    pos = feedback.vectors[mine & (feedback.labels > 0)]
    neg = feedback.vectors[mine & (feedback.labels < 0)]
    query = np.asarray(area.vector, dtype=np.float64)
    if len(pos):
        query = query + weights.rocchio * min(1.0, len(pos) / weights.rocchio_full) * _centroid(pos)
    if len(neg):
        query = query - 0.5 * weights.rocchio * _centroid(neg)
    return _unit(query)


def training_rows(
    vectors: np.ndarray, feedback: Feedback, area: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positives, negatives, negative weights) for one area's reader model. Positives: read,
    saved or rated up in the area. Negatives: items shown and not read (label 0, any area),
    rated down (any area, STRONG_NEGATIVE times the weight), and about WINDOW_NEGATIVES of the
    window's items when the learner's history has fewer than MIN_NEGATIVES of those."""
    pos = feedback.vectors[(feedback.areas == area) & (feedback.labels > 0)]
    unread = feedback.vectors[feedback.labels == 0]
    down = feedback.vectors[feedback.labels < 0]
    if len(unread) + len(down) < MIN_NEGATIVES:
        stride = max(1, len(vectors) // WINDOW_NEGATIVES)  # every stride-th: a fixed sample
        unread = np.vstack([unread, vectors[::stride]])
    neg_weight = np.concatenate([np.ones(len(unread)), np.full(len(down), STRONG_NEGATIVE)])
    return pos, np.vstack([unread, down]), neg_weight


def positives(feedback: Feedback, area: int) -> int:
    return int(((feedback.areas == area) & (feedback.labels > 0)).sum())


def reader_model(
    vectors: np.ndarray, feedback: Feedback, area: int, query: np.ndarray, weights: Weights
) -> ReaderModel | None:
    """The area's classifier of the learner's reads, None below MIN_MODEL_POSITIVES reads."""
    if positives(feedback, area) < MIN_MODEL_POSITIVES:
        return None
    pos, neg, neg_weight = training_rows(vectors, feedback, area)
    return fit_reader_model(pos, neg, neg_weight, query, weights.model_l2, weights.model_shrink)


def _context_signal(cands: Candidates, n: int, weights: Weights) -> np.ndarray:
    signal = np.zeros(n)
    if len(cands.age_days) == n:
        signal += weights.recency * np.exp(-np.clip(cands.age_days, 0, None) / 7.0)
    if len(cands.source_weight) == n:
        signal += weights.source * np.log(np.clip(cands.source_weight, 1e-3, None))
    return signal


def allowed(corpus: Corpus, area: Area) -> np.ndarray:
    """(n,) False for items the area's hard filters drop: one of its `exclude` words, or none
    of its `require` words (whole words, case-insensitive, plurals included)."""
    keep = np.ones(len(corpus.titles), dtype=bool)
    if area.require:
        keep &= corpus.keyword_scores(area.require) > 0
    if area.exclude:
        keep &= corpus.keyword_scores(area.exclude) == 0
    return keep


def area_scores(
    cands: Candidates,
    areas: Sequence[Area],
    feedback: Feedback | None = None,
    weights: Weights = Weights(),
) -> np.ndarray:
    """(n, k) each item's score for each area; -inf where the area's filters drop the item."""
    # One BLAS thread: these products and solves are a few hundred wide, and on busy cores
    # OpenBLAS's thread start-up costs more than the arithmetic (measured: 0.18 s for the
    # window's Gram and five solves with two threads, 0.08 s with one).
    with threadpool_limits(limits=1, user_api="blas"):
        return _area_scores(cands, areas, feedback, weights)


def description_signal(
    vectors: np.ndarray, corpus: Corpus, area: Area, query: np.ndarray, weights: Weights
) -> np.ndarray:
    """(n,) the area's no-feedback relevance, z-scored: cosine to its query plus BM25 of its
    words."""
    words = f"{area.description} {' '.join(area.keywords)}"
    weight = weights.bm25 * (corpus.specificity(words) if weights.bm25_specific else 1.0)
    if weights.bm25_terms:  # a two-word phrase gives BM25 too little to go on
        weight *= min(1.0, len(set(_tokens(words))) / weights.bm25_terms)
    return zscore(weights.semantic * zscore(vectors @ query) + weight * zscore(corpus.bm25(words)))


def pseudo_relevance(vectors: np.ndarray, query: np.ndarray, weights: Weights) -> np.ndarray:
    """The query moved toward the centroid of the window's `prf_top` nearest items: what the
    week's papers on the topic look like, which a short description cannot say."""
    if not weights.prf or len(vectors) <= weights.prf_top:
        return query
    top = np.argpartition(-(vectors @ query), weights.prf_top)[: weights.prf_top]
    return _unit(query + weights.prf * _centroid(vectors[top]))


def _area_scores(
    cands: Candidates, areas: Sequence[Area], feedback: Feedback | None, weights: Weights
) -> np.ndarray:
    n = len(cands.titles)
    feedback = feedback or Feedback.empty(cands.vectors.shape[1])
    scores = np.zeros((n, len(areas)))
    if n == 0:
        return scores
    vectors = np.asarray(cands.vectors, dtype=np.float64)
    context = _context_signal(cands, n, weights)
    corpus = cands.corpus or Corpus.of(cands.titles, cands.summaries)
    for j, area in enumerate(areas):
        query = pseudo_relevance(vectors, area_query(area, feedback, j, weights), weights)
        relevance = description_signal(vectors, corpus, area, query, weights)
        model = reader_model(cands.vectors, feedback, j, np.asarray(area.vector), weights)
        if model is not None and model.share > 0:
            learned = zscore(model.score(vectors))
            relevance = (1 - model.share) * relevance + model.share * learned
        scores[:, j] = np.where(allowed(corpus, area), context + relevance, -np.inf)
    return scores


def assign(scores: np.ndarray, areas: Sequence[Area]) -> np.ndarray:
    """(n,) the one area each item goes under: best score plus log of the area's weight; -1
    for an item every area's filters drop."""
    if scores.shape[1] == 0:
        return np.zeros(scores.shape[0], dtype=np.int64)
    bonus = np.log(np.clip([a.weight for a in areas], 1e-3, None))
    best = np.asarray((scores + bonus).argmax(axis=1), dtype=np.int64)
    return np.where(np.isfinite(scores).any(axis=1), best, -1)


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
    with threadpool_limits(limits=1, user_api="blas"):  # a 100-wide product: see area_scores
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
