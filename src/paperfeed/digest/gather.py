"""Everything the digest needs, read from the store in one pass: the window's candidates, the
posts that may explain them, the learner's marks as feedback, the vectors, the source states.

I/O rule: reads the store (items, vectors, marks, sent items, source states) and calls the query
encoder for the focus-area descriptions; builds no SQL and writes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from paperfeed.config import Config, FocusArea
from paperfeed.digest import progress, rank, why
from paperfeed.digest.build import EXPLAINED_LOOKBACK, period_of, rank_areas
from paperfeed.digest.model import DigestInputs, DigestOptions, Encoder
from paperfeed.digest.progress import ProgressRow
from paperfeed.errors import NotFound
from paperfeed.records import ItemKind
from paperfeed.search.bm25 import content_words
from paperfeed.store.items import StoredItem

if TYPE_CHECKING:
    from paperfeed.store import Store
    from paperfeed.store.reading import Mark


UNREAD_NEGATIVES = 300  # unread items the per-area model learns against


def _matrix(store: Store, model: str, ids: Sequence[int], dim: int) -> np.ndarray:
    found = store.vectors.get(model, list(ids))
    matrix = np.zeros((len(ids), dim), dtype=np.float32)
    for row, item_id in enumerate(ids):
        if item_id in found:
            matrix[row] = found[item_id]
    return matrix


# MiniLM was trained on pairs of texts that say the same thing, so a learner's "I want to learn
# how..." lies nearer to texts about learning than to the abstracts it asks for; phrased as a
# paper's first sentence, it lies nearer to those. A short phrase is already a topic's name and
# is embedded as written. Tuning half of bench_rank.py (459 cases, no reads, mean P@10): 0.393
# against 0.388 as written (sentences 0.385 vs 0.367, descriptions 0.414 vs 0.416; with reads
# unchanged); phrasing the short phrases too gave 0.422 vs 0.428 for them on the first 6 weeks.
# Other openings, every style phrased, first 3 weeks (this one 0.465 there): 'This paper
# studies' 0.469, 'We present new methods for' 0.465, 'Abstract.' 0.463, its mean with the text
# as written 0.465. Any count from 5 to 9 splits the bench's phrases (1-4 words) from its
# sentences (9+).
AREA_QUERY = "In this paper, we study {}."
AREA_QUERY_MIN_WORDS = 6  # topical words from which an area is phrased as a paper


def area_words(area: FocusArea) -> str:
    """The area as the learner wrote it: its description, then its keywords."""
    words = area.description.strip().rstrip(".")
    return f"{words}. {', '.join(area.keywords)}" if area.keywords else words


def area_text(area: FocusArea) -> str:
    """The text embedded for an area: its words as a paper would open (a short phrase as
    written)."""
    words = area_words(area)
    if len(set(content_words(words))) < AREA_QUERY_MIN_WORDS:
        return words
    return AREA_QUERY.format(words)


def encode_areas(encode: Encoder, areas: Sequence[FocusArea]) -> np.ndarray:
    return encode_texts(encode, [area_text(a) for a in areas])


def encode_texts(encode: Encoder, texts: Sequence[str]) -> np.ndarray:
    """(len(texts), d) unit rows."""
    rows = [np.asarray(encode(t), np.float32) for t in texts]
    matrix = np.stack(rows) if rows else np.zeros((0, 1), np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def item_areas(
    store: Store, items: Sequence[StoredItem], vectors: np.ndarray, areas: Sequence[rank.Area]
) -> list[str]:
    """Each item's area: the one it was sent under, else the best by vector and keywords."""
    sent = store.digests.areas_of([i.id for i in items])
    hits = np.array(
        [[len(rank.matched_keywords(i.title, i.summary, a.keywords)) for a in areas] for i in items]
    ).reshape(len(items), len(areas))
    best = rank.attribute(vectors, areas, hits)
    return [sent.get(i.id) or areas[int(b)].name for i, b in zip(items, best, strict=True)]


def _feedback(
    store: Store, model: str, config: Config, areas: Sequence[rank.Area], dim: int
) -> tuple[list[StoredItem], rank.Feedback, why.Marked]:
    """The learner's marks, then the areas' example papers (in the store) as reads of their area
    (an example the learner also marked counts once, as an example)."""
    examples = example_items(store, config.focus_areas)
    marks = [m for m in store.reading.feedback() if m.item_id not in examples]
    items = store.items.get_many([m.item_id for m in marks] + list(examples))
    by_id = {m.item_id: m for m in marks}
    vectors = _matrix(store, model, [i.id for i in items], dim)
    names = item_areas(store, items, vectors, areas) if areas else []
    for row, item in enumerate(items):
        if item.id in examples:
            names[row] = areas[examples[item.id]].name
    index = {a.name: j for j, a in enumerate(areas)}
    labels = np.array([1.0 if i.id in examples or by_id[i.id].positive else -1.0 for i in items])
    area_ids = np.array([index.get(n, -1) for n in names], dtype=np.int64)
    positive = [
        j for j, i in enumerate(items) if i.id not in by_id or by_id[i.id].positive
    ]  # an area's example papers count as read
    marked = why.Marked(
        titles=[items[j].title for j in positive],
        areas=[names[j] if names else None for j in positive],
        verbs=[_verb(by_id.get(items[j].id)) for j in positive],
        vectors=vectors[positive],
    )
    return items, rank.Feedback(vectors, labels, area_ids), marked


