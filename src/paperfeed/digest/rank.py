"""Ranking the week's items against the learner's focus areas. Pure: numpy arrays in, scores out.

An item's score for an area, from signals z-scored over the window's items:

    description  cosine to the area's query (its embedded description + keywords, moved toward
                 the centroid of items read, saved or rated up in that area and away from those
                 rated down: Rocchio), both taken relative to the window's mean vector (every
                 abstract shares that direction, which says nothing of its topic), plus Okapi
                 BM25 of its words over the window's titles and summaries at a weight that
                 shrinks for areas of few words
    model        once an area has MIN_MODEL_POSITIVES reads or examples: the learner's own
                 classifier on embeddings (paperfeed.digest.learn; as arxiv-sanity trains its
                 per-user SVM), blended with the description in the share that best ranks the
                 learner's history (reads against what they left unread)
    expansion    BM25 over the words that set the window's best items so far apart from the
                 rest (pseudo-relevance feedback in words: a short description names few of
                 the words its papers use)
    neighbours   the mean score of each item's NEIGHBOURS nearest window items: a paper
                 among papers of the topic is likely of the topic too
    self-trained a classifier of the window's best items so far against the rest, blended in:
                 what this week's papers on the topic look like, which a short description
                 cannot say
    context      exp(-age / 7 days), and the source's configured weight (log)

An area's `exclude`/`require` words drop items from it outright. Each item then goes to the one
area where it scores best (plus log of the area's weight), and each area's list is diversified
with MMR, never keeping two near-identical items.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from paperfeed.digest.learn import ReaderModel, fit_linear, fit_reader_model
from paperfeed.search.bm25 import KeywordIndex, content_words

MIN_MODEL_POSITIVES = 3  # reads (or examples) before an area has a reader model
MIN_NEGATIVES = 50  # below this many unread or down-rated items, the window's items join them
WINDOW_NEGATIVES = 500  # about this many of the window's items, sampled, when they stand in
STRONG_NEGATIVE = 3.0  # weight of an item rated down against one merely left unread
NEAR_DUPLICATE = 0.92  # cosine above which two items count as the same paper
SELF_TRAIN_L2 = 1.0  # ridge penalty of the classifier of the window's best items
NEIGHBOURS = 10  # nearest window items whose mean score an item's score is blended with
NEAREST_CELLS = 1 << 22  # similarities computed at once (16 MB; a bigger block is slower)
# MMR's weight on novelty. Tuning half, first 5 weeks (255 cases; ranking 0.430 / 0.536 with
# no reads / 20 reads), digest section: 0.3 gave 0.402 / 0.516, 0.15 0.419 / 0.530, 0.1
# 0.422 / 0.535, 0.05 0.427 / 0.538; near-duplicates are skipped whatever the weight. 0.1
# keeps some variety and leaves room under the 0.02 the section may lose. On the first 3
# weeks, placing each item under the area whose list it stands highest in, instead of by
# score, gave 0.441 / 0.554 against 0.438 / 0.559 at 0.1: not kept.
DIVERSITY = 0.1


@dataclass(frozen=True, slots=True)
class Weights:
    """How the signals combine, chosen on the tuning half of benchmarks/bench_rank.py (17 areas x
    3 styles x 9 tuning weeks, 459 cases, mean P@10; dense-only cosine 0.342). Earlier choices:
    BM25 0.3 in full from 10 words on (0.348; 0.6 or scaling by word rarity did worse), Rocchio
    0.5, ridge 1, no shrink; moving the query to the centroid of the window's nearest items
    lowered it. This round: centering 0.5 / 1 gave 0.361 / 0.362; self-training 0.3 / 0.6 /
    0.8 / 1 (30 items) gave 0.353 / 0.365 / 0.370 / -; both, center 1 with self-training
    0.6 / 0.7 / 0.8 / 1, gave 0.376 / 0.378 / 0.379 / 0.370 (digest sections 0.360 / 0.360 /
    0.355 / 0.338: 0.7 keeps the section within 0.02 of the ranking), 15 / 40 / 60 items at 0.6
    to 0.8 gave 0.373-0.380. At 20 reads self-training after the reader model gave 0.448 vs
    0.441 without; the reader model on centered vectors 0.437; 1,000 unread negatives instead
    of 300, 0.451 (and 5 reads 0.407 vs 0.412); nearest-read similarity 0.447. Then (3 December,
    2 read samples; no reads / 5 / 20 reads [digest sections]): as above 0.378 [0.373] / 0.413 /
    0.446 [0.446]; neighbours 0.3: 0.385 [0.383] / 0.420 / 0.452 [0.451]; expansion 0.15 (60
    words): 0.383 [0.388] / 0.418 / 0.450 [0.454]; both: 0.388 [0.391] / 0.420 / 0.451 [0.456]
    (kept); both with neighbours 0.2 / 0.4 or expansion 0.1 / 0.2: 0.387-0.389 with no reads,
    0.447-0.450 at 20. Not kept, each within 0.005 on the first 5 weeks: a few-word description
    as one whole-phrase keyword; BM25 relevance feedback over the reads' words
    (Robertson-Sparck Jones weights); self-training also on the store's best items; two rounds
    of self-training; another self-training share once an area has reads; the window's sample
    always among the reader model's negatives (weight 0.3 / 1: 5 reads 0.498 / 0.495 vs 0.492,
    20 reads 0.536 / 0.531 vs 0.535); the area's reads among self-training's positives. Also
    not kept, on the first 3 tuning weeks (20 / 5 reads 0.543 / 0.508, 2 read samples), as other
    negatives for the reader model: the other areas' reads (weight 1) 0.539 / 0.506; what each
    area's section showed outside its category (its 10 best by cosine in each of the store's last
    4 weeks; weight 3 / 1) 0.532 / 0.528 at 20; unread items the model scores like reads weighted
    0.1 (positive-unlabeled) 0.531 / 0.498; even an oracle's, the area's own papers taken out of
    its negatives, 0.544 / 0.513: the negatives are not what holds the reads back."""

    semantic: float = 1.0
    bm25: float = 0.3
    bm25_terms: float = 10.0  # if set, bm25 in full only for areas of at least this many words
    rocchio: float = 0.5  # how far the learner's reads move an area's query
    rocchio_full: float = 10.0  # positives at which that move reaches its full size
    model_l2: float = 1.0  # the reader model's ridge penalty
    model_shrink: float = 0.0  # with p reads, the model's share is scaled by p / (p + this)
    recency: float = 0.1
    source: float = 0.3
    center: float = 1.0  # share of the window's mean vector taken off items and queries
    self_train: float = 0.7  # share of the classifier of the window's best items
    self_train_top: int = 30  # how many of the best items it learns from (and expansion)
    expansion: float = 0.15  # share of BM25 over the words that set those items apart
    expansion_terms: int = 60  # how many such words
    neighbours: float = 0.3  # share of the mean score of each item's nearest window items


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
    corpus: Corpus | None = None  # the indexed texts, when the caller already has them


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


@dataclass(frozen=True, slots=True)
class Corpus:
    """The window's texts, indexed once for every area: lowercased for keyword matching, and
    the keyword search's own BM25 index (paperfeed.search.bm25) over title and summary."""

    titles: list[str]  # lowercased
    summaries: list[str]  # lowercased
    index: KeywordIndex
    posting_terms: np.ndarray  # the term of each of the index's (term, document) weights

    @classmethod
    def of(cls, titles: Sequence[str], summaries: Sequence[str]) -> Corpus:
        low_titles = [t.lower() for t in titles]
        low_summaries = [s.lower() for s in summaries]
        texts = [f"{t}\n{s}" for t, s in zip(low_titles, low_summaries, strict=True)]
        index = KeywordIndex.build(np.arange(len(texts)), texts)
        postings_per_term = np.diff(index.arrays["indptr"])
        terms = np.repeat(np.arange(len(postings_per_term), dtype=np.int32), postings_per_term)
        return cls(low_titles, low_summaries, index, terms)

    def bm25(self, words: str) -> np.ndarray:
        """(n,) BM25 of the topical words of `words` (stopwords left out: a learner's sentence
        is full of them), each distinct word counted once."""
        terms = list(dict.fromkeys(content_words(words)))
        return np.asarray(self.index.scores(terms), dtype=np.float64)

    def expansion_bm25(self, rows: np.ndarray, terms: int) -> np.ndarray:
        """(n,) BM25 over the `terms` words whose mean weight in `rows` most exceeds their
        mean over the window, each word weighted by that excess."""
        weights, documents = self.index.arrays["data"], self.index.arrays["indices"]
        n, vocabulary = len(self.titles), len(self.index.arrays["indptr"]) - 1
        if not len(weights) or not len(rows):
            return np.zeros(n)
        in_rows = np.zeros(n)
        in_rows[rows] = 1.0 / len(rows)
        # per word: its mean weight in `rows` less its mean weight over the window
        excess = np.bincount(
            self.posting_terms, weights * (in_rows[documents] - 1.0 / n), minlength=vocabulary
        )
        if "" in self.index.vocab:  # what the index holds for an item without text
            excess[self.index.vocab[""]] = 0.0
        chosen = np.zeros(vocabulary, dtype=bool)
        best = np.argsort(-excess, kind="stable")[:terms]
        chosen[best[excess[best] > 0]] = True
        postings = chosen[self.posting_terms]
        term_weight = excess[self.posting_terms[postings]]
        return np.bincount(
            documents[postings], term_weight * weights[postings], minlength=n
        ).astype(np.float64)

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
    weight = weights.bm25
    if weights.bm25_terms:  # a two-word phrase gives BM25 too little to go on
        weight *= min(1.0, len(set(content_words(words))) / weights.bm25_terms)
    return zscore(weights.semantic * zscore(vectors @ query) + weight * zscore(corpus.bm25(words)))


