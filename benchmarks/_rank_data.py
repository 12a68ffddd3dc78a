"""The data of bench_rank.py: papers by week, their MiniLM vectors, the focus areas in three styles,
and the peers' rankings (BM25, dense-only, arxiv-sanity-lite's recommender, LinearSVC on vectors).

Vectors come from a paperfeed home that has the snapshot imported and embedded (`--home`, a COPY
of it: DuckDB allows one writer), read by arXiv id; without one, the papers used are embedded with
paperfeed's embedder and cached in /tmp/paperfeed_bench_rank/.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import yaml

from paperfeed.config import DEFAULT_MODEL, FocusArea

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared/data/arxiv_bulk/arxiv_metadata_65k.jsonl.gz"
AREAS_FILE = HERE / "focus_areas.yaml"
CACHE = Path("/tmp/paperfeed_bench_rank")
HISTORY_DAYS = 56  # the learner's store: the papers of the 8 weeks before the digest's week
STYLES = ("phrase", "sentence", "description")


@dataclass(frozen=True)
class EvalArea:
    category: str
    split: str
    phrase: str
    sentence: str
    description: str
    keywords: tuple[str, ...]

    def focus_area(self, style: str) -> FocusArea:
        """The area as a learner would write it in sources.yaml, in one style."""
        if style == "description":
            return FocusArea(self.category, self.description, self.keywords)
        return FocusArea(self.category, getattr(self, style))


def load_areas(split: str) -> tuple[list[EvalArea], list[str]]:
    """The split's areas and weeks from focus_areas.yaml (held-out-2 and -3: the held-out areas
    on fresh weeks; rewritten: the held-out categories in another writer's words)."""
    data = yaml.safe_load(AREAS_FILE.read_text(encoding="utf-8"))
    areas = [
        EvalArea(
            a["category"],
            a["split"],
            a["phrase"],
            a["sentence"],
            a["description"],
            tuple(a["keywords"]),
        )
        for a in data["areas"]
        if a["split"] == split.removesuffix("-2").removesuffix("-3")
    ]
    return areas, [str(w) for w in data["weeks"][split]]


def monday(day: str) -> str:
    parsed = date.fromisoformat(day)
    return (parsed - timedelta(days=parsed.weekday())).isoformat()