def _verb(mark: Mark | None) -> str:
    if mark is None:
        return "chose as an example"
    return why.verb_of(mark.read_at is not None, mark.saved_at is not None, mark.rating == 1)


def example_items(store: Store, focus_areas: Sequence[FocusArea]) -> dict[int, int]:
    """item id -> index of the focus area that names it in `examples:`, for the examples the
    store holds (`paperfeed area add-example` fetches the others)."""
    found: dict[int, int] = {}
    for j, area in enumerate(focus_areas):
        for reference in area.examples:
            try:
                found.setdefault(store.items.resolve(reference), j)
            except NotFound:
                continue
    return found


def _unread_ids(store: Store, skip: set[int]) -> list[int]:
    """Up to UNREAD_NEGATIVES items the learner left unread, the per-area model's negatives:
    those sent in the newest digests first, then a fixed-seed sample of the store's other items
    (what arrived and was not read). `skip`: marked items and the window's candidates."""
    shown = [i for i in store.digests.sent_order() if i not in skip][:UNREAD_NEGATIVES]
    rest = sorted(set(store.items.ids()) - skip - set(shown))
    extra = random.Random(0).sample(rest, min(len(rest), UNREAD_NEGATIVES - len(shown)))
    return shown + extra


def _with_unread(
    store: Store, model: str, feedback: rank.Feedback, skip: set[int]
) -> rank.Feedback:
    """The marks followed by the unread items that have a vector (label 0, area -1)."""
    if not (feedback.labels > 0).any():
        return feedback
    ids = _unread_ids(store, skip)
    found = store.vectors.get(model, ids)
    if not found:
        return feedback
    unread = np.stack([found[i] for i in ids if i in found]).astype(feedback.vectors.dtype)
    return rank.Feedback(
        np.vstack([feedback.vectors, unread]),
        np.concatenate([feedback.labels, np.zeros(len(unread))]),
        np.concatenate([feedback.areas, np.full(len(unread), -1, dtype=np.int64)]),
    )


def _window(store: Store, options: DigestOptions) -> tuple[list[StoredItem], list[StoredItem]]:
    """The window's items never sent before, and the posts that may explain them (published up
    to EXPLAINED_LOOKBACK earlier), from one store read."""
    sent = store.digests.sent_ids()
    start = options.window_start
    recent = store.items.in_window(start - EXPLAINED_LOOKBACK, options.window_end)
    items = [i for i in recent if (i.published_at or i.first_seen_at) >= start and i.id not in sent]
    return items, [p for p in recent if p.kind != ItemKind.PAPER]


def gather(
    store: Store,
    config: Config,
    encode: Encoder,
    options: DigestOptions,
    now: datetime | None = None,
) -> DigestInputs:
    """Read everything the digest needs. Items sent by an earlier digest are left out."""
    area_vectors = encode_areas(encode, config.focus_areas)
    # with no focus areas the vectors' width comes from the store (the digest still has
    # highlights, progress and needs-attention sections)
    dim = (
        area_vectors.shape[1] if config.focus_areas else store.vectors.stats(config.model).dim or 1
    )
    items, posts = _window(store, options)
    areas = rank_areas(config.focus_areas, area_vectors)
    fb_items, feedback, marked = _feedback(store, config.model, config, areas, dim)
    skip = {i.id for i in fb_items} | {i.id for i in items}
    feedback = _with_unread(store, config.model, feedback, skip)
    vectors = _matrix(store, config.model, [i.id for i in items + posts], dim)
    return DigestInputs(
        focus_areas=config.focus_areas,
        area_vectors=area_vectors,
        items=items,
        vectors=vectors[: len(items)],
        feedback_items=fb_items,
        feedback=feedback,
        marked=marked,
        posts=posts,
        post_vectors=vectors[len(items) :],
        source_weights={s.name: s.weight for s in config.sources},
        source_states=store.sources.all(),
        progress=week_progress(store, config, period_of(options.window_end)),
        now=now or datetime.now(UTC),
    )


def week_progress(store: Store, config: Config, week: str) -> list[ProgressRow]:
    """The week's progress table: the same count `paperfeed stats` shows."""
    reads = progress.read_marks(store, config.focus_areas)
    return progress.progress_rows(reads, config.focus_areas, week)
