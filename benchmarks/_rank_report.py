"""What bench_rank.py prints: the no-reads table, the learning curve, the peers with reads."""

from __future__ import annotations

import numpy as np
from _rank_data import STYLES


def _counts(after: list[float], before: list[float]) -> str:
    gains = np.subtract(after, before)
    up, down = (gains > 1e-9).sum(), (gains < -1e-9).sum()
    return f"{up} up, {len(gains) - up - down} same, {down} down"


def no_reads(cases: list, mean: dict, peers: dict) -> None:
    print(
        "\nno reads: mean P@10 over (area, week) cases (dense: the description as written;"
        " phrased: as paperfeed embeds it)"
    )
    print(
        f"{'style':<12} {'cases':>5} {'bm25':>7} {'dense':>7} {'phrased':>7} {'paperfeed':>9} "
        f"{'digest':>7}  vs dense"
    )
    for style in (*STYLES, "all"):
        keys = [k for k in cases if style in (k[2], "all")]
        bm25 = np.mean([peers[k]["bm25"] for k in keys])
        dense = [peers[k]["dense"] for k in keys]
        phrased = np.mean([peers[k]["phrased"] for k in keys])
        ours = [mean[(k, 0)][0] for k in keys]
        digest = np.mean([mean[(k, 0)][1] for k in keys])
        print(
            f"{style:<12} {len(keys):>5} {bm25:>7.3f} {np.mean(dense):>7.3f} {phrased:>7.3f} "
            f"{np.mean(ours):>9.3f} "
            f"{digest:>7.3f}  x{np.mean(ours) / np.mean(dense):.3f}; {_counts(ours, dense)}"
        )


def learning_curve(cases: list, counts: list[int], mean: dict) -> None:
    print(
        "\nlearning curve: paperfeed mean P@10 [digest section], and cases up/same/down vs 0 reads"
    )
    for n in counts:
        parts = []
        for style in (*STYLES, "all"):
            keys = [k for k in cases if style in (k[2], "all")]
            parts.append(f"{style} {np.mean([mean[(k, n)][0] for k in keys]):.3f}")
        keys = list(cases)
        after, before = [mean[(k, n)][0] for k in keys], [mean[(k, 0)][0] for k in keys]
        digest = np.mean([mean[(k, n)][1] for k in keys])
        print(f"  {n:>2} reads: {'; '.join(parts)} [{digest:.3f}]; {_counts(after, before)}")


def with_reads(cases: list, counts: list[int], mean: dict, learned: dict) -> None:
    print("\nwith reads: mean P@10, paperfeed (all styles) vs the recommenders over the same reads")
    for n in counts:
        pairs = [(w, c) for (w, c, m) in learned if m == n]
        if not pairs:
            continue
        tfidf = np.mean([learned[(w, c, n)]["svm_tfidf"] for w, c in pairs])
        minilm = np.mean([learned[(w, c, n)]["svm_minilm"] for w, c in pairs])
        ours = np.mean([mean[(k, n)][0] for k in cases if (k[0], k[1]) in set(pairs)])
        best = max(tfidf, minilm)
        print(
            f"  {n:>2} reads: arxiv-sanity-lite TF-IDF SVM {tfidf:.3f}, LinearSVC MiniLM "
            f"{minilm:.3f}, paperfeed {ours:.3f} (x{ours / best:.3f} the best)"
        )


def per_area(areas: list, cases: list, mean: dict, peers: dict, n: int) -> None:
    print(f"\nper area (mean over weeks and styles): dense, paperfeed at 0 and {n} reads")
    for a in areas:
        keys = [k for k in cases if k[1] == a.category]
        dense = np.mean([peers[k]["dense"] for k in keys])
        zero = np.mean([mean[(k, 0)][0] for k in keys])
        later = np.mean([mean[(k, n)][0] for k in keys]) if (keys[0], n) in mean else np.nan
        print(f"  {a.category:<9} dense {dense:.3f}  paperfeed {zero:.3f} -> {later:.3f}")


def report(args, weeks, areas, counts, mean, peers, learned, weights) -> None:  # noqa: ANN001
    print(f"\nweeks: {', '.join(w.name for w in weeks)}; {len(areas)} areas; {weights}")
    cases = sorted({k for k, _n in mean})
    no_reads(cases, mean, peers)
    learning_curve(cases, counts, mean)
    with_reads(cases, counts, mean, learned)
    if not args.brief:
        per_area(areas, cases, mean, peers, 20 if 20 in counts else counts[-1])
