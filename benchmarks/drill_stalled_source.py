"""A1 / F2 drill: one source that accepts the connection and never answers, among 10 healthy
feeds, with the default HTTP policy (10 s connect, 20 s read, 30 s total deadline).

    .venv/bin/python benchmarks/drill_stalled_source.py [--runs 10] [--only cli|flow]

CLI: `runs` calm runs (the 10 healthy sources) and `runs` stalled runs (the same plus the silent
one), each `paperfeed ingest --no-embed` in its own process and home, the runs of a batch side by
side. Flow: the Prefect ingest flow in one process (a temporary Prefect server, embedding
replaced by a no-op as in bench_flow_overhead.py), calm then stalled, one after another.
Prints per run the wall seconds, the extra over the calm median, and the silent source's
requests and status. Pass (RELIABILITY A1): extra <= deadline + 5 s in every run, 10/10 healthy
sources stored in every run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from _machine import cpu_model  # noqa: E402
from server import FixtureServer, never_answer, static  # noqa: E402

from paperfeed.http import HttpPolicy  # noqa: E402

SHARED = Path(os.environ.get("PAPERFEED_SHARED", REPO.parent / "shared"))
FEEDS = SHARED / "fixtures/feeds/ml_org_feeds_scraped/olshansk_rss-feeds"
NAMES = [
    "feed_anthropic_news.xml",
    "feed_cohere.xml",
    "feed_google_ai.xml",
    "feed_meta_ai.xml",
    "feed_mistral.xml",
    "feed_ollama.xml",
    "feed_openai_research.xml",
    "feed_pinecone.xml",
    "feed_weaviate.xml",
    "feed_the_batch.xml",
]
CLI = Path(sys.executable).with_name("paperfeed")


def write_config(folder: Path, urls: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["sources:"]
    for name, url in urls.items():
        lines.append(f"  - {{name: {name}, type: feed, url: '{url}', allow_private: true}}")
    path = folder / "sources.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def cli_batch(work: Path, config: Path, label: str, runs: int) -> list[tuple[float, dict]]:
    """`runs` CLI ingests side by side; (wall seconds, parsed --json report) each."""
    children = []
    for n in range(runs):
        home = work / f"{label}-{n}"
        command = [str(CLI), "--home", str(home), "--config", str(config)]
        command += ["ingest", "--no-embed", "--json"]
        started = time.monotonic()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        children.append((started, child))
    results = []
    for started, child in children:
        out, _ = child.communicate()
        results.append((time.monotonic() - started, json.loads(out)))
    return results


def flow_runs(work: Path, config: Path, label: str, runs: int) -> list[tuple[float, dict]]:
    from paperfeed.cli.serve_cmds import load_flow_module
    from paperfeed.ingest import refresh

    refresh.refresh_embeddings = lambda *a, **k: 0  # type: ignore[assignment]
    flows = load_flow_module(REPO / "flows", "ingest")
    flows.embed_and_index = lambda *a, **k: 0
    results = []
    for n in range(runs):
        started = time.monotonic()
        report = flows.ingest_flow(home=str(work / f"{label}-{n}"), config=str(config))
        wall = time.monotonic() - started
        results.append((wall, {"sources": [s.as_dict() for s in report.sources]}))
    return results


def summarise(path: str, calm: list, stalled: list, deadline: float) -> int:
    base = statistics.median(wall for wall, _ in calm)
    print(f"{path}: calm median {base:.2f} s over {len(calm)} runs")
    passed = 0
    for n, (wall, report) in enumerate(stalled):
        by_name = {s["name"]: s for s in report["sources"]}
        silent = by_name["silent"]
        healthy = sum(by_name[k.removesuffix(".xml")]["status"] == "new" for k in NAMES)
        extra = wall - base
        ok = extra <= deadline + 5 and healthy == len(NAMES) and silent["status"] == "failed"
        passed += ok
        print(
            f"  run {n + 1}: {wall:6.2f} s  extra {extra:+6.2f} s  healthy {healthy}/10  "
            f"silent: {silent['status']}, {silent['requests']} request(s), "
            f"{silent['seconds']:.2f} s, {silent['error']!r}"
        )
    print(f"{path}: {passed}/{len(stalled)} runs within deadline + 5 s = {deadline + 5:.0f} s")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", choices=["cli", "flow"])
    args = parser.parse_args()
    policy = HttpPolicy()
    print(f"cpu: {cpu_model()}; cores: {os.cpu_count()}; load: {os.getloadavg()}")
    print(
        f"policy: connect {policy.connect_timeout} s, read {policy.read_timeout} s, "
        f"total deadline {policy.total_deadline} s"
    )
    work = Path(tempfile.mkdtemp(prefix="drill_stalled_"))
    os.environ.update(
        PREFECT_HOME=str(work / "prefect"),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_TO_API_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
    )
    with FixtureServer() as healthy, FixtureServer(host="127.0.0.2") as silent:
        urls = {}
        for name in NAMES:
            healthy.routes[f"/{name}"] = static((FEEDS / name).read_bytes())
            urls[name.removesuffix(".xml")] = healthy.url(f"/{name}")
        silent.routes["/feed"] = never_answer()
        calm = write_config(work / "calm", urls)
        stalled = write_config(work / "stalled", {**urls, "silent": silent.url("/feed")})
        if args.only in (None, "cli"):
            calm_runs = cli_batch(work, calm, "cli-calm", args.runs)
            stalled_runs = cli_batch(work, stalled, "cli-stalled", args.runs)
            summarise("CLI", calm_runs, stalled_runs, policy.total_deadline)
        if args.only in (None, "flow"):
            from prefect.testing.utilities import prefect_test_harness

            with prefect_test_harness(server_startup_timeout=None):
                calm_runs = flow_runs(work, calm, "flow-calm", args.runs)
                stalled_runs = flow_runs(work, stalled, "flow-stalled", args.runs)
            summarise("flow", calm_runs, stalled_runs, policy.total_deadline)


if __name__ == "__main__":
    main()