def load_papers(path: Path) -> dict[str, list[dict]]:
    """Every paper of the snapshot, grouped by the Monday of its update_date."""
    weeks: dict[str, list[dict]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            kept = {k: row[k] for k in ("id", "title", "abstract", "update_date")}
            kept["categories"] = set(row["categories"].split())
            weeks.setdefault(monday(row["update_date"]), []).append(kept)
    return weeks


def history(weeks: dict[str, list[dict]], week: str) -> list[dict]:
    """The papers of the HISTORY_DAYS before `week`, oldest first: what the learner's store held."""
    start = (date.fromisoformat(week) - timedelta(days=HISTORY_DAYS)).isoformat()
    found = [p for w, papers in weeks.items() if start <= w < week for p in papers]
    return sorted(found, key=lambda p: (p["update_date"], p["id"]))


def vectors_from_home(home: Path, ids: set[str]) -> dict[str, np.ndarray]:
    """The stored vectors of the default model, by arXiv id, from a paperfeed home (read-only)."""
    import duckdb

    conn = duckdb.connect(str(home / "paperfeed.duckdb"), read_only=True)
    try:
        rows = conn.execute(
            "SELECT i.arxiv_id, e.vector FROM embeddings e JOIN items i ON i.id = e.item_id "
            "WHERE e.model = ?",
            [DEFAULT_MODEL],
        ).fetchall()
    finally:
        conn.close()
    return {a: np.frombuffer(v, dtype="<f4") for a, v in rows if a in ids}


def embed_cached(papers: list[dict]) -> dict[str, np.ndarray]:
    """Vectors for `papers`, embedding only those not cached yet (saved as it goes)."""
    from paperfeed.embed.embedder import embedding_text, load_embedder

    CACHE.mkdir(exist_ok=True)
    file = CACHE / "vectors.npz"
    cached = dict(np.load(file)) if file.exists() else {}
    todo = list({p["id"]: p for p in papers if p["id"] not in cached}.values())
    if todo:
        embedder = load_embedder(DEFAULT_MODEL)
        for start in range(0, len(todo), 1000):
            chunk = todo[start : start + 1000]
            vectors = embedder.encode([embedding_text(p["title"], p["abstract"]) for p in chunk])
            cached.update({p["id"]: v for p, v in zip(chunk, vectors, strict=True)})
            np.savez(file, **cached)
            print(f"  embedded {start + len(chunk)}/{len(todo)}", flush=True)
    return cached


def paper_vectors(papers: list[dict], home: Path | None) -> dict[str, np.ndarray]:
    ids = {p["id"] for p in papers}
    found = vectors_from_home(home, ids) if home else {}
    missing = [p for p in papers if p["id"] not in found]
    if missing:
        found.update(embed_cached(missing))
    return found


def query_vectors(
    areas: list[EvalArea], *, as_written: bool = False
) -> dict[tuple[str, str], np.ndarray]:
    """(category, style) -> the area's query vector as paperfeed's digest encodes it, or with
    `as_written` of its description and keywords as the learner wrote them (the dense-only peer).
    Cached by the text embedded: a change to how areas are phrased is never served stale."""
    from paperfeed.digest.gather import area_text, area_words, encode_texts
    from paperfeed.embed.embedder import load_query_encoder

    CACHE.mkdir(exist_ok=True)
    file = CACHE / "queries.npz"
    cached = dict(np.load(file)) if file.exists() else {}
    text = {
        (a.category, s): (area_words if as_written else area_text)(a.focus_area(s))
        for a in areas
        for s in STYLES
    }
    key = {case: hashlib.sha1(t.encode()).hexdigest() for case, t in text.items()}
    todo = {key[case]: t for case, t in text.items() if key[case] not in cached}
    if todo:
        encoded = encode_texts(load_query_encoder(DEFAULT_MODEL), list(todo.values()))
        cached.update(dict(zip(todo, encoded, strict=True)))
        np.savez(file, **cached)
    return {case: cached[key[case]] for case in text}


# ---------------------------------------------------------------- peers


class Bm25:
    """bm25s over the week's texts, indexed once, queried per area."""

    def __init__(self, texts: list[str]) -> None:
        import bm25s

        self.size = len(texts)
        self.retriever = bm25s.BM25()
        tokens = bm25s.tokenize(texts, stopwords="en", show_progress=False)
        self.retriever.index(tokens, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        import bm25s

        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        ids, scores = self.retriever.retrieve(tokens, k=self.size, show_progress=False)
        out = np.zeros(self.size)
        out[ids[0]] = scores[0]
        return out


def tfidf_matrix(texts: list[str]):  # noqa: ANN201 (a scipy sparse matrix)
    """arxiv-sanity-lite's features (compute.py): word 1-2 grams, sublinear tf, l2 rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        input="content",
        encoding="utf-8",
        decode_error="replace",
        strip_accents="unicode",
        lowercase=True,
        analyzer="word",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
        ngram_range=(1, 2),
        max_features=20000,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=True,
        max_df=0.1,
        min_df=5,
    )
    return vectorizer.fit_transform(texts)


def svm_scores(features, positive: np.ndarray, week: slice) -> np.ndarray:  # noqa: ANN001
    """arxiv-sanity-lite's recommender (serve.py): LinearSVC C=0.01, balanced classes, trained on
    the whole store (positives the reads, negatives everything else), scoring the week's rows."""
    from sklearn.svm import LinearSVC

    labels = np.zeros(features.shape[0])
    labels[positive] = 1
    clf = LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.01)
    clf.fit(features, labels)
    return np.asarray(clf.decision_function(features[week]))
