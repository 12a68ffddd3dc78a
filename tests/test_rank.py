"""Ranking: pure numpy in, scores out. Uses the hashing fake embedder, no model."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from fakes import HashingEmbedder, hash_vector

from paperfeed.digest import rank

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
    corpus = rank.Corpus.of(
        ["Language models", "x", "y"], ["", "a language model", "languages modelling"]
    )
    scores = corpus.keyword_scores(["language model"])
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
    texts = [
        "language models for translation of text",
        "language models for code and tokens",
        "text translation between languages",
        "tokens of code in language models",
    ]
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


def _topic_rows(rng: np.random.Generator, centre: np.ndarray, n: int) -> np.ndarray:
    rows = centre + rng.normal(scale=0.5, size=(n, len(centre)))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_reader_model_needs_enough_positives_then_separates_them() -> None:
    rng = np.random.default_rng(0)
    direction = rng.normal(size=64)
    positives = direction + rng.normal(scale=0.5, size=(rank.MIN_MODEL_POSITIVES, 64))
    window = rng.normal(size=(40, 64))
    query = np.zeros(64)
    few = rank.Feedback(
        positives[:-1], np.ones(len(positives) - 1), np.zeros(len(positives) - 1, np.int64)
    )
    assert rank.reader_model(window, few, 0, query, rank.Weights()) is None
    enough = rank.Feedback(positives, np.ones(len(positives)), np.zeros(len(positives), np.int64))
    model = rank.reader_model(window, enough, 0, query, rank.Weights())
    assert model is not None
    signal = model.score(np.vstack([direction, -direction]))
    assert signal[0] > signal[1]


def test_training_rows_leave_out_other_areas_reads_and_weigh_down_ratings_more() -> None:
    rng = np.random.default_rng(2)
    rows = rng.normal(size=(12 + 60 + 2 + 5, 8))
    labels = np.array([1.0] * 12 + [0.0] * 60 + [-1.0] * 2 + [1.0] * 5)
    areas = np.array([0] * 12 + [-1] * 60 + [0] * 2 + [1] * 5, dtype=np.int64)
    pos, neg, weight = rank.training_rows(
        rng.normal(size=(30, 8)), rank.Feedback(rows, labels, areas), 0
    )
    assert len(pos) == 12 and len(neg) == 60 + 2  # the other area's reads are left out
    assert weight[-1] == pytest.approx(rank.STRONG_NEGATIVE * weight[0])
    np.testing.assert_allclose(neg[-2:], rows[72:74])


def test_window_items_stand_in_for_negatives_only_when_history_has_too_few() -> None:
    rng = np.random.default_rng(3)
    window = rng.normal(size=(30, 8))
    reads = rank.Feedback(rng.normal(size=(12, 8)), np.ones(12), np.zeros(12, np.int64))
    _pos, neg, _ = rank.training_rows(window, reads, 0)
    assert len(neg) == 30
    unread = rank.Feedback(
        np.vstack([reads.vectors, rng.normal(size=(rank.MIN_NEGATIVES, 8))]),
        np.concatenate([reads.labels, np.zeros(rank.MIN_NEGATIVES)]),
        np.concatenate([reads.areas, np.full(rank.MIN_NEGATIVES, -1)]),
    )
    _pos, neg, _ = rank.training_rows(window, unread, 0)
    assert len(neg) == rank.MIN_NEGATIVES


def test_reads_against_unread_items_lift_the_area_s_papers_in_a_later_window() -> None:
    """Two kinds of paper match the area's description equally; the learner reads one kind and
    leaves the other unread, so later papers of the kind they read rank higher."""
    rng = np.random.default_rng(4)
    centre, read_kind, other_kind = (rng.normal(size=64) for _ in range(3))
    area = rank.Area("A", centre / np.linalg.norm(centre))
    later = np.vstack(
        [_topic_rows(rng, centre + read_kind, 20), _topic_rows(rng, centre + other_kind, 20)]
    )
    cands = rank.Candidates(later, [""] * 40, [""] * 40)
    history = np.vstack(
        [_topic_rows(rng, centre + read_kind, 20), _topic_rows(rng, centre + other_kind, 100)]
    )
    feedback = rank.Feedback(
        history,
        np.concatenate([np.ones(20), np.zeros(100)]),
        np.concatenate([np.zeros(20), np.full(100, -1)]).astype(np.int64),
    )
    plain = rank.area_scores(cands, [area])[:, 0]
    learned = rank.area_scores(cands, [area], feedback)[:, 0]
    read_gap = learned[:20].mean() - learned[20:].mean()
    assert read_gap > plain[:20].mean() - plain[20:].mean() + 1.0
    assert np.isin(np.argsort(-learned)[:10], np.arange(20)).all()


def test_zscore_handles_constant_and_empty_columns() -> None:
    assert rank.zscore(np.ones(5)).tolist() == [0.0] * 5
    assert rank.zscore(np.zeros(0)).shape == (0,)


def test_keyword_area_is_none_without_hits() -> None:
    pairs = [("NLP", ("language model",)), ("Vision", ("segmentation",))]
    assert rank.keyword_area("Semantic segmentation", "", pairs) == "Vision"
    assert rank.keyword_area("Nothing here", "", pairs) is None


def test_bm25_prefers_documents_with_rarer_query_terms() -> None:
    corpus = rank.Corpus.of(
        ["kernel methods for data", "data data data", "kernel kernel bayesian"], [""] * 3
    )
    scores = corpus.bm25("bayesian kernel")
    assert scores[2] > scores[0] > scores[1] == 0
    assert not corpus.bm25("the of and").any()


def test_an_area_s_bm25_ignores_stopwords_and_repeated_words() -> None:
    corpus = rank.Corpus.of(
        ["The kernel of the matter", "Bayesian methods", "How to learn what they want"],
        ["kernel methods for data", "on the kernel", "the of and this"],
    )
    plain = corpus.bm25("kernel methods")
    np.testing.assert_allclose(corpus.bm25("How the kernel, and the methods of it"), plain)
    np.testing.assert_allclose(corpus.bm25("kernel methods kernel"), plain)
    assert plain[0] > 0 and plain[2] == 0


def test_the_ranker_and_the_keyword_search_share_one_bm25() -> None:
    from paperfeed.search.bm25 import KeywordIndex

    texts = ["Sparse attention for long documents", "Attention is all you need", "Graph networks"]
    corpus = rank.Corpus.of(texts, [""] * 3)
    search = KeywordIndex.build(np.arange(3), [t.lower() for t in texts])
    np.testing.assert_allclose(
        corpus.bm25("sparse attention"), search.scores("sparse attention"), rtol=1e-6
    )


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


def test_digest_passes_unread_items_as_negatives_shown_ones_first_window_never(tmp_path) -> None:
    from test_digest import NOW, TOPICS, config, fill, paper

    from paperfeed.digest.gather import gather
    from paperfeed.digest.model import DigestOptions
    from paperfeed.digest.run import run_digest
    from paperfeed.store import Store

    store, embedder = Store.memory(), HashingEmbedder()
    older = [paper(n, TOPICS[n % 4], days=20) for n in range(40)]
    fill(store, embedder, older + [paper(n, TOPICS[n % 4]) for n in range(40, 70)], "arxiv")
    cfg = config(embedder.model_name)
    earlier = DigestOptions(NOW - timedelta(days=27), NOW - timedelta(days=14), per_area=2)
    sent = run_digest(store, cfg, embedder.query, earlier, folder=tmp_path)
    sent_ids = [e.item.id for e in sent.digest.entries]
    store.reading.apply(sent_ids[0], "read", NOW - timedelta(days=15))
    inputs = gather(store, cfg, embedder.query, DigestOptions(NOW - timedelta(days=7), NOW))
    feedback = inputs.feedback
    assert feedback is not None and feedback.labels.tolist()[:1] == [1.0]
    unread = feedback.vectors[feedback.labels == 0]
    assert len(unread) == 39 and (feedback.areas[feedback.labels == 0] == -1).all()
    window = store.vectors.get(embedder.model_name, [i.id for i in inputs.items])
    assert len(window) == 30 and not any(np.allclose(u, w) for u in unread for w in window.values())
    shown = list(store.vectors.get(embedder.model_name, sent_ids[1:]).values())
    assert len(shown) >= 2
    for vector in shown:  # shown and left unread: always among the negatives
        assert any(np.allclose(row, vector) for row in unread[: len(shown)])


def test_exclude_drops_and_require_keeps_items_by_whole_word() -> None:
    texts = ["a survey of language models", "language models for surveys", "language modelling"]
    cands = candidates(texts)
    vector = hash_vector(NLP)
    excluding = rank.Area("NLP", vector, exclude=("survey",))
    requiring = rank.Area("NLP", vector, require=("Language Models",))
    scores = rank.area_scores(cands, [excluding, requiring])
    assert np.isinf(scores[:2, 0]).all() and np.isfinite(scores[2, 0])  # plural "surveys" too
    assert np.isfinite(scores[:2, 1]).all() and np.isinf(scores[2, 1])  # "modelling" is no match


def test_an_item_every_area_drops_goes_to_no_area() -> None:
    cands = candidates(["a survey of language models", "image segmentation of pixels"])
    only = [rank.Area("NLP", hash_vector(NLP), exclude=("survey",))]
    assert rank.assign(rank.area_scores(cands, only), only).tolist() == [-1, 0]


def test_centering_ranks_by_topic_not_by_the_direction_every_abstract_shares() -> None:
    rng = np.random.default_rng(7)
    common, topic = np.eye(64)[0], np.eye(64)[1]
    generic = common + rng.normal(scale=0.05, size=(30, 64))
    on_topic = 0.5 * common + 0.866 * topic
    vectors = np.vstack([generic, on_topic])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    area = rank.Area("topic", 0.9 * common + 0.44 * topic)
    cands = rank.Candidates(vectors, [""] * 31, [""] * 31)

    def best(center: float) -> int:
        scores = rank.area_scores(cands, [area], weights=rank.Weights(center=center))
        return int(np.argmax(scores[:, 0]))

    assert best(0.0) != 30  # raw cosine prefers an item close to the shared direction
    assert best(1.0) == 30


def test_self_training_lifts_items_like_the_window_s_best_ones() -> None:
    rng = np.random.default_rng(11)
    cluster = np.eye(48)[0] + rng.normal(scale=0.1, size=(60, 48))
    vectors = np.vstack([cluster, rng.normal(size=(140, 48))])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    relevance = rng.normal(size=200)
    relevance[:30] += 10.0  # half the cluster is already on top; the other half is not
    weights = rank.Weights(self_train=1.0, self_train_top=30)
    everything = np.ones(200, dtype=bool)
    lifted = rank.self_trained(vectors, relevance, everything, weights)
    unseen = np.arange(30, 60)
    place = np.argsort(np.argsort(-lifted))
    assert np.argsort(np.argsort(-relevance))[unseen].mean() > 60
    assert (place[unseen] < 60).all()
    untouched = rank.self_trained(vectors, relevance, everything, rank.Weights(self_train=0.0))
    np.testing.assert_array_equal(untouched, relevance)


def test_expansion_scores_the_words_that_set_the_best_items_apart() -> None:
    titles = [
        "quantum circuits",
        "quantum annealing",
        "learning data",
        "data learning",
        "quantum walk graphs",
        "learning graphs data",
        "",
        "",
    ]
    corpus = rank.Corpus.of(titles, [""] * len(titles))
    scores = corpus.expansion_bm25(np.array([0, 1, 6]), terms=100)
    assert scores[4] > 0  # names "quantum", the best items' word, though not among them
    assert scores[2] == scores[3] == 0  # "learning" and "data" are commoner outside them
    assert scores[7] == 0  # an item without text shares no word with one
    assert not corpus.expansion_bm25(np.array([0, 1]), terms=0).any()


def test_expansion_leaves_a_window_too_small_to_tell_apart_as_it_is() -> None:
    corpus = rank.Corpus.of(["a b", "c d"], ["", ""])
    relevance = np.array([1.0, -1.0])
    assert rank.expanded(corpus, relevance, np.ones(2, bool), rank.Weights()) is relevance


def test_nearest_finds_each_row_s_closest_others_never_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(250, 16))
    monkeypatch.setattr(rank, "NEAREST_CELLS", 250 * 60)  # blocks of 60 rows, the last short
    found = rank.nearest(vectors, 4)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    expected = np.argsort(-sims, axis=1)[:, :4]
    assert all(set(f) == set(e) for f, e in zip(found, expected, strict=True))
    assert rank.nearest(vectors[:3], 10).shape == (3, 2)
    assert rank.nearest(vectors[:1], 10).shape == (1, 0)


def test_an_item_among_relevant_neighbours_rises_above_an_equal_one_among_irrelevant() -> None:
    relevance = np.array([0.0, 0.0, 2.0, 2.0, -2.0, -2.0])
    neighbours = np.array([[2, 3], [4, 5], [3, 0], [2, 0], [5, 1], [4, 1]])
    smoothed = rank.smoothed(relevance, neighbours, 0.3)
    assert smoothed[0] > smoothed[1]
    assert rank.smoothed(relevance, neighbours[:, :0], 0.3) is relevance


def _lift_of_item_0_over_item_1(weights: rank.Weights) -> float:
    """Item 0 shares its words with the 30 items that match the area; item 1 matches nothing."""
    titles = ["qubit entanglement noise", "garden soil compost"]
    titles += ["quantum qubit entanglement"] * 30
    titles += [f"survey of method {i} for data tables" for i in range(168)]
    cands = rank.Candidates(np.stack([hash_vector(t) for t in titles]), titles, [""] * 200)
    area = rank.Area("Quantum", hash_vector("quantum"), description="quantum")
    scores = rank.area_scores(cands, [area], None, weights)[:, 0]
    return float(scores[0] - scores[1])


@pytest.mark.parametrize(
    "signal", [{"expansion": 0.15}, {"neighbours": 0.3}], ids=["expansion", "neighbours"]
)
def test_expansion_and_neighbours_lift_an_item_like_the_area_s_best(signal: dict) -> None:
    alone = {"expansion": 0.0, "neighbours": 0.0, "self_train": 0.0, "center": 0.0}
    without = _lift_of_item_0_over_item_1(rank.Weights(**alone))
    with_signal = _lift_of_item_0_over_item_1(rank.Weights(**{**alone, **signal}))
    assert with_signal > without + 0.1


def test_filtered_items_never_teach_the_area_its_words() -> None:
    titles = ["quantum sensing lasers"] * 30 + ["quantum qubit gates"] * 30
    titles += [f"survey of method {i} for data tables" for i in range(140)]
    titles += ["lasers optics", "qubit gates design"]
    cands = rank.Candidates(np.stack([hash_vector(t) for t in titles]), titles, [""] * 202)
    area = rank.Area(
        "Quantum", hash_vector("quantum sensing"), description="quantum", exclude=("lasers",)
    )
    weights = rank.Weights(expansion=1.0, neighbours=0.0, self_train=0.0, center=0.0)
    scores = rank.area_scores(cands, [area], None, weights)[:, 0]
    assert np.isneginf(scores[:30]).all() and np.isneginf(scores[200])
    # the words came from the qubit items, the best the filter keeps
    assert scores[201] > scores[60:200].max()


def test_an_area_of_a_sentence_or_more_is_embedded_phrased_as_a_paper_a_short_phrase_as_written():
    from paperfeed.config import FocusArea
    from paperfeed.digest.gather import AREA_QUERY, area_text, encode_areas

    sentence = FocusArea("CV", "I want to learn how models recognise objects in photos and videos.")
    described = FocusArea("NLP", "Working with text and language models.", ("translation", "chat"))
    phrase = FocusArea("RL", "reinforcement learning")
    assert area_text(sentence) == AREA_QUERY.format(sentence.description.rstrip("."))
    assert area_text(described) == AREA_QUERY.format(
        "Working with text and language models. translation, chat"
    )
    assert area_text(phrase) == "reinforcement learning"
    embedded: list[str] = []

    def encode(text: str) -> np.ndarray:
        embedded.append(text)
        return np.full(4, 2.0)

    vectors = encode_areas(encode, [sentence, phrase])
    assert embedded == [area_text(sentence), "reinforcement learning"]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0)
