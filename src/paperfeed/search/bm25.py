"""The keyword index: Okapi BM25 (Lucene's variant, as bm25s computes it) in numpy.

Pure: built from texts, queried in memory; `paperfeed.search.files` saves and loads its arrays.
`tokenize` is the one tokenizer of the keyword search.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np

from paperfeed.search.vectors import top_k

BM25_ARRAYS = ("data", "indices", "indptr")


_EMPTY_BM25: dict[str, np.ndarray] = {
    "data": np.zeros(0, np.float32),
    "indices": np.zeros(0, np.int32),
    "indptr": np.zeros(1, np.int64),
}


# A query word found in more than this share of documents counts as common (max-score pruning
# in KeywordIndex.top); a tuning knob only, results are exact whatever its value.
COMMON_TERM_SHARE = 0.05


_WORD = re.compile(r"\w+(?:[-.+]\w+)*")
_ASCII_WORD = re.compile(_WORD.pattern, re.ASCII)


_PART = re.compile(r"[^-.+ ]+")


# Every ASCII character that is neither part of a word nor joins one to a compound -> a space.
_ASCII_BREAKS = {i: " " for i in range(128) if not (chr(i).isalnum() or chr(i) in "_-.+")}


# Words that say nothing about a topic, left out of a focus area's words when the digest ranks
# by them ("how the models of ..." would otherwise score every abstract), as are single letters.
STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "how", "in", "into", "is"]
    + ["it", "of", "on", "or", "that", "the", "their", "them", "they", "this", "to", "what"]
    + ["when", "which", "with"]
)


def tokenize(text: str) -> list[str]:
    """Lower-cased words, in no set order (BM25 only counts tokens); a compound like `GPT-4o`
    or `Llama-3.1` is kept whole and split too, so an exact model name matches exactly and its
    parts still match. The words are `_WORD`'s matches; `str.isalnum` (at C speed, through
    filterfalse) sets the rare compounds aside for one more pass that splits them."""
    text = text.lower()
    words = _ascii_words(text) if text.isascii() else _WORD.findall(text)
    unusual = itertools.filterfalse(str.isalnum, words)
    compounds = [w for w in unusual if "-" in w or "." in w or "+" in w]
    return words + _PART.findall(" ".join(compounds)) if compounds else words


def _ascii_words(text: str) -> list[str]:
    """`_WORD.findall(text)` for ASCII text, in another order, at `str.split` speed for the
    plain words (1.2x faster over real abstracts, 1.7x without punctuation): only the pieces
    holding `_`, `-`, `.` or `+` (a compound, or a word before a full stop) go through the
    regex."""
    pieces = text.translate(_ASCII_BREAKS).split()
    odd = list(itertools.filterfalse(str.isalnum, pieces))
    if not odd:
        return pieces
    return list(filter(str.isalnum, pieces)) + _ASCII_WORD.findall(" ".join(odd))


def content_words(text: str) -> list[str]:
    """`tokenize` less STOPWORDS and single letters: the words of a description that name its
    topic."""
    return [t for t in tokenize(text) if len(t) > 1 and t not in STOPWORDS]


class KeywordIndex:
    """BM25 over title + summary of the same ids as the vector index.

    Kept as bm25s keeps it: the precomputed Lucene BM25 weight matrix in CSC form (`data` and
    document `indices` of each token between its `indptr` bounds) and the vocabulary; built,
    loaded and queried in numpy (tests pin the scores to bm25s's own)."""

    def __init__(
        self,
        ids: np.ndarray,
        arrays: dict[str, np.ndarray],
        vocab: dict[str, int],
    ) -> None:
        self.ids = ids
        self.arrays = arrays  # data, indices, indptr
        self.vocab = vocab

    @classmethod
    def build(cls, ids: np.ndarray, texts: Sequence[str]) -> KeywordIndex:
        if not len(texts):
            return cls(ids, _EMPTY_BM25, {})
        vocab = _Vocabulary()
        docs = [tokenize(t) or [""] for t in texts]
        token_ids = np.fromiter(
            map(vocab.__getitem__, itertools.chain.from_iterable(docs)), np.int64
        )
        lengths = np.fromiter(map(len, docs), np.int64, len(docs))
        return cls(ids, bm25_weights(token_ids, lengths, len(vocab)), dict(vocab))

    def _postings(self, query: str | Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(document rows, BM25 weights) of each query token in the vocabulary; a repeated token
        counts again, as in bm25s's own scoring. A query given as tokens is used as it is."""
        if len(self.ids) == 0:
            return []
        indptr, rows, weights = (self.arrays[name] for name in ("indptr", "indices", "data"))
        found = []
        for token in tokenize(query) if isinstance(query, str) else query:
            token_id = self.vocab.get(token)
            if token_id is not None:
                start, end = int(indptr[token_id]), int(indptr[token_id + 1])
                found.append((rows[start:end], weights[start:end]))
        return found

    def scores(self, query: str | Sequence[str]) -> np.ndarray:
        """BM25 score of every document (0 where no query term occurs); `query` is a text, or
        its tokens already chosen (as the digest's `content_words`)."""
        total = np.zeros(len(self.ids), dtype=np.float32)
        for rows, weights in self._postings(query):
            np.add.at(total, rows, weights)
        return total

    def top(
        self,
        query: str,
        k: int,
        allow_rows: np.ndarray | None = None,
        exclude_rows: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows of the k best matching documents, best first; every document's score).

        Exact, but avoids ranking every document when a query mixes rare and very common
        words (max-score pruning): the documents holding a rare word are ranked first, and
        that ranking stands when no document holding only common words could beat its k-th
        score (the sum of the common words' largest weights is below it)."""
        postings = self._postings(query)
        common_len = max(len(self.ids) * COMMON_TERM_SHARE, 1)
        rare = [p for p in postings if len(p[0]) <= common_len]
        common = [p for p in postings if len(p[0]) > common_len]
        total = np.zeros(len(self.ids), dtype=np.float32)
        for rows, weights in rare:
            np.add.at(total, rows, weights)
        early = np.flatnonzero(total) if rare and common and allow_rows is None else None
        for rows, weights in common:
            np.add.at(total, rows, weights)
        if allow_rows is not None:
            total = _only(total, allow_rows)
        if exclude_rows is not None and len(exclude_rows):
            total[exclude_rows] = 0.0
        if early is not None:
            best = _best_rows(total, early[total[early] > 0], k)
            bound = sum(float(weights.max()) for _, weights in common)
            if len(best) == k and bound * (1 + 1e-5) < total[best[-1]]:
                return best, total
        return _best_rows(total, np.flatnonzero(total), k), total

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows, scores = self.top(query, k)
        return self.ids[rows], scores[rows]


class _Vocabulary(dict[str, int]):
    """token -> id, numbering a token the first time it is looked up (at C speed for the rest)."""

    def __missing__(self, token: str) -> int:
        self[token] = token_id = len(self)
        return token_id


def bm25_weights(
    token_ids: np.ndarray, lengths: np.ndarray, vocab_size: int, k1: float = 1.5, b: float = 0.75
) -> dict[str, np.ndarray]:
    """Lucene BM25 weight of every (token, document) pair as CSC arrays, as bm25s computes them
    (idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf / (tf + k1 (1 - b + b dl / avgdl))), but in
    numpy: bm25s builds them in Python loops (~6x slower at 65k abstracts).

    token_ids: every document's tokens concatenated; lengths: tokens per document."""
    n_docs = len(lengths)
    doc_ids = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    pairs, tf = np.unique(token_ids * n_docs + doc_ids, return_counts=True)  # token, then doc
    term, doc = pairs // n_docs, pairs % n_docs
    df = np.bincount(term, minlength=vocab_size)
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    norm = k1 * ((1 - b) + b * lengths[doc] / lengths.mean())
    return {
        "data": (idf[term] * tf / (norm + tf)).astype(np.float32),
        "indices": doc.astype(np.int32),
        "indptr": np.concatenate([[0], np.cumsum(df)]).astype(np.int64),
    }


def _only(scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    kept = np.zeros_like(scores)
    kept[rows] = scores[rows]
    return kept


def _best_rows(scores: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """The candidate rows with the k highest scores, best first."""
    return np.asarray(candidates[top_k(scores[candidates], k)], dtype=np.int64)
