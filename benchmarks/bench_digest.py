"""Digest speed: a 4,000-item week, already embedded, from the store to the written markdown.

Synthetic data: items with random words and random unit vectors in 384 dimensions around a few
topic centres (the timing does not depend on the vectors' meaning); 100 earlier marks feed the
ranking so the per-learner model runs too. The area descriptions go through a stand-in encoder
(the real query encoder adds its own few ms per area). Prints each stage and the total.
Run it as is: the default BLAS threading is part of what is measured (paperfeed.digest.rank holds
OpenBLAS to one thread around its small solves); OPENBLAS_NUM_THREADS=1 gives the comparison.
Usage: .venv/bin/python benchmarks/bench_digest.py [--items 4000]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from paperfeed.config import Config, FocusArea
from paperfeed.digest.build import build_digest
from paperfeed.digest.gather import gather
from paperfeed.digest.markdown import render_markdown
from paperfeed.digest.model import DigestOptions
from paperfeed.digest.run import record_digest, write_digest
from paperfeed.records import Item
from paperfeed.store import Store

MODEL, DIM = "bench-random-384", 384
WORDS = [
    "language",
    "model",
    "vision",
    "image",
    "retrieval",
    "ranking",
    "graph",
    "agent",
    "planning",
    "kernel",
    "bayesian",
    "diffusion",
    "transformer",
    "benchmark",
    "dataset",
    "robust",
    "efficient",
]


def fill(store: Store, n: int, now: datetime, rng: np.random.Generator) -> None:
    items = [
        Item(
            title=" ".join(rng.choice(WORDS, 8)),
            summary=" ".join(rng.choice(WORDS, 150)),
            arxiv_id=f"2603.{i:05d}",
            kind="paper" if i % 10 else "post",
            url=f"https://blog.example/{i}",
            authors=("A. Author", "B. Author"),
            published=now - timedelta(days=float(rng.uniform(0, 7))),
        )
        for i in range(n)
    ]
    store.items.upsert(items, "arxiv")
    centres = rng.normal(size=(8, DIM))
    stored = store.items.get_many(store.items.ids())
    vectors = centres[rng.integers(0, 8, len(stored))] + rng.normal(size=(len(stored), DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.vectors.put(
        MODEL, [(s.id, s.content_hash, v) for s, v in zip(stored, vectors, strict=True)]
    )
    for item in stored[:100]:
        store.reading.apply(item.id, "read", now - timedelta(days=10))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=4000)
    args = parser.parse_args()
    rng, now = np.random.default_rng(0), datetime(2026, 3, 10, tzinfo=UTC)
    config = Config(
        path=Path("sources.yaml"),
        model=MODEL,
        focus_areas=tuple(
            FocusArea(f"Area {i}", f"{WORDS[i]} and {WORDS[i + 5]}", (WORDS[i], WORDS[i + 5]))
            for i in range(5)
        ),
    )
    encode = lambda text: rng.normal(size=DIM).astype(np.float32)  # noqa: E731
    options = DigestOptions(now - timedelta(days=7), now, per_area=10)
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "bench.duckdb")
        fill(store, args.items, now, rng)
        times = {}
        start, cpu_start = time.perf_counter(), time.process_time()
        inputs = gather(store, config, encode, options, now=now)
        times["gather (store reads)"] = time.perf_counter() - start
        mark = time.perf_counter()
        digest = build_digest(inputs, options)
        times["rank + build"] = time.perf_counter() - mark
        mark = time.perf_counter()
        markdown = render_markdown(digest)
        times["render"] = time.perf_counter() - mark
        mark = time.perf_counter()
        path = Path(folder) / "digest.md"
        write_digest(path, markdown)
        record_digest(store, digest, path)
        times["write + record"] = time.perf_counter() - mark
        total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        store.close()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    print(f"{len(inputs.items)} candidate items, {len(digest.entries)} in the digest")
    for stage, seconds in times.items():
        print(f"  {stage:<22} {seconds:7.3f} s")
    print(f"  {'total':<22} {total:7.3f} s  (target <= 1 s)")
    # on a shared machine the wall time counts the other processes' turns too; the CPU time
    # this process used (its BLAS held to one thread) is what an idle machine would take
    print(f"  {'CPU time of the total':<22} {cpu:7.3f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
