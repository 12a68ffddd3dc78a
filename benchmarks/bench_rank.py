"""Ranking quality on real arXiv weeks, on focus areas nobody tuned on, with the peers in one run.

The areas, their three styles (short phrase, a sentence, a description with keywords) and the
fixed area and week splits are in benchmarks/focus_areas.yaml, written before any tuning. Every
weight of paperfeed.digest.rank was chosen with `--split tuning`; a held-out split is run once
per change to the ranking and reported as it comes out: `held-out` at stop 16, `held-out-2` (the
held-out areas on fresh weeks) on 3 December for expansion and neighbours, `held-out-3` on 3
December for phrasing an area as a paper (paperfeed.digest.gather.area_text); none is left unrun.
`rewritten` (the held-out categories in another writer's words, on the held-out-3 weeks) was run
once on 3 December with the ranking unchanged: how much the figures owe to whose words they are.
Relevant = the paper lists the area's arXiv category; P@10 per (area, week, style) case.

The learner: every area of the split at once (one sources.yaml), each with N papers of its
category read from the 8 weeks before the week (the store), N in --reads; the reads of
N=5 are among those of N=10 and so on. They were also shown UNREAD_SHOWN papers of those weeks
and read none of them (paperfeed's negatives). SAMPLES read samples per case, fixed seeds.

Reported, all in this run:
  peers with no reads: BM25 (bm25s, description + keywords), dense-only MiniLM cosine of the
    description as written (and, as "phrased", of the text paperfeed embeds for the area);
  peers with reads (--peer-reads): arxiv-sanity-lite's recommender (TF-IDF 1-2 grams, sublinear
    tf, LinearSVC C=0.01 balanced, positives the reads, negatives the rest of the store and the
    week) and the same LinearSVC on the MiniLM vectors;
  paperfeed at each N, mean and per style, with up/same/down counts against N=0;
  the digest section (each item assigned to one area, MMR) against the per-area ranking.

Usage: .venv/bin/python benchmarks/bench_rank.py
[--split tuning|held-out|held-out-2|held-out-3|rewritten] [--home COPY_OF_HOME]
[--reads 0,5,10,20,40] [--peer-reads 5,20] [--samples 2] [--weights center=0.5,bm25=0.3]
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from _machine import cpu_model
from _rank_data import (
    CACHE,
    DATA,
    STYLES,
    Bm25,
    EvalArea,
    history,
    load_areas,
    load_papers,
    paper_vectors,
    query_vectors,
    svm_scores,
    tfidf_matrix,
)

from paperfeed.digest import rank

UNREAD_SHOWN = 300
Key = tuple[str, str, str]  # (week, category, style)


@dataclass
class Week:
    name: str
    papers: list[dict]
    vectors: np.ndarray
    store: list[dict]  # the 8 weeks before
    older: list[dict]  # with --examples: the papers before those (where examples come from)
    cands: rank.Candidates
    relevant: dict[str, np.ndarray]


def precision_at(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    return float(relevant[np.argsort(-scores, kind="stable")[:k]].mean())


def read_orders(week: Week, areas: list[EvalArea], samples: int) -> list[dict[str, list[dict]]]:
    """Per sample: each category's store papers (with --examples: older papers) in a fixed
    random order (reads = a prefix)."""
    pool = week.older or week.store
    found = []
    for s in range(samples):
        found.append(
            {
                a.category: random.Random(f"{a.category} {week.name} {s}").sample(
                    mine := [p for p in pool if a.category in p["categories"]], len(mine)
                )
                for a in areas
            }
        )
    return found


def learner_feedback(
    reads: dict[str, list[dict]], areas: list[EvalArea], week: Week, sample: int, vectors: dict
) -> rank.Feedback:
    read_ids = {p["id"] for papers in reads.values() for p in papers}
    pool = [p for p in week.store if p["id"] not in read_ids]
    shown = random.Random(f"shown {week.name} {sample}").sample(pool, min(UNREAD_SHOWN, len(pool)))
    rows = [vectors[p["id"]] for a in areas for p in reads[a.category]]
    rows += [vectors[p["id"]] for p in shown]
    areas_of = [j for j, a in enumerate(areas) for _ in reads[a.category]] + [-1] * len(shown)
    labels = np.concatenate([np.ones(len(areas_of) - len(shown)), np.zeros(len(shown))])
    return rank.Feedback(np.stack(rows), labels, np.array(areas_of, dtype=np.int64))


def digest_sections(week: Week, scores: np.ndarray, areas: list[rank.Area]) -> list[np.ndarray]:
    """Per area: the indices the digest's section would show (assigned to it, MMR, 10)."""
    assigned = rank.assign(scores, areas)
    sections = []
    for j in range(len(areas)):
        members = np.flatnonzero(assigned == j)
        chosen = rank.mmr(week.vectors[members], scores[members, j], 10)
        sections.append(members[chosen] if chosen else np.zeros(0, dtype=np.int64))
    return sections