def _area_scores(
    cands: Candidates, areas: Sequence[Area], feedback: Feedback | None, weights: Weights
) -> np.ndarray:
    n = len(cands.titles)
    feedback = feedback or Feedback.empty(cands.vectors.shape[1])
    scores = np.zeros((n, len(areas)))
    if n == 0:
        return scores
    raw = np.asarray(cands.vectors, dtype=np.float64)
    mean = weights.center * raw.mean(axis=0)
    vectors = _unit_rows(raw - mean)
    context = _context_signal(cands, n, weights)
    corpus = cands.corpus or Corpus.of(cands.titles, cands.summaries)
    neighbours = nearest(vectors, NEIGHBOURS) if weights.neighbours and areas else None
    for j, area in enumerate(areas):
        keep = allowed(corpus, area)
        query = _unit(area_query(area, feedback, j, weights) - mean)
        relevance = description_signal(vectors, corpus, area, query, weights)
        model = reader_model(cands.vectors, feedback, j, np.asarray(area.vector), weights)
        if model is not None and model.share > 0:
            learned = zscore(model.score(raw))
            relevance = (1 - model.share) * relevance + model.share * learned
        relevance = expanded(corpus, relevance, keep, weights)
        if neighbours is not None:
            relevance = smoothed(relevance, neighbours, weights.neighbours)
        relevance = self_trained(vectors, relevance, keep, weights)
        scores[:, j] = np.where(keep, context + relevance, -np.inf)
    return scores


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.where(norms > 0, norms, 1.0))


