"""The dense floor of `paperfeed search`: a candidate that names no query word is shown only
when its cosine with the query reaches DENSE_FLOOR. Measured on real all-MiniLM-L6-v2 vectors
with the real query encoder, over a real corpus: the CSFCube abstracts (vectors cached by
benchmarks/eval_csfcube.py) or the papers of a paperfeed home (`--home`, a COPY: DuckDB allows
one writer).

Queries: benchmarks/data/floor_queries.json, written before any floor was tried; even
positions are the dev half, odd the test half. For each floor, over each half:
  nonsense silenced  share of nonsense queries that show nothing (no query word in any
                     document and no cosine at or above the floor)
  topical kept       share of the dense top-10 of topical queries still shown (a query word, or
                     a cosine at or above the floor)
The floor is chosen on dev by the rule fixed before looking: the lowest floor (step 0.01) that
silences every dev nonsense query; then the test half is reported once, beside floor 0 (none)
and the shipped DENSE_FLOOR, in the same run.

Usage:
  .venv/bin/python benchmarks/eval_floor.py [--vectors /tmp/csf_vecs.npy] [--home HOME_COPY]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
from _machine import cpu_model

from paperfeed.search.bm25 import KeywordIndex
from paperfeed.search.hybrid import DENSE_FLOOR

QUERIES = Path(__file__).parent / "data" / "floor_queries.json"


def corpus_from_csfcube(cache: Path) -> tuple[np.ndarray, list[str]]:
    import eval_csfcube

    papers = eval_csfcube.load_papers()
    return eval_csfcube.vectors(papers, cache), [eval_csfcube.text_of(p) for p in papers]


def corpus_from_home(home: Path) -> tuple[np.ndarray, list[str]]:
    from paperfeed.config import DEFAULT_MODEL
    from paperfeed.store import Store

    with Store.open(home / "paperfeed.duckdb", read_only=True) as store:
        ids, matrix = store.vectors.load(DEFAULT_MODEL)
        items = {i.id: i for i in store.items.get_many([int(i) for i in ids])}
    return np.asarray(matrix, np.float32), [
        f"{items[int(i)].title}\n\n{items[int(i)].summary}" for i in ids
    ]


def measure(
    queries: list[str], matrix: np.ndarray, keywords: KeywordIndex, encode, floors: list[float]
) -> dict[float, tuple[float, float]]:
    """floor -> (share of the queries showing nothing, share of their dense top-10 shown)."""
    shown_none = dict.fromkeys(floors, 0)
    kept = dict.fromkeys(floors, 0)
    for query in queries:
        cosines = matrix @ encode(query)
        lexical = keywords.scores(query) > 0
        top = np.argsort(-cosines)[:10]
        for floor in floors:
            shown = lexical | (cosines >= floor)
            shown_none[floor] += not shown.any()
            kept[floor] += int(shown[top].sum())
    n = len(queries)
    return {f: (shown_none[f] / n, kept[f] / (10 * n)) for f in floors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=Path, default=Path("/tmp/csf_vecs.npy"))
    parser.add_argument("--home", type=Path, help="a COPY of a paperfeed home (real vectors)")
    args = parser.parse_args()
    from paperfeed.embed.embedder import load_query_encoder

    matrix, texts = corpus_from_home(args.home) if args.home else corpus_from_csfcube(args.vectors)
    keywords = KeywordIndex.build(np.arange(len(texts)), texts)
    encode = load_query_encoder()
    data = json.loads(QUERIES.read_text())
    halves = {
        name: {kind: data[kind][start::2] for kind in ("topical", "nonsense")}
        for name, start in (("dev", 0), ("test", 1))
    }
    grid = [round(f, 2) for f in np.arange(0.0, 0.61, 0.01)]
    dev_nonsense = measure(halves["dev"]["nonsense"], matrix, keywords, encode, grid)
    lexical_only = max(share for share, _ in dev_nonsense.values())
    chosen = next(f for f in grid if dev_nonsense[f][0] >= lexical_only)
    report = sorted({0.0, DENSE_FLOOR, chosen})
    corpus = f"home {args.home}" if args.home else "CSFCube abstracts"
    print(
        f"corpus: {corpus}, {len(texts):,} documents; machine: {cpu_model()}, {os.cpu_count()} CPUs"
    )
    print(f"chosen on dev: {chosen:.2f} (lowest floor silencing every dev nonsense query that")
    print("names no document word); shipped DENSE_FLOOR:", DENSE_FLOOR)
    print(f"{'half':<5} {'floor':>5}  {'nonsense silenced':>17}  {'topical top-10 kept':>19}")
    for half in ("dev", "test"):
        silenced = measure(halves[half]["nonsense"], matrix, keywords, encode, report)
        topical = measure(halves[half]["topical"], matrix, keywords, encode, report)
        for floor in report:
            print(
                f"{half:<5} {floor:>5.2f}  {silenced[floor][0]:>17.2f}  {topical[floor][1]:>19.3f}"
            )


if __name__ == "__main__":
    main()
