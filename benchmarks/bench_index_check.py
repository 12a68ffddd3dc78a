"""Cost of the index files' CRC-32 check (RELIABILITY E2) on a cold search, before and after.

    .venv/bin/python benchmarks/bench_index_check.py HOME [--runs 5]

HOME is a paperfeed home with embedded items (e.g. a copy of the 65k arXiv home; never the
original: the first step writes its index). A HOME without a database gets the 65k arXiv papers
of ../shared imported with SYNTHETIC unit vectors (bench_search.prepare_home): the check reads
bytes, so its cost depends only on the sizes, which are the same as with the real vectors.
The index is built once, then each run is a fresh process (cold interpreter, files in the page
cache, as for a `paperfeed search` after an earlier one) that times `load_or_rebuild` with the
check (after) and with the check replaced by a no-op (before), alternating; then the full cold
CLI `paperfeed search` once. Prints the medians, the ratio and the size of the checked files.
Last, the cost of the post-ingest backup of that database (store.backup), once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _machine import cpu_model

CLI = Path(sys.executable).with_name("paperfeed")
CHILD = """
import sys, time
from pathlib import Path
from paperfeed.search import files
from paperfeed.store import Store
if sys.argv[2] == "before":
    files._files_intact = lambda folder, expected: True
home = Path(sys.argv[1])
with Store.open(home / "paperfeed.duckdb", read_only=True) as store:
    started = time.perf_counter()
    indexes = files.load_or_rebuild(store, home / "index", sys.argv[3])
    seconds = time.perf_counter() - started
assert not indexes.rebuilt, "the index was rebuilt: the benchmark needs a saved one"
print(seconds)
"""


def load_seconds(home: Path, mode: str, model: str) -> float:
    command = [sys.executable, "-c", CHILD, str(home), mode, model]
    return float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    args = parser.parse_args()
    print(f"cpu: {cpu_model()}; cores: {os.cpu_count()}; load: {os.getloadavg()}")
    from bench_search import prepare_home

    prepare_home(args.home)
    started = time.perf_counter()
    subprocess.run([str(CLI), "--home", str(args.home), "reindex"], check=True)
    print(f"reindex: {time.perf_counter() - started:.1f} s")
    index = args.home / "index"
    size = sum(p.stat().st_size for p in index.rglob("*") if p.is_file())
    print(f"index files: {size / 2**20:.1f} MiB")
    before, after = [], []
    for _ in range(args.runs):
        before.append(load_seconds(args.home, "before", args.model))
        after.append(load_seconds(args.home, "after", args.model))
    b, a = statistics.median(before), statistics.median(after)
    print(f"load_or_rebuild, median of {args.runs} fresh processes:")
    print(f"  without the check (before): {b * 1000:.0f} ms  {[round(x * 1000) for x in before]}")
    print(f"  with the check (after):     {a * 1000:.0f} ms  {[round(x * 1000) for x in after]}")
    print(f"  check cost: +{(a - b) * 1000:.0f} ms ({a / b:.2f}x the load)")
    started = time.perf_counter()
    command = [str(CLI), "--home", str(args.home), "search", "graph neural networks", "-k", "5"]
    subprocess.run(command, check=True, capture_output=True)
    print(f"cold CLI search (with the check), end to end: {time.perf_counter() - started:.2f} s")
    backup_cost(args.home)


def backup_cost(home: Path) -> None:
    from paperfeed.store import Store
    from paperfeed.store.backup import backup

    db = home / "paperfeed.duckdb"
    with Store.open(db) as store:
        started = time.perf_counter()
        copy = backup(store, home / "backups", keep=7)
        seconds = time.perf_counter() - started
    size = db.stat().st_size / 2**20
    print(f"backup after ingest: {seconds:.2f} s for a {size:.0f} MiB database -> {copy}")


if __name__ == "__main__":
    main()