def nearest(vectors: np.ndarray, k: int) -> np.ndarray:
    """(n, min(k, n - 1)) the indices of each row's nearest other rows by inner product."""
    n = len(vectors)
    k = min(k, n - 1)
    found = np.zeros((n, max(k, 0)), dtype=np.int64)
    if k <= 0:
        return found
    rows = np.asarray(vectors, dtype=np.float32)
    block = max(1, NEAREST_CELLS // n)
    # unlike the small solves (see area_scores), a product this size repays BLAS threads:
    # 0.14 s instead of 0.21 s for 4,000 rows on 2 cores
    with threadpool_limits(limits=_usable_cpus(), user_api="blas"):
        for start in range(0, n, block):
            sims = rows[start : start + block] @ rows.T
            own = np.arange(start, start + len(sims))
            sims[own - start, own] = -np.inf
            found[start : start + len(sims)] = np.argpartition(sims, n - k, axis=1)[:, n - k :]
    return found


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):  # Linux: the CPUs this process may run on
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def smoothed(relevance: np.ndarray, neighbours: np.ndarray, share: float) -> np.ndarray:
    """The relevance blended with the mean relevance of each item's neighbours."""
    if neighbours.shape[1] == 0:
        return relevance
    around = zscore(relevance[neighbours].mean(axis=1))
    return zscore((1 - share) * relevance + share * around)


def best_first(relevance: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Indices by relevance, best first, the items the area's filters drop last."""
    return np.argsort(-np.where(keep, relevance, -np.inf), kind="stable")


def expanded(
    corpus: Corpus, relevance: np.ndarray, keep: np.ndarray, weights: Weights
) -> np.ndarray:
    """The relevance blended with BM25 over the words that set its `self_train_top` best
    items (among those the filters `keep`) apart from the window; on windows too small to
    tell them from the rest, as is."""
    top = weights.self_train_top
    if not weights.expansion or len(relevance) <= 4 * top:
        return relevance
    best = best_first(relevance, keep)[:top]
    words = zscore(corpus.expansion_bm25(best, weights.expansion_terms))
    return zscore((1 - weights.expansion) * relevance + weights.expansion * words)


def self_trained(
    vectors: np.ndarray, relevance: np.ndarray, keep: np.ndarray, weights: Weights
) -> np.ndarray:
    """The relevance blended with a classifier of the window's `self_train_top` best items
    (among those the area's filters `keep`) against a sample of those below twice as many: how
    this week's papers on the topic differ from the rest, which one query vector cannot say
    (pseudo-relevance feedback, learned)."""
    n, top = len(vectors), weights.self_train_top
    if not weights.self_train or n <= 4 * top:
        return relevance
    order = best_first(relevance, keep)
    negatives = order[2 * top :: max(1, (n - 2 * top) // WINDOW_NEGATIVES)]
    coef, bias, _ = fit_linear(
        vectors[order[:top]],
        vectors[negatives],
        np.ones(len(negatives)),
        SELF_TRAIN_L2,
        leave_one_out=False,
    )
    learned = zscore(vectors @ coef + bias)
    return (1 - weights.self_train) * relevance + weights.self_train * learned


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
    diversity: float = DIVERSITY,
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
