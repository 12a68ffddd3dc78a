"""Ranking quality on real arXiv weeks: P@10 per focus area for BM25, dense-only cosine and
paperfeed's ranking, in one run; then the learning check: for every area, 20 papers of that area
read from the three earlier weeks (as if read from that area's section of earlier digests, so
they count for that area), P@10 on the later week with and without that feedback.

The evaluated weeks are held out: paperfeed.rank.Weights were chosen on 2024-02-12..16 and
2023-10-16..20 (reads from the three weeks before each), never on the weeks reported here.

Relevant = the paper's categories contain the area's arXiv category. The focus areas are written
the way a learner would describe them, not derived from the category labels.

Embedding real abstracts is slow on this CPU, so only the weeks used are embedded (with
paperfeed.embed.load_embedder) and the vectors are cached in /tmp/paperfeed_bench_rank/ between
runs. Usage: .venv/bin/python benchmarks/bench_rank.py [--data PATH]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
from pathlib import Path

import numpy as np

from paperfeed import rank
from paperfeed.config import DEFAULT_MODEL

DATA = Path(__file__).resolve().parents[2] / "shared/data/arxiv_bulk/arxiv_metadata_65k.jsonl.gz"
CACHE = Path("/tmp/paperfeed_bench_rank")
WEEKS = {  # evaluated week -> the earlier weeks the learner read from
    ("2024-03-25", "2024-03-29"): ("2024-03-04", "2024-03-22"),
    ("2026-08-17", "2026-08-21"): ("2026-07-27", "2026-08-14"),
}
AREAS = [  # (category, name, description, keywords)
    (
        "cs.CL",
        "NLP",
        "Understanding and generating text with large language models: chatbots, "
        "translation, question answering, summarization",
        ("language model", "llm", "text", "translation", "question answering", "nlp"),
    ),
    (
        "cs.SE",
        "ML for software",
        "Using machine learning to write and fix software: code generation, program repair, "
        "testing, bugs and developer tools",
        ("code generation", "program repair", "software", "bug", "testing", "developer"),
    ),
    (
        "cs.IR",
        "Search and recommenders",
        "How search engines and recommender systems find and "
        "rank the right documents or products for a user",
        ("retrieval", "recommendation", "recommender", "ranking", "search", "query"),
    ),
    (
        "stat.ML",
        "Statistical ML",
        "The statistics behind machine learning: Bayesian inference, "
        "kernels, generalization bounds, estimation and causal effects",
        ("bayesian", "inference", "kernel", "estimator", "causal", "gaussian process"),
    ),
    (
        "cs.AI",
        "AI agents and reasoning",
        "Agents that plan and reason: planning, knowledge "
        "representation, logic, multi-agent systems and LLM agents",
        ("agent", "planning", "reasoning", "knowledge", "logic", "multi-agent"),
    ),
]


def load_papers(path: Path, ranges: list[tuple[str, str]]) -> list[dict]:
    found = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if any(lo <= row["update_date"] <= hi for lo, hi in ranges):
                found.append(row)
    return found


def embed_cached(papers: list[dict]) -> dict[str, np.ndarray]:
    from paperfeed.embed import embedding_text, load_embedder

    CACHE.mkdir(exist_ok=True)
    file = CACHE / "vectors.npz"
    cached = dict(np.load(file)) if file.exists() else {}
    todo = [p for p in papers if p["id"] not in cached]
    if todo:
        embedder = load_embedder(DEFAULT_MODEL)
        texts = [embedding_text(p["title"], p["abstract"]) for p in todo]
        vectors = embedder.encode(texts)
        cached.update({p["id"]: v for p, v in zip(todo, vectors, strict=True)})
        np.savez(file, **cached)
    return cached


def precision_at(order: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    return float(relevant[order[:k]].mean())


def bm25_scores(texts: list[str], query: str) -> np.ndarray:
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
    ids, scores = retriever.retrieve(tokens, k=len(texts), show_progress=False)
    out = np.zeros(len(texts))
    out[ids[0]] = scores[0]
    return out


def evaluate_week(
    week: list[dict], vectors: np.ndarray, areas: list[rank.Area], feedback: rank.Feedback | None
) -> dict[str, dict[str, float]]:
    titles, summaries = [p["title"] for p in week], [p["abstract"] for p in week]
    cands = rank.Candidates(vectors, titles, summaries)
    ours = rank.area_scores(cands, areas, feedback)
    assigned = rank.assign(ours, areas)
    texts = [f"{t} {s}" for t, s in zip(titles, summaries, strict=True)]
    result = {}
    for j, (category, _name, description, keywords) in enumerate(AREAS):
        relevant = np.array([category in p["categories"].split() for p in week])
        members = np.flatnonzero(assigned == j)
        digest = [members[i] for i in rank.mmr(vectors[members], ours[members, j], 10)]
        result[category] = {
            "bm25": precision_at(
                np.argsort(-bm25_scores(texts, f"{description} {' '.join(keywords)}")), relevant
            ),
            "dense": precision_at(np.argsort(-(vectors @ areas[j].vector)), relevant),
            "paperfeed": precision_at(np.argsort(-ours[:, j]), relevant),
            "paperfeed_digest": float(relevant[digest].mean()) if digest else 0.0,
        }
    return result


def read_sample(earlier: list[dict], category: str, seed: str) -> list[dict]:
    """Up to 20 papers of the category from the earlier weeks (fewer when fewer exist)."""
    pool = [p for p in earlier if category in p["categories"].split()]
    return random.Random(f"{category} {seed}").sample(pool, min(20, len(pool)))


def learning(
    week: list[dict],
    vectors: np.ndarray,
    areas: list[rank.Area],
    reads: dict[str, list[dict]],
    cached: dict[str, np.ndarray],
) -> dict[str, tuple[int, float, float]]:
    """Per area: (papers read, P@10 without feedback, P@10 with it)."""
    before = evaluate_week(week, vectors, areas, None)
    found = {}
    for j, (category, *_rest) in enumerate(AREAS):
        read = np.stack([cached[p["id"]] for p in reads[category]])
        feedback = rank.Feedback(read, np.ones(len(read)), np.full(len(read), j))
        after = evaluate_week(week, vectors, areas, feedback)[category]["paperfeed"]
        found[category] = (len(read), before[category]["paperfeed"], after)
    return found


def report_week(week: list[dict], vectors: np.ndarray, areas: list[rank.Area]) -> None:
    print(f"{'area':<8} {'bm25':>6} {'dense':>6} {'paperfeed':>10} {'digest':>7}")
    results = evaluate_week(week, vectors, areas, None)
    for category, row in results.items():
        print(
            f"{category:<8} {row['bm25']:>6.2f} {row['dense']:>6.2f} "
            f"{row['paperfeed']:>10.2f} {row['paperfeed_digest']:>7.2f}"
        )
    means = {m: np.mean([r[m] for r in results.values()]) for m in next(iter(results.values()))}
    print("mean     " + " ".join(f"{m}={v:.3f}" for m, v in means.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ranges = [r for pair in WEEKS.items() for r in pair]
    papers = load_papers(args.data, ranges)
    from paperfeed.embed import load_query_encoder

    encode = load_query_encoder(DEFAULT_MODEL)
    area_vectors = [np.asarray(encode(f"{d}. {', '.join(k)}"), np.float32) for _, _, d, k in AREAS]
    areas = [
        rank.Area(name, v / np.linalg.norm(v), kw, description=d)
        for (_, name, d, kw), v in zip(AREAS, area_vectors, strict=True)
    ]
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    gains = []
    for (lo, hi), (elo, ehi) in WEEKS.items():
        week = [p for p in papers if lo <= p["update_date"] <= hi]
        earlier = [p for p in papers if elo <= p["update_date"] <= ehi]
        reads = {c: read_sample(earlier, c, elo) for c, *_rest in AREAS}
        cached = embed_cached(week + [p for r in reads.values() for p in r])
        vectors = np.stack([cached[p["id"]] for p in week])
        print(f"\nweek {lo}..{hi}: {len(week)} papers")
        report_week(week, vectors, areas)
        print(f"learning: papers of the area read from {elo}..{ehi}, P@10 without -> with")
        for category, (count, before, after) in learning(
            week, vectors, areas, reads, cached
        ).items():
            print(f"  {category:<8} {count:>2} read: {before:.2f} -> {after:.2f}")
            gains.append(after - before)
    print(
        f"\nlearning over {len(gains)} cases (areas x weeks): mean change {np.mean(gains):+.3f}, "
        f"{sum(g > 0 for g in gains)} up, {sum(g == 0 for g in gains)} same, "
        f"{sum(g < 0 for g in gains)} down"
    )


if __name__ == "__main__":
    main()
