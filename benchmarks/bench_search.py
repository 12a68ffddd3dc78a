"""Search speed and approximate-index recall; prints figures with the machine they came from.

1. Warm query latency (p50/p95, k=10) of `VectorIndex.search` (exact numpy) at 100k and 1M
   SYNTHETIC normalised 384-d vectors, and of the whole `hybrid_rank` (dense + BM25 + fusion)
   at 100k with synthetic Zipf-distributed texts.
2. recall@10 of HNSW (M=32) against exact on REAL all-MiniLM-L6-v2 vectors (the CSFCube
   abstracts cached by benchmarks/eval_csfcube.py), for several efSearch values.
3. Cold end to end: `paperfeed --home HOME search "..."` in a fresh subprocess, with the 65k
   arXiv papers imported (`paperfeed import arxiv-metadata`). Their vectors are SYNTHETIC unit
   vectors written under the default model (embedding 65k abstracts takes 15-40 min here); the
   texts (BM25), the query encoder, DuckDB and the index files are the real ones.

Usage:
  .venv/bin/python benchmarks/bench_search.py [--sizes 100000 1000000] [--csf-vectors PATH]
      [--hnsw-sizes 1000000] [--cold-home /tmp/pf65k]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from paperfeed.index import Indexes, KeywordIndex, VectorIndex, build_hnsw
from paperfeed.search import Fusion, hybrid_rank

SHARED = Path(os.environ.get("PAPERFEED_SHARED", Path(__file__).resolve().parents[2] / "shared"))
ARXIV_65K = SHARED / "data/arxiv_bulk/arxiv_metadata_65k.jsonl.gz"


def machine() -> str:
    cpu = platform.processor() or "?"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()[0]
    return f"{cpu}; {os.cpu_count()} cores; load avg {load:.1f}; python {platform.python_version()}"


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((n, dim), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix


def percentiles(run, queries) -> tuple[float, float]:
    for q in queries[:5]:
        run(q)  # warm up
    times = []
    for q in queries:
        started = time.perf_counter()
        run(q)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def synthetic_texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(30_000)])
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    words = rng.choice(vocab, size=(n, 120), p=weights / weights.sum())
    return [" ".join(row) for row in words]


def bench_warm(n: int, with_hybrid: bool) -> None:
    matrix = unit_rows(n, 384, seed=n)
    ids = np.arange(1, n + 1, dtype=np.int64)
    index = VectorIndex("synthetic", ids, matrix)
    queries = list(unit_rows(200, 384, seed=1))
    p50, p95 = percentiles(lambda q: index.search(q, 10), queries)
    print(
        f"warm exact dense search, {n:>9,} synthetic vectors: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
    )
    if not with_hybrid:
        return
    started = time.perf_counter()
    keywords = KeywordIndex.build(ids, synthetic_texts(n, seed=2))
    print(f"  BM25 build over {n:,} synthetic texts: {time.perf_counter() - started:.1f} s")
    indexes = Indexes(index, keywords)
    texts = [f"w{i} w{i * 7 + 3} w{i * 13 + 11}" for i in range(1, 201)]
    pairs = list(zip(queries, texts, strict=True))
    p50, p95 = percentiles(lambda p: hybrid_rank(indexes, p[0], p[1], 50, Fusion()), pairs)
    print(f"warm hybrid_rank (dense+BM25+fusion), {n:>9,}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")


def bench_hnsw_latency(n: int) -> None:
    matrix = unit_rows(n, 384, seed=n)
    started = time.perf_counter()
    index = VectorIndex(
        "synthetic", np.arange(1, n + 1, dtype=np.int64), matrix, build_hnsw(matrix)
    )
    print(f"HNSW M=32 build, {n:,} synthetic vectors: {time.perf_counter() - started:.0f} s")
    queries = list(unit_rows(200, 384, seed=1))
    p50, p95 = percentiles(lambda q: index.search(q, 10), queries)
    print(
        f"warm HNSW dense search (efSearch {index.ef_search}), {n:>9,}: "
        f"p50 {p50:6.2f} ms  p95 {p95:6.2f} ms"
    )


def bench_recall(path: Path) -> None:
    if not path.exists():
        print(f"recall: skipped, no real vectors at {path} (run benchmarks/eval_csfcube.py first)")
        return
    matrix = np.load(path)
    ids = np.arange(1, len(matrix) + 1, dtype=np.int64)
    exact = VectorIndex("real", ids, matrix)
    started = time.perf_counter()
    hnsw = build_hnsw(matrix)
    print(
        f"HNSW M=32 build over {len(matrix):,} real MiniLM vectors: "
        f"{time.perf_counter() - started:.1f} s"
    )
    queries = matrix[:: max(1, len(matrix) // 300)]
    truth = [set(exact.search(q, 10)[0].tolist()) for q in queries]
    for ef in (16, 32, 64, 128):
        approx = VectorIndex("real", ids, matrix, hnsw, ef_search=ef)
        recall = np.mean(
            [
                len(t & set(approx.search(q, 10)[0].tolist())) / 10
                for q, t in zip(queries, truth, strict=True)
            ]
        )
        print(f"  recall@10 HNSW vs exact, efSearch {ef:>3}: {recall:.4f} ({len(queries)} queries)")


def prepare_home(home: Path) -> None:
    from paperfeed.store import Store

    if (home / "paperfeed.duckdb").exists():
        return
    cli = [sys.executable, "-c", "from paperfeed.cli import main; main()", "--home", str(home)]
    subprocess.run([*cli, "import", "arxiv-metadata", str(ARXIV_65K)], check=True)
    with Store.open(home / "paperfeed.duckdb") as store:
        ids = store.items.ids()
        items = store.items.get_many(ids)
        matrix = unit_rows(len(items), 384, seed=65)
        for start in range(0, len(items), 10_000):
            chunk = items[start : start + 10_000]
            store.vectors.put(
                "all-MiniLM-L6-v2",
                [(it.id, it.content_hash, matrix[start + j]) for j, it in enumerate(chunk)],
            )
        store.checkpoint()


def bench_cold(home: Path) -> None:
    prepare_home(home)
    cli = [sys.executable, "-c", "from paperfeed.cli import main; main()", "--home", str(home)]
    query = "low-rank adaptation of large language models"
    walls = []
    for run in range(6):
        started = time.perf_counter()
        done = subprocess.run(
            [*cli, "search", query, "-k", "10"],
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        walls.append(time.perf_counter() - started)
        if done.returncode:
            print(done.stderr)
            return
        if run == 0:
            print(f"cold `paperfeed search` #1 (builds the index files): {walls[0]:.2f} s")
    rest = walls[1:]
    print(
        f"cold `paperfeed search` end to end, index on disk, 65k papers: "
        f"median {np.median(rest):.2f} s  max {max(rest):.2f} s ({len(rest)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--csf-vectors", type=Path, default=Path("/tmp/csf_vecs.npy"))
    parser.add_argument(
        "--hnsw-sizes",
        type=int,
        nargs="*",
        default=[],
        help="also time HNSW search at these sizes (1M builds for minutes)",
    )
    parser.add_argument("--cold-home", type=Path, default=None)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for n in args.sizes:
        bench_warm(n, with_hybrid=n <= 100_000)
    for n in args.hnsw_sizes:
        bench_hnsw_latency(n)
    bench_recall(args.csf_vectors)
    if args.cold_home:
        bench_cold(args.cold_home)


if __name__ == "__main__":
    main()