def paperfeed_run(
    week: Week,
    areas: list[EvalArea],
    style: str,
    queries: dict,
    feedback: rank.Feedback | None,
    weights: rank.Weights,
) -> tuple[dict[str, float], dict[str, float]]:
    """(per-area ranking P@10, digest section P@10) by category."""
    ranked_areas = [
        rank.Area(
            a.category,
            queries[(a.category, style)],
            a.focus_area(style).keywords,
            description=a.focus_area(style).description,
        )
        for a in areas
    ]
    scores = rank.area_scores(week.cands, ranked_areas, feedback, weights)
    sections = digest_sections(week, scores, ranked_areas)
    ranking, digest = {}, {}
    for j, a in enumerate(areas):
        relevant = week.relevant[a.category]
        ranking[a.category] = precision_at(scores[:, j], relevant)
        digest[a.category] = float(relevant[sections[j]].sum() / 10)
    return ranking, digest


def peers_without_reads(week: Week, areas: list[EvalArea], queries: dict) -> dict[Key, dict]:
    bm25 = Bm25([f"{p['title']} {p['abstract']}" for p in week.papers])
    found = {}
    for a in areas:
        for style in STYLES:
            area = a.focus_area(style)
            lexical = bm25.scores(f"{area.description} {' '.join(area.keywords)}")
            dense = week.vectors @ queries[(a.category, style)]
            relevant = week.relevant[a.category]
            found[(week.name, a.category, style)] = {
                "bm25": precision_at(lexical, relevant),
                "dense": precision_at(dense, relevant),
            }
    return found


def dense_phrased(week: Week, areas: list[EvalArea], queries: dict, peers: dict) -> dict:
    """The peers' rows with the dense-only cosine of the area phrased as paperfeed phrases it
    (what that phrasing alone is worth) added."""
    found = {}
    for a in areas:
        for style in STYLES:
            key = (week.name, a.category, style)
            phrased = week.vectors @ queries[(a.category, style)]
            found[key] = {**peers[key], "phrased": precision_at(phrased, week.relevant[a.category])}
    return found


def peers_with_reads(
    week: Week, areas: list[EvalArea], orders: list, counts: list[int], vectors: dict
) -> dict[tuple[str, str, int], dict[str, float]]:
    """(week, category, reads) -> mean P@10 over samples of the two recommenders."""
    if not counts:
        return {}
    everyone = week.store + week.papers
    tfidf = tfidf_matrix([f"{p['title']} {p['abstract']}" for p in everyone])
    dense = np.stack([vectors[p["id"]] for p in everyone])
    row_of = {p["id"]: i for i, p in enumerate(week.store)}
    in_week = slice(len(week.store), len(everyone))
    found: dict[tuple[str, str, int], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for order in orders:
        for a in areas:
            for n in counts:
                positive = np.array([row_of[p["id"]] for p in order[a.category][:n]], dtype=int)
                if not len(positive):
                    continue
                relevant = week.relevant[a.category]
                cell = found[(week.name, a.category, n)]
                cell["svm_tfidf"].append(
                    precision_at(svm_scores(tfidf, positive, in_week), relevant)
                )
                cell["svm_minilm"].append(
                    precision_at(svm_scores(dense, positive, in_week), relevant)
                )
    return {k: {m: float(np.mean(v)) for m, v in cell.items()} for k, cell in found.items()}


def cached_peers(name: str, compute):  # noqa: ANN001, ANN201
    """The peers' P@10 do not depend on paperfeed's weights: computed once per week and setup,
    kept in CACHE (delete it after changing the focus areas or the peers)."""
    file = CACHE / f"peers-{name}.pickle"
    if file.exists():
        return pickle.loads(file.read_bytes())
    found = compute()
    CACHE.mkdir(exist_ok=True)
    file.write_bytes(pickle.dumps(found))
    return found


def load_weeks(args: argparse.Namespace, names: list[str]) -> tuple[list[Week], dict]:
    by_week = load_papers(args.data)
    stores = {w: history(by_week, w) for w in names}
    older = {w: _older(by_week, stores[w]) if args.examples else [] for w in names}
    needed = [p for w in names for p in by_week[w] + stores[w] + older[w]]
    vectors = paper_vectors(needed, args.home)
    weeks = []
    for name in names:
        papers = by_week[name]
        matrix = np.stack([vectors[p["id"]] for p in papers]).astype(np.float32)
        titles, abstracts = [p["title"] for p in papers], [p["abstract"] for p in papers]
        cands = rank.Candidates(matrix, titles, abstracts, corpus=rank.Corpus.of(titles, abstracts))
        weeks.append(
            Week(name, papers, matrix, stores[name], older[name], cands, _relevance(papers))
        )
    return weeks, vectors


def _older(by_week: dict[str, list[dict]], store: list[dict]) -> list[dict]:
    start = store[0]["update_date"] if store else "0000"
    return [p for papers in by_week.values() for p in papers if p["update_date"] < start]


def _relevance(papers: list[dict]) -> dict[str, np.ndarray]:
    """category -> (n,) whether each paper lists it (all False for a category it lacks)."""
    found: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(papers), bool))
    for i, paper in enumerate(papers):
        for category in paper["categories"]:
            found[category][i] = True
    return found


