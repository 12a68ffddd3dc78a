"""Ranking quality on real arXiv weeks: P@10 per focus area for BM25, dense-only cosine and
paperfeed's ranking, in one run, over weeks chosen by a fixed rule (held-out by default); then
the learning check for every area and every week: 20 papers of that area read in the three earlier
weeks (as if read from that area's section of earlier digests), plus a sample of the papers of
those weeks the learner was shown and did not read; P@10 on the later week with and without
that feedback. Each (area, week) case averages its P@10 with feedback over SAMPLES independent
samples of the 20 reads (fixed seeds), so one lucky or unlucky sample does not decide a case;
every case is printed, with the overall mean change and the up/same/down counts.

Weeks are Monday..Sunday of `update_date`, in three disjoint sets (`--weeks` picks one):
  tuning    2023-06-12, 2023-10-16, 2024-01-15, 2024-02-12: the signal weights of
            paperfeed.digest.rank.Weights were chosen on them;
  dev       the feedback weights (how much the learner's reads count) were chosen on them: of the
            eligible weeks (at least 1,000 papers, three weeks of data before them, not tuning),
            every 4th counting back from the newest, starting at the third, less held-out ones;
  held-out  (the default) of the eligible weeks, every 8th counting back from the newest, plus
            2024-03-25 (held out by earlier reports). Nothing was chosen on them.
The learning check also reports a ceiling: the same ranking with every paper of the three
earlier weeks labelled (read if it has the category, unread if not), instead of 20 reads: how
far this ranking goes with all the feedback those weeks could give.

Relevant = the paper's categories contain the area's arXiv category. The focus areas are written
the way a learner would describe them, not derived from the category labels.

Embedding real abstracts is slow on this CPU, so only the papers used are embedded (with
paperfeed.embed.embedder.load_embedder) and the vectors are cached in /tmp/paperfeed_bench_rank/
between runs. Usage: .venv/bin/python benchmarks/bench_rank.py [--data PATH]
[--weeks held-out|dev|tuning] [--reads N] (papers read per case, default 20: the learning curve)
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from paperfeed.config import DEFAULT_MODEL
from paperfeed.digest import rank

DATA = Path(__file__).resolve().parents[2] / "shared/data/arxiv_bulk/arxiv_metadata_65k.jsonl.gz"
CACHE = Path("/tmp/paperfeed_bench_rank")
TUNING = ("2023-06-12", "2023-10-16", "2024-01-15", "2024-02-12")
ALSO_HELD_OUT = ("2024-03-25",)
MIN_PAPERS, EVERY = 1000, 8
READS, UNREAD_SHOWN = 20, 300
SAMPLES = 5  # independent read samples per (area, week) case, fixed seeds: less noise per case
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
METHODS = ("bm25", "dense", "paperfeed", "paperfeed_digest")
Plan = tuple[dict[str, list[list[dict]]], list[dict], list[dict]]  # reads, shown, earlier weeks


def monday(day: str) -> str:
    parsed = date.fromisoformat(day)
    return (parsed - timedelta(days=parsed.weekday())).isoformat()


def shifted(week: str, days: int) -> str:
    return (date.fromisoformat(week) + timedelta(days=days)).isoformat()


def load_papers(path: Path) -> dict[str, list[dict]]:
    """Every paper of the snapshot, grouped by the Monday of its update_date."""
    weeks: dict[str, list[dict]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            kept = {k: row[k] for k in ("id", "title", "abstract", "categories")}
            weeks.setdefault(monday(row["update_date"]), []).append(kept)
    return weeks


def eligible_weeks(weeks: dict[str, list[dict]]) -> list[str]:
    """Weeks with at least MIN_PAPERS papers and three weeks of data before them, not tuning
    weeks, newest first."""
    first = min(weeks)
    sizes = Counter({w: len(p) for w, p in weeks.items()})
    found = (
        w
        for w, n in sizes.items()
        if n >= MIN_PAPERS and w not in TUNING and shifted(w, -21) >= first
    )
    return sorted(found, reverse=True)


def held_out_weeks(weeks: dict[str, list[dict]]) -> list[str]:
    """The fixed rule in the module docstring."""
    return sorted(set(eligible_weeks(weeks)[::EVERY]) | set(ALSO_HELD_OUT))


def dev_weeks(weeks: dict[str, list[dict]]) -> list[str]:
    """The fixed rule in the module docstring."""
    return sorted(set(eligible_weeks(weeks)[2::4]) - set(held_out_weeks(weeks)))


def chosen_weeks(weeks: dict[str, list[dict]], which: str) -> list[str]:
    if which == "tuning":
        return list(TUNING)
    return dev_weeks(weeks) if which == "dev" else held_out_weeks(weeks)


def earlier(weeks: dict[str, list[dict]], week: str) -> list[dict]:
    """The papers of the three weeks before `week`."""
    return [p for back in (21, 14, 7) for p in weeks.get(shifted(week, -back), [])]


def embed_cached(papers: list[dict]) -> dict[str, np.ndarray]:
    from paperfeed.embed.embedder import embedding_text, load_embedder

    CACHE.mkdir(exist_ok=True)
    file = CACHE / "vectors.npz"
    cached = dict(np.load(file)) if file.exists() else {}
    todo = list({p["id"]: p for p in papers if p["id"] not in cached}.values())
    if todo:
        embedder = load_embedder(DEFAULT_MODEL)
        for start in range(0, len(todo), 1000):  # saved as it goes: a long run can be resumed
            chunk = todo[start : start + 1000]
            vectors = embedder.encode([embedding_text(p["title"], p["abstract"]) for p in chunk])
            cached.update({p["id"]: v for p, v in zip(chunk, vectors, strict=True)})
            np.savez(file, **cached)
            print(f"  embedded {start + len(chunk)}/{len(todo)}", flush=True)
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


def relevance(week: list[dict], category: str) -> np.ndarray:
    return np.array([category in p["categories"].split() for p in week])


def paperfeed_at_10(
    week: list[dict], vectors: np.ndarray, areas: list[rank.Area], feedback: rank.Feedback | None
) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """Per area: (P@10 of paperfeed's area score, P@10 of the diversified digest section)."""
    cands = rank.Candidates(vectors, [p["title"] for p in week], [p["abstract"] for p in week])
    ours = rank.area_scores(cands, areas, feedback)
    assigned = rank.assign(ours, areas)
    found = {}
    for j, (category, *_rest) in enumerate(AREAS):
        relevant = relevance(week, category)
        members = np.flatnonzero(assigned == j)
        digest = [members[i] for i in rank.mmr(vectors[members], ours[members, j], 10)]
        section = float(relevant[digest].mean()) if digest else 0.0
        found[category] = (precision_at(np.argsort(-ours[:, j]), relevant), section)
    return ours, found


def evaluate_week(
    week: list[dict], vectors: np.ndarray, areas: list[rank.Area]
) -> dict[str, dict[str, float]]:
    _scores, ours = paperfeed_at_10(week, vectors, areas, None)
    texts = [f"{p['title']} {p['abstract']}" for p in week]
    result = {}
    for j, (category, _name, description, keywords) in enumerate(AREAS):
        relevant = relevance(week, category)
        lexical = bm25_scores(texts, f"{description} {' '.join(keywords)}")
        result[category] = {
            "bm25": precision_at(np.argsort(-lexical), relevant),
            "dense": precision_at(np.argsort(-(vectors @ areas[j].vector)), relevant),
            "paperfeed": ours[category][0],
            "paperfeed_digest": ours[category][1],
        }
    return result


def read_sample(pool: list[dict], category: str, seed: str, count: int = READS) -> list[dict]:
    """Up to `count` papers of the category from the earlier weeks (fewer when fewer exist)."""
    papers = [p for p in pool if category in p["categories"].split()]
    return random.Random(f"{category} {seed}").sample(papers, min(count, len(papers)))


def sample_seeds(week: str) -> list[str]:
    """SAMPLES fixed seeds per week; the first is the one earlier reports used alone."""
    return [week] + [f"{week} #{s}" for s in range(1, SAMPLES)]


def shown_sample(pool: list[dict], seed: str) -> list[dict]:
    """UNREAD_SHOWN papers of the earlier weeks, whatever their category: what the learner was
    shown (or could have been) and did not read. A read paper among them is dropped per case."""
    return random.Random(f"shown {seed}").sample(pool, min(UNREAD_SHOWN, len(pool)))


def learning_feedback(
    j: int, reads: list[dict], shown: list[dict], cached: dict[str, np.ndarray]
) -> rank.Feedback:
    read_ids = {p["id"] for p in reads}
    unread = [p for p in shown if p["id"] not in read_ids]
    vectors = np.stack([cached[p["id"]] for p in reads + unread])
    labels = np.concatenate([np.ones(len(reads)), np.zeros(len(unread))])
    areas = np.concatenate([np.full(len(reads), j), np.full(len(unread), -1)]).astype(np.int64)
    return rank.Feedback(vectors, labels, areas)


def report_quality(per_week: dict[str, dict[str, dict[str, float]]]) -> None:
    print(f"\n{'week':<11} " + " ".join(f"{m:>16}" for m in METHODS) + "   (mean P@10 of 5 areas)")
    means = {
        w: {m: np.mean([r[m] for r in rows.values()]) for m in METHODS}
        for w, rows in per_week.items()
    }
    for week, row in means.items():
        print(f"{week:<11} " + " ".join(f"{row[m]:>16.3f}" for m in METHODS))
    overall = {m: np.mean([row[m] for row in means.values()]) for m in METHODS}
    print(f"{'mean':<11} " + " ".join(f"{overall[m]:>16.3f}" for m in METHODS))
    for base in ("bm25", "dense"):
        diffs = [row["paperfeed"] - row[base] for row in means.values()]
        print(
            f"paperfeed vs {base}: wins {sum(d > 0 for d in diffs)}, ties "
            f"{sum(d == 0 for d in diffs)}, loses {sum(d < 0 for d in diffs)} of {len(diffs)} weeks"
        )


@dataclass(frozen=True)
class Case:
    """One (week, area) learning case. P@10 pairs are (the area's ranking, the digest section);
    `after` is the mean over SAMPLES read samples."""

    week: str
    category: str
    reads: int
    before: tuple[float, float]
    after: tuple[float, float]
    ceiling: float  # the area's ranking with every earlier paper labelled


def _summary(before: list[float], after: list[float]) -> str:
    gains = np.subtract(after, before)
    return (
        f"mean P@10 {np.mean(before):.3f} -> {np.mean(after):.3f}, change {gains.mean():+.3f}, "
        f"{(gains > 0).sum()} up, {(gains == 0).sum()} same, {(gains < 0).sum()} down"
    )


def report_learning(cases: list[Case]) -> None:
    print(
        f"\nlearning: P@10 without -> with feedback (mean of {SAMPLES} read samples), "
        "the area's ranking [digest section]; ceiling = every earlier paper labelled"
    )
    for c in cases:
        print(
            f"  {c.week} {c.category:<8} {c.reads:>2} read: {c.before[0]:.2f} -> {c.after[0]:.2f}"
            f"  [{c.before[1]:.2f} -> {c.after[1]:.2f}]  ceiling {c.ceiling:.2f}"
        )
    print(f"learning over {len(cases)} cases (areas x weeks):")
    ranking = [c.before[0] for c in cases]
    print(f"  area ranking:   {_summary(ranking, [c.after[0] for c in cases])}")
    print(
        f"  digest section: {_summary([c.before[1] for c in cases], [c.after[1] for c in cases])}"
    )
    print(f"  ceiling:        {_summary(ranking, [c.ceiling for c in cases])}")
    for category, *_rest in AREAS:
        mine = [c.after[0] - c.before[0] for c in cases if c.category == category]
        print(f"  {category:<8} mean change {np.mean(mine):+.3f} over {len(mine)} weeks")


def ceiling_feedback(
    j: int, pool: list[dict], category: str, cached: dict[str, np.ndarray]
) -> rank.Feedback:
    """Every paper of the earlier weeks marked: read when it has the category, unread if not."""
    labels = relevance(pool, category).astype(np.float64)
    areas = np.where(labels > 0, j, -1).astype(np.int64)
    return rank.Feedback(np.stack([cached[p["id"]] for p in pool]), labels, areas)


def learning_case(
    week: str,
    papers: list[dict],
    vectors: np.ndarray,
    areas: list[rank.Area],
    j: int,
    before: tuple[float, float],
    plan: Plan,
    cached: dict[str, np.ndarray],
) -> Case:
    """`before`: the week's P@10 pair for area j without feedback, as evaluate_week found it."""
    category = AREAS[j][0]
    reads, shown, pool = plan
    after = [
        paperfeed_at_10(papers, vectors, areas, learning_feedback(j, sample, shown, cached))[1][
            category
        ]
        for sample in reads[category]
    ]
    ceiling = paperfeed_at_10(papers, vectors, areas, ceiling_feedback(j, pool, category, cached))
    return Case(
        week,
        category,
        len(reads[category][0]),
        before,
        (float(np.mean([a[0] for a in after])), float(np.mean([a[1] for a in after]))),
        ceiling[1][category][0],
    )


def load_areas() -> list[rank.Area]:
    from paperfeed.embed.embedder import load_query_encoder

    encode = load_query_encoder(DEFAULT_MODEL)
    found = []
    for _category, name, description, keywords in AREAS:
        vector = np.asarray(encode(f"{description}. {', '.join(keywords)}"), np.float32)
        found.append(
            rank.Area(name, vector / np.linalg.norm(vector), keywords, description=description)
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--weeks", choices=("held-out", "dev", "tuning"), default="held-out", help="which weeks"
    )
    parser.add_argument(
        "--embed-only", action="store_true", help="fill the vector cache, then stop"
    )
    parser.add_argument(
        "--reads", type=int, default=READS, help=f"papers read per case (default {READS})"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    weeks = load_papers(args.data)
    chosen = chosen_weeks(weeks, args.weeks)
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, python {platform.python_version()}"
    )
    print(f"{args.weeks} weeks: {', '.join(chosen)}")
    plan: dict[str, Plan] = {}
    for week in chosen:
        pool = earlier(weeks, week)
        reads = {
            c: [read_sample(pool, c, s, args.reads) for s in sample_seeds(week)]
            for c, *_rest in AREAS
        }
        plan[week] = (reads, shown_sample(pool, week), pool)
    needed = [p for w in chosen for p in weeks[w] + earlier(weeks, w)]
    cached = embed_cached(needed)
    if args.embed_only:
        return
    areas = load_areas()
    per_week, cases = {}, []
    for week in chosen:
        vectors = np.stack([cached[p["id"]] for p in weeks[week]])
        per_week[week] = evaluate_week(weeks[week], vectors, areas)
        for j, (category, *_rest) in enumerate(AREAS):
            found = per_week[week][category]
            before = (found["paperfeed"], found["paperfeed_digest"])
            cases.append(
                learning_case(week, weeks[week], vectors, areas, j, before, plan[week], cached)
            )
    report_quality(per_week)
    report_learning(cases)


if __name__ == "__main__":
    main()
