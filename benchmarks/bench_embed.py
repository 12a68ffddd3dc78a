"""Embedding speed and fidelity on real arXiv abstracts (prints figures; asserts nothing).

Compares, in one run on one machine: plain sentence-transformers fp32 `encode` (the reference)
against paperfeed's `load_embedder()` path (bf16 where the CPU has it, token-length-sorted
batches); top-10 overlap for 50 queries; the CPU's matmul peak and how close each path gets;
the cold time of the torch-free query encoder in a fresh process.

    .venv/bin/python benchmarks/bench_embed.py [--n 1000] [--queries 50]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _machine import cpu_model

SHARED = Path(os.environ.get("PAPERFEED_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = SHARED / "data/arxiv_bulk/arxiv_metadata_65k.jsonl.gz"
GFLOP_PER_256_TOKENS = 6.04  # all-MiniLM-L6-v2 forward pass, one text of 256 tokens
TOTAL_LINES = 65_000


def sample(n: int, queries: int) -> tuple[list[str], list[str]]:
    """Every k-th paper as the corpus; the titles of papers in between as queries."""
    step = max(TOTAL_LINES // n, 2)
    corpus: list[str] = []
    titles: list[str] = []
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % step == 0 and len(corpus) < n:
                paper = json.loads(line)
                corpus.append(paper["title"].strip() + "\n" + paper["abstract"].strip())
            elif i % step == step // 2 and len(titles) < queries:
                titles.append(json.loads(line)["title"].strip())
            if len(corpus) >= n and len(titles) >= queries:
                break
    return corpus, titles


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text() if cpuinfo.exists() else ""
    extras = [f for f in ("avx512_bf16", "amx_bf16", "avx512_vnni") if f in flags]
    return f"{cpu_model()}, {os.cpu_count()} logical cores, {' '.join(extras) or 'no bf16/vnni'}"


def matmul_gflops(dtype_name: str, size: int = 2048, repeats: int = 5) -> float:
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def best_of(repeats, fn, *args):  # type: ignore[no-untyped-def]
    """Best wall time of `repeats` calls (the result of the last): both paths are measured the
    same way, after a first call has paid the one-off kernel set-up."""
    times = []
    for _ in range(repeats):
        result, seconds = timed(fn, *args)
        times.append(seconds)
    return result, min(times)


def timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def top10(corpus: np.ndarray, queries: np.ndarray) -> np.ndarray:
    return np.argsort(-(queries @ corpus.T), axis=1)[:, :10]


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, b, strict=True)]))


def cold_query_seconds() -> float:
    code = (
        "from paperfeed.embed.embedder import load_query_encoder; "
        "load_query_encoder()('contrastive learning for retrieval'); "
        "import sys; assert 'torch' not in sys.modules"
    )
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="abstracts to embed")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    corpus, queries = sample(args.n, args.queries)
    print(f"machine: {machine()}")
    print(f"corpus: {len(corpus)} real abstracts, {len(queries)} title queries")

    import torch
    from sentence_transformers import SentenceTransformer

    from paperfeed.embed.embedder import load_embedder, load_query_encoder, model_location

    torch.set_num_threads(os.cpu_count() or 1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    peak32, peak16 = matmul_gflops("float32"), matmul_gflops("bfloat16")
    print(f"matmul peak (2048^3): fp32 {peak32:.0f} GFLOP/s, bf16 {peak16:.0f} GFLOP/s")

    plain = SentenceTransformer(model_location("all-MiniLM-L6-v2"), device="cpu")
    tokens = sum(
        len(ids) for ids in plain.tokenizer(corpus, truncation=True, max_length=256)["input_ids"]
    )
    gflop = GFLOP_PER_256_TOKENS * tokens / 256
    print(
        f"tokens: {tokens / len(corpus):.0f} per text (truncated at 256); {gflop:.0f} GFLOP total"
    )

    fast = load_embedder()
    plain.encode(corpus[:64], batch_size=32)  # warm-up for both paths
    fast.encode(corpus[:64])
    print("each path: best of 2 passes over the corpus, after a 64-text warm-up")
    ref, t_ref = best_of(2, lambda: plain.encode(corpus, batch_size=32, normalize_embeddings=True))
    _, t_ref16 = timed(lambda: plain.encode(corpus[:200], batch_size=16, normalize_embeddings=True))
    ours, t_ours = best_of(2, fast.encode, corpus)
    n = len(corpus)
    print(
        f"plain ST fp32 batch 32: {n / t_ref:6.1f} texts/s  {gflop / t_ref:5.0f} GFLOP/s "
        f"({100 * gflop / t_ref / peak32:.0f}% of fp32 peak)"
    )
    print(f"plain ST fp32 batch 16: {200 / t_ref16:6.1f} texts/s  (first 200 texts)")
    print(
        f"paperfeed ({str(fast.dtype).removeprefix('torch.')}): {n / t_ours:6.1f} texts/s  "  # type: ignore[attr-defined]
        f"{gflop / t_ours:5.0f} GFLOP/s ({100 * gflop / t_ours / peak16:.0f}% of bf16 peak)"
    )
    print(f"speed-up vs plain fp32 batch 32: {t_ref / t_ours:.2f}x")

    ref_q = plain.encode(queries, batch_size=32, normalize_embeddings=True)
    light = load_query_encoder()
    light_q = np.stack([light(q) for q in queries])
    cos_rows = (ours * ref).sum(axis=1)
    print(f"corpus vectors vs fp32: cosine min {cos_rows.min():.4f}, mean {cos_rows.mean():.5f}")
    print(f"query encoder vs fp32: cosine min {(light_q * ref_q).sum(axis=1).min():.6f}")
    print(
        f"top-10 overlap, {len(queries)} queries (paperfeed corpus + light queries vs fp32): "
        f"{overlap(top10(ours, light_q), top10(ref, ref_q)):.3f}"
    )
    print(
        f"cold query encoder (fresh process: import + load + encode): {cold_query_seconds():.2f} s"
    )


if __name__ == "__main__":
    main()
