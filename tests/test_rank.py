"""Ranking: pure numpy in, scores out. Uses the hashing fake embedder, no model."""

from __future__ import annotations

import numpy as np
from fakes import hash_vector

from paperfeed import rank

NLP = "language models text tokens translation"
VISION = "image segmentation pixels detection camera"


def areas() -> list[rank.Area]:
    return [
        rank.Area("NLP", hash_vector(NLP), ("language model", "translation")),
        rank.Area("Vision", hash_vector(VISION), ("segmentation",)),
    ]


def candidates(texts: list[str]) -> rank.Candidates:
    vectors = np.stack([hash_vector(t) for t in texts])
    return rank.Candidates(vectors, texts, [""] * len(texts))


def test_keyword_scores_weigh_title_over_summary_and_match_plurals() -> None:
    scores = rank.keyword_scores(
        ["Language models", "x", "y"],
        ["", "a language model", "languages modelling"],
        ["language model"],
    )
    assert scores[0] > scores[1] > 0 and scores[2] == 0


def test_each_item_goes_to_its_own_area() -> None:
    texts = [
        "language models for translation",
        "image segmentation of pixels",
        "text tokens and language",
        "camera detection pixels",
    ]
    scores = rank.area_scores(candidates(texts), areas())
    assert rank.assign(scores, areas()).tolist() == [0, 1, 0, 1]


def test_area_weight_breaks_ties_towards_the_heavier_area() -> None:
    scores = np.array([[1.0, 1.0]])
    heavy = [rank.Area("a", np.ones(2), weight=1.0), rank.Area("b", np.ones(2), weight=2.0)]
    assert rank.assign(scores, heavy).tolist() == [1]


def test_mmr_never_keeps_near_duplicates() -> None:
    base = hash_vector("graph neural networks message passing")
    other = hash_vector("reinforcement learning reward policy")
    vectors = np.stack([base, base, base * 0.999 + other * 0.001, other])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chosen = rank.mmr(vectors, np.array([4.0, 3.9, 3.8, 1.0]), k=4)
    assert chosen == [0, 3]


def test_feedback_moves_items_towards_what_was_read_and_away_from_down_ratings() -> None:
    texts = ["language models for translation of text", "language models for code and tokens"]
    cands = candidates(texts)
    plain = rank.area_scores(cands, areas())[:, 0]
    liked = rank.Feedback(
        np.stack([hash_vector("code tokens programs")]), np.array([1.0]), np.array([0])
    )
    with_like = rank.area_scores(cands, areas(), liked)[:, 0]
    assert with_like[1] - with_like[0] > plain[1] - plain[0]
    disliked = rank.Feedback(liked.vectors, np.array([-1.0]), np.array([0]))
    with_dislike = rank.area_scores(cands, areas(), disliked)[:, 0]
    assert with_dislike[1] - with_dislike[0] < plain[1] - plain[0]


def test_model_signal_needs_enough_positives_then_separates_them() -> None:
    rng = np.random.default_rng(0)
    direction = rng.normal(size=64)
    positives = direction + rng.normal(scale=0.5, size=(rank.MIN_MODEL_POSITIVES, 64))
    window = rng.normal(size=(40, 64))
    feedback = rank.Feedback(
        positives[:-1], np.ones(len(positives) - 1), np.zeros(len(positives) - 1, np.int64)
    )
    assert not rank.model_signal(window, feedback, 0).any()
    feedback = rank.Feedback(positives, np.ones(len(positives)), np.zeros(len(positives), np.int64))
    probe = np.vstack([direction, -direction])
    signal = rank.model_signal(np.vstack([probe, window]), feedback, 0)
    assert signal[0] > signal[1]


def test_zscore_handles_constant_and_empty_columns() -> None:
    assert rank.zscore(np.ones(5)).tolist() == [0.0] * 5
    assert rank.zscore(np.zeros(0)).shape == (0,)


def test_keyword_area_is_none_without_hits() -> None:
    pairs = [("NLP", ("language model",)), ("Vision", ("segmentation",))]
    assert rank.keyword_area("Semantic segmentation", "", pairs) == "Vision"
    assert rank.keyword_area("Nothing here", "", pairs) is None


def test_bm25_prefers_documents_with_rarer_query_terms() -> None:
    docs = rank.tokenize(["kernel methods for data", "data data data", "kernel kernel bayesian"])
    scores = rank.bm25(docs, "bayesian kernel")
    assert scores[2] > scores[0] > scores[1] == 0
    assert not rank.bm25(docs, "the of and").any()


def test_window_bm25_equals_the_per_document_count() -> None:
    rng = np.random.default_rng(3)
    words = ["kernel", "bayesian", "the", "of", "data", "graph", "x", "model", "a1"]
    titles = [" ".join(rng.choice(words, 4)).title() for _ in range(30)]
    summaries = [" ".join(rng.choice(words, int(rng.integers(0, 25)))) for _ in range(30)]
    corpus = rank.Corpus.of(titles, summaries)
    docs = rank.tokenize([f"{t} {s}" for t, s in zip(titles, summaries, strict=True)])
    for query in ["bayesian kernel", "graph of the data model", "unknown words only", "x"]:
        np.testing.assert_allclose(corpus.bm25(query), rank.bm25(docs, query))


def test_reads_move_the_area_query_towards_them_more_as_they_accumulate() -> None:
    area = areas()[0]
    read = hash_vector("code tokens programs compilers")
    weights = rank.Weights()

    def moved(count: int) -> float:
        feedback = rank.Feedback(
            np.tile(read, (count, 1)), np.ones(count), np.zeros(count, np.int64)
        )
        return float(rank.area_query(area, feedback, 0, weights) @ read)

    unmoved = rank.area_query(area, rank.Feedback.empty(len(read)), 0, weights)
    np.testing.assert_allclose(unmoved, area.vector / np.linalg.norm(area.vector))
    assert float(unmoved @ read) < moved(1) < moved(int(weights.rocchio_full))
    other_area = rank.Feedback(read[None, :], np.ones(1), np.ones(1, np.int64))
    np.testing.assert_allclose(rank.area_query(area, other_area, 0, weights), unmoved)
