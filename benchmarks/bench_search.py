"""Search speed and approximate-index recall; prints figures with the machine they came from.

1. Warm query latency (p50/p95, k=10) of `VectorIndex.search` (exact numpy) at 100k and 1M
   SYNTHETIC normalised 384-d vectors, and of the whole `hybrid_rank` (dense + BM25 + fusion)
   at 100k with synthetic Zipf-distributed texts.
2. recall@10 of HNSW (M=32) against exact on REAL all-MiniLM-L6-v2 vectors (the CSFCube
   abstracts cached by benchmarks/eval_csfcube.py), for several efSearch values.
3. The whole warm search path at 1M (`--full-sizes 1000000`): HNSW over SYNTHETIC vectors +
   BM25 over SYNTHETIC Zipf documents (weights by `search.bm25.bm25_weights`) + fusion, i.e.
   `hybrid_rank` as `paperfeed search` calls it; plus the warm query-encoding time. Files are
   cached under --cache (the 1M HNSW build takes many minutes here).
4. Cold end to end: `paperfeed --home HOME reindex`, then `paperfeed --home HOME search "..."`
   in fresh subprocesses, with the 65k arXiv papers imported. A HOME without a database gets
   the papers imported and SYNTHETIC unit vectors; a HOME made with `paperfeed import` +
   `paperfeed embed` has the REAL vectors.

Usage:
  .venv/bin/python benchmarks/bench_search.py [--sizes 100000 1000000] [--csf-vectors PATH]
      [--hnsw-sizes 1000000] [--full-sizes 1000000] [--cache DIR] [--cold-home HOME ...]
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
from _machine import cpu_model

from paperfeed.search.bm25 import BM25_ARRAYS, KeywordIndex, bm25_weights
from paperfeed.search.files import Indexes, build_hnsw
from paperfeed.search.hybrid import Fusion, hybrid_rank
from paperfeed.search.vectors import VectorIndex, top_k

SHARED = Path(os.environ.get("PAPERFEED_SHARED", Path(__file__).resolve().parents[2] / "shared"))
ARXIV_65K = SHARED / "data/arxiv_bulk/arxiv_metadata_65k.jsonl.gz"


def machine() -> str:
    load = os.getloadavg()[0]
    python = platform.python_version()
    return f"{cpu_model()}; {os.cpu_count()} cores; load avg {load:.1f}; python {python}"


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


def interleaved(first, second, inputs) -> tuple[float, float]:
    """p50 (ms) of two ways to do the same thing, alternated input by input, so that a busy
    machine's changing load falls on both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for item in inputs:
        for run, out in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            run(item)
            out.append((time.perf_counter() - started) * 1000)
    return float(np.median(times[0][5:])), float(np.median(times[1][5:]))


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


def synthetic_keywords(ids: np.ndarray, cache: Path, seed: int = 2) -> KeywordIndex:
    """A BM25 index (Lucene BM25, k1=1.5, b=0.75, as bm25s builds it) over len(ids) synthetic
    Zipf documents, its CSC arrays computed in numpy (bm25s's own Python indexing of 1M documents
    needs several GB of token lists) and cached as .npy files, memory-mapped like the real
    index files. Query-time code reads the same arrays either way."""
    n, vocab = len(ids), 30_000
    paths = {name: cache / f"bm25_{n}_{seed}_{name}.npy" for name in BM25_ARRAYS}
    if not all(path.exists() for path in paths.values()):
        for name, array in zip(BM25_ARRAYS, _bm25_arrays(n, seed, vocab), strict=True):
            np.save(paths[name], array)
    arrays = {name: np.load(paths[name], mmap_mode="r") for name in BM25_ARRAYS}
    return KeywordIndex(ids, arrays, {f"w{i}": i for i in range(vocab)})


def _bm25_arrays(
    n: int, seed: int, vocab: int, draws: int = 80
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, vocab + 1)
    token_ids = rng.choice(vocab, size=n * draws, p=weights / weights.sum())
    arrays = bm25_weights(token_ids, np.full(n, draws, dtype=np.int64), vocab)
    return arrays["data"], arrays["indices"], arrays["indptr"]


def query_texts(count: int) -> list[str]:
    """Three words each, from frequent to rare, plus one word present in every document's
    vocabulary range (`w0`, the most frequent), so the BM25 side has long postings to sum."""
    return [f"w0 w{i} w{i * 7 + 3} w{i * 13 + 11}" for i in range(1, count + 1)]