def parse_weights(text: str) -> rank.Weights:
    weights = rank.Weights()
    for part in filter(None, text.split(",")):
        name, value = part.split("=")
        kind = type(getattr(weights, name))
        weights = replace(weights, **{name: kind(float(value))})  # bool: 0 or 1
    return weights


def rank_weeks(
    weeks: list[Week], areas: list[EvalArea], args: argparse.Namespace, setup: tuple
) -> dict[tuple[Key, int], tuple[float, float]]:
    """paperfeed's mean (ranking, digest section) P@10 per (case, reads) with one Weights."""
    queries, vectors, orders, weights = setup
    ours: dict[tuple[Key, int], list[tuple[float, float]]] = defaultdict(list)
    for week in weeks:
        for n in [int(n) for n in args.reads.split(",")]:
            for s, order in enumerate(orders[week.name] if n else orders[week.name][:1]):
                reads = {c: papers[:n] for c, papers in order.items()}
                feedback = learner_feedback(reads, areas, week, s, vectors) if n else None
                for style in STYLES:
                    ranking, digest = paperfeed_run(week, areas, style, queries, feedback, weights)
                    for c in ranking:
                        ours[((week.name, c, style), n)].append((ranking[c], digest[c]))
    return {k: tuple(np.mean(v, axis=0)) for k, v in ours.items()}  # type: ignore[misc]


def evaluate(args: argparse.Namespace) -> None:
    from _rank_report import report

    areas, names = load_areas(args.split)
    names = names[: args.max_weeks]
    counts = [int(n) for n in args.reads.split(",")]
    peer_counts = [int(n) for n in args.peer_reads.split(",") if n]
    weeks, vectors = load_weeks(args, names)
    queries, written = query_vectors(areas), query_vectors(areas, as_written=True)
    started = time.perf_counter()
    peers, learned_peers, orders = {}, {}, {}
    for week in weeks:
        orders[week.name] = order = read_orders(week, areas, args.samples)
        found = cached_peers(
            # "written": the dense peer embeds the area's words as written, no longer followed by
            # a stray ". " (which cost it 0.030 on the held-out-3 phrases)
            f"{week.name}-{args.split}-{args.samples}-{args.peer_reads}-{bool(args.home)}-written",
            lambda week=week, order=order: (
                peers_without_reads(week, areas, written),
                peers_with_reads(week, areas, order, peer_counts, vectors),
            ),
        )
        peers.update(found[0])
        peers.update(dense_phrased(week, areas, queries, found[0]))
        learned_peers.update(found[1])
    print(f"  peers ready ({time.perf_counter() - started:.0f} s)", flush=True)
    if args.peers_only:
        return
    for variant in args.weights.split(";"):
        weights = parse_weights(variant)
        mean = rank_weeks(weeks, areas, args, (queries, vectors, orders, weights))
        print(f"  ranked ({time.perf_counter() - started:.0f} s)", flush=True)
        report(args, weeks, areas, counts, mean, peers, learned_peers, weights)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--split",
        choices=("tuning", "held-out", "held-out-2", "held-out-3", "rewritten"),
        default="tuning",
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--home", type=Path, help="a COPY of a home with the snapshot embedded")
    parser.add_argument("--reads", default="0,5,10,20,40")
    parser.add_argument("--peer-reads", default="5,20")
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument(
        "--examples",
        action="store_true",
        help="reads are example papers from before the store's 8 weeks (use --peer-reads '')",
    )
    parser.add_argument(
        "--weights", default="", help="e.g. center=0.5,bm25=0.3 (tuning only); several: a;b"
    )
    parser.add_argument(
        "--max-weeks", type=int, default=None, help="only the split's first N weeks (oldest)"
    )
    parser.add_argument(
        "--peers-only", action="store_true", help="fill the peers' cache, rank nothing"
    )
    parser.add_argument("--brief", action="store_true", help="leave out the per-area table")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cpus, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; split {args.split}"
    )
    evaluate(args)


if __name__ == "__main__":
    main()
