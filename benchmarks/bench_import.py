"""Measure `import_arxiv_metadata` on the 65k-paper snapshot: papers/s, wall time, DB size,
and the same for a re-import (which must add 0 rows and barely grow the file).

    .venv/bin/python benchmarks/bench_import.py [FILE] [--batch-size N]

FILE defaults to ../shared/data/arxiv_bulk/arxiv_metadata_65k.jsonl.gz. Goal: >= 5,000 papers/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import duckdb
from _machine import cpu_model

from paperfeed.ingest.bulk import DEFAULT_BATCH_SIZE, ImportReport, import_arxiv_metadata
from paperfeed.store import Store

DEFAULT_FILE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "arxiv_bulk"
    / "arxiv_metadata_65k.jsonl.gz"
)


def db_megabytes(path: Path) -> float:
    files = [path, path.with_name(path.name + ".wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / 1e6


def describe(label: str, report: ImportReport, cpu_s: float, size_mb: float) -> str:
    return (
        f"{label:<10} {report.read:>7} papers  wall {report.seconds:5.1f} s  "
        f"{report.papers_per_second:7,.0f} papers/s  cpu {cpu_s:5.1f} s  "
        f"new {report.new:>6}  updated {report.updated:>3}  unchanged {report.unchanged:>6}  "
        f"bad {report.bad_lines:>3}  db {size_mb:5.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    args = parser.parse_args()
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; "
        f"python {platform.python_version()}, duckdb {duckdb.__version__}"
    )
    print(
        f"file: {args.file} ({args.file.stat().st_size / 1e6:.1f} MB), batch size {args.batch_size}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        for label in ("import", "re-import"):
            cpu_started = time.process_time()  # less disturbed than wall time on a shared box
            with Store.open(path) as store:
                report = import_arxiv_metadata(store, args.file, batch_size=args.batch_size)
                store.checkpoint()
            cpu_s = time.process_time() - cpu_started
            print(describe(label, report, cpu_s, db_megabytes(path)))


if __name__ == "__main__":
    main()