def bench_full_path(n: int, cache: Path) -> None:
    """Warm `hybrid_rank` (the path `paperfeed search` takes) at n synthetic items with the
    HNSW index above the approximate threshold: dense HNSW + BM25 + fusion."""
    import faiss

    matrix_path, hnsw_path = cache / f"matrix_{n}.npy", cache / f"hnsw_{n}.faiss"
    if not matrix_path.exists():
        np.save(matrix_path, unit_rows(n, 384, seed=n))
    matrix = np.load(matrix_path, mmap_mode="r")
    if not hnsw_path.exists():
        started = time.perf_counter()
        faiss.write_index(build_hnsw(np.asarray(matrix)), str(hnsw_path))
        print(f"HNSW M=32 build, {n:,} synthetic vectors: {time.perf_counter() - started:.0f} s")
    ids = np.arange(1, n + 1, dtype=np.int64)
    index = VectorIndex("synthetic", ids, matrix, faiss.read_index(str(hnsw_path)))
    started = time.perf_counter()
    indexes = Indexes(index, synthetic_keywords(ids, cache))
    print(f"  BM25 arrays over {n:,} synthetic docs: {time.perf_counter() - started:.0f} s")
    texts = query_texts(200)
    kw = indexes.keywords
    before, after = interleaved(
        lambda t: top_k(np.where((s := kw.scores(t)) > 0, s, -np.inf), 50),
        lambda t: kw.search(t, 50),
        texts,
    )
    print(
        f"warm BM25 top-50 at {n:,}, interleaved per query: rank every document p50 {before:.2f} ms"
        f", max-score pruned p50 {after:.2f} ms"
    )
    queries = list(unit_rows(200, 384, seed=1))
    pairs = list(zip(queries, query_texts(200), strict=True))
    p50, p95 = percentiles(lambda q: index.search(q, 50), queries)
    print(f"warm HNSW dense top-50 (efSearch {index.ef_search}), {n:,}: p50 {p50:.2f} ms")
    p50, p95 = percentiles(lambda q: indexes.keywords.search(q, 50), texts)
    print(f"warm BM25 top-50, {n:,}: p50 {p50:.2f} ms  p95 {p95:.2f} ms")
    p50, p95 = percentiles(lambda p: hybrid_rank(indexes, p[0], p[1], 50, Fusion()), pairs)
    print(
        f"warm hybrid_rank (HNSW + BM25 + fusion, 50 candidates), {n:,}: "
        f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
    )


def bench_query_encoder() -> None:
    """Warm latency of encoding one short query (the numpy MiniLM path `paperfeed search` uses)."""
    from paperfeed.embed.embedder import load_query_encoder

    encode = load_query_encoder("all-MiniLM-L6-v2")
    texts = [f"{a} {b} for {c}" for a, b, c in zip(*[iter(_QUERY_WORDS * 3)] * 3, strict=False)]
    p50, p95 = percentiles(encode, texts)
    print(f"warm query encoding (numpy MiniLM, short query): p50 {p50:.2f} ms  p95 {p95:.2f} ms")


_QUERY_WORDS = [
    "sparse",
    "attention",
    "retrieval",
    "diffusion",
    "graph",
    "kernel",
    "reinforcement",
    "policy",
    "language",
    "vision",
    "speech",
    "token",
    "quantization",
    "pruning",
    "distillation",
]


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
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    done = subprocess.run([*cli, "reindex"], capture_output=True, text=True, env=env)
    print(
        f"`paperfeed reindex` (full rebuild of both indexes): {time.perf_counter() - started:.1f} s"
    )
    if done.returncode:
        print(done.stderr)
        return
    print(f"  {done.stdout.strip()}")
    query = "low-rank adaptation of large language models"
    walls = []
    for _ in range(10):
        started = time.perf_counter()
        done = subprocess.run(
            [*cli, "search", query, "-k", "10"], capture_output=True, text=True, env=env
        )
        walls.append(time.perf_counter() - started)
        if done.returncode:
            print(done.stderr)
            return
    print(
        f"cold `paperfeed search` end to end, index on disk, {home}: "
        f"median {np.median(walls):.2f} s  min {min(walls):.2f} s  max {max(walls):.2f} s "
        f"({len(walls)} runs)"
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
    parser.add_argument(
        "--full-sizes",
        type=int,
        nargs="*",
        default=[],
        help="time the whole search path (HNSW + BM25 + fusion) at these sizes",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("/tmp/paperfeed-bench"),
        help="where --full-sizes keeps its synthetic matrix, HNSW and BM25 files between runs",
    )
    parser.add_argument("--cold-home", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for n in args.sizes:
        bench_warm(n, with_hybrid=n <= 100_000)
    for n in args.hnsw_sizes:
        bench_hnsw_latency(n)
    args.cache.mkdir(parents=True, exist_ok=True)
    for n in args.full_sizes:
        bench_full_path(n, args.cache)
    if args.full_sizes:
        bench_query_encoder()
    bench_recall(args.csf_vectors)
    for home in args.cold_home:
        bench_cold(home)
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
