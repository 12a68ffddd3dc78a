"""Reading-room page latency on a real home, through real HTTP, against a warm server.

The server is `paperfeed.web` as `paperfeed web` runs it (uvicorn, the Room, the Guard), started
in this process on 127.0.0.1; requests come from an httpx client, one at a time. Warm: the
query encoder and the indexes are loaded, and each page is fetched once before timing.

- This week: `/?week=W` for the ISO week with the most items (the digest built on each request,
  as a dry run) and `/` (the last 7 days, usually empty on a snapshot).
- Search: `/search?q=...` over the queries below, query encoding included.
- A paper's page: `/paper/ID` for random ids (fixed seed): abstract, 10 similar items, areas.

Run it on a COPY of a home (DuckDB allows one writer; the server writes nothing here):
  cp -r /work/pf65k/home /tmp/me-65k
  .venv/bin/python benchmarks/bench_web.py --home /tmp/me-65k --config /work/pf65k/sources.yaml
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from _machine import cpu_model

from paperfeed.settings import Settings
from paperfeed.store import Store
from paperfeed.web.room import Room
from paperfeed.web.safety import Policy
from paperfeed.web.server import serve_in_thread

QUERIES = [
    "retrieval augmented generation with a learned reranker",
    "diffusion models for image synthesis",
    "graph neural networks for molecules",
    "LoRA fine-tuning of large language models",
    "contrastive self-supervised learning",
    "reinforcement learning from human feedback",
    "vision transformer segmentation",
    "federated learning privacy",
    "speech recognition low resource",
    "mixture of experts routing",
    "out of distribution detection",
    "time series forecasting transformers",
    "causal inference observational data",
    "neural architecture search",
    "knowledge distillation small models",
    "adversarial robustness certified",
    "tabular data gradient boosting",
    "code generation benchmark",
    "bayesian optimization hyperparameters",
    "protein structure prediction",
]


def _time(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"{path}: HTTP {answer.status_code}: {answer.text[:200]}")
    return elapsed


def _calls(func: Callable[[Any], object], args: list[Any]) -> list[float]:
    times = []
    for arg in args:
        started = time.perf_counter()
        func(arg)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _report(name: str, times: list[float], target: float) -> None:
    ordered = sorted(times)
    p50 = statistics.median(ordered)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    verdict = ("PASS" if p50 <= target else "FAIL") + f" (target p50 <= {target:.0f} ms)"
    figures = f"p50 {p50:7.1f} ms  p90 {p90:7.1f}  max {ordered[-1]:7.1f}"
    print(f"{name:<34} n={len(times):>3}  {figures}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cpus, {platform.python_version()}")
    print(f"load: {os.getloadavg()}")
    settings = Settings(home=args.home, config_path=args.config)
    with Store.open(settings.db_path, read_only=True) as store:
        count = store.items.count()
        weeks = store.browse.weeks(1000)
        ids = store.items.ids()
    busiest, in_week = max(weeks, key=lambda pair: pair[1])
    print(f"home: {count} items; busiest week {busiest} with {in_week} items")
    room = Room(settings)
    started = time.perf_counter()
    room.warm()
    print(f"warm-up (encoder + indexes): {time.perf_counter() - started:.1f} s")
    running = serve_in_thread(room, Policy("127.0.0.1", _free_port()))
    papers = random.Random(0).sample(ids, args.rounds)
    try:
        with httpx.Client(base_url=running.url, timeout=60) as client:
            pages = {
                f"this week ({busiest})": ([f"/?week={busiest}"] * args.rounds, 150.0),
                "this week (last 7 days)": (["/"] * args.rounds, 150.0),
                "search (incl. query encoding)": (
                    [f"/search?q={q}" for q in (QUERIES * 5)[: args.rounds]],
                    100.0,
                ),
                "paper page (10 similar)": ([f"/paper/{i}" for i in papers], 100.0),
            }
            for paths, _ in pages.values():
                _time(client, paths[0])  # warm each page once
            for name, (paths, target) in pages.items():
                _report(name, [_time(client, p) for p in paths], target)
        # the same work without HTTP, templates or the Guard, in the same run: what the web adds
        queries = (QUERIES * 5)[: args.rounds]
        _report(
            "  library search + encoding alone", _calls(room.search, queries), 100.0
        )  # k=10 as the page
        _report("  query encoding alone", _calls(room.query_encoder, queries), 100.0)
        _report("  Room.paper alone", _calls(room.paper, papers), 100.0)
    finally:
        running.stop()
    print(f"load after: {os.getloadavg()}")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()
