"""Per-run overhead of the Prefect ingest flow over the plain library path (`paperfeed ingest`).

Both paths ingest the same N feed sources served on 127.0.0.1 (tests/server.py), into separate
data directories, with embedding replaced by a no-op so only orchestration differs. The first run
of each stores the items; the timed reruns get 304s (the daily steady state). The flow runs
against a temporary Prefect server (`prefect_test_harness`; its start-up is reported apart).

    .venv/bin/python benchmarks/bench_flow_overhead.py [--sources 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from server import FixtureServer, static  # noqa: E402

from paperfeed.config import load_config  # noqa: E402
from paperfeed.flowfiles import load_flow_module  # noqa: E402
from paperfeed.ingest import refresh  # noqa: E402
from paperfeed.ingest.collect import ingest  # noqa: E402
from paperfeed.settings import Settings  # noqa: E402


def rss(name: str, count: int = 20) -> bytes:
    items = "".join(
        f"<item><title>{name} post {i}</title><link>https://{name}.example/{i}</link>"
        f"<guid>{name}-{i}</guid><description>text {i}</description></item>"
        for i in range(count)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}'
        "</channel></rss>".encode()
    )


def write_config(folder: Path, srv: FixtureServer, n: int) -> Path:
    lines = ["sources:"]
    for i in range(n):
        srv.routes[f"/f{i}"] = static(rss(f"f{i}"), etag=f'"f{i}"')
        lines.append(
            f"  - {{name: f{i}, type: feed, url: '{srv.url(f'/f{i}')}', allow_private: true}}"
        )
    path = folder / "sources.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def timed(fn: object, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_flow_"))
    os.environ.update(
        PREFECT_HOME=str(work / "prefect"),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_TO_API_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
    )
    refresh.refresh_embeddings = lambda *a, **k: 0  # type: ignore[assignment]
    print(
        f"machine: {platform.platform()}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; {args.sources} feed sources x 20 items, {args.runs} reruns"
    )
    with FixtureServer() as srv:
        config_path = write_config(work, srv, args.sources)
        config = load_config(config_path)
        plain = Settings(home=work / "plain", config_path=config_path)
        flowed = Settings(home=work / "flow", config_path=config_path)
        first_plain = timed(lambda: ingest(plain, config), 1)[0]
        plain_runs = timed(lambda: ingest(plain, config), args.runs)

        from prefect.testing.utilities import prefect_test_harness

        start = time.perf_counter()
        with prefect_test_harness(server_startup_timeout=None):
            harness = time.perf_counter() - start
            flow = load_flow_module(REPO / "flows", "ingest").ingest_flow
            run_flow = lambda: flow(home=str(flowed.home), config=str(config_path))  # noqa: E731
            first_flow = timed(run_flow, 1)[0]
            flow_runs = timed(run_flow, args.runs)
    p, f = statistics.median(plain_runs), statistics.median(flow_runs)
    print(f"temporary Prefect server start: {harness:.2f} s (once per process)")
    print(f"first run (stores items): plain {first_plain:.3f} s, flow {first_flow:.3f} s")
    print(f"rerun (304s) median of {args.runs}: plain {p:.3f} s, flow {f:.3f} s")
    print(f"flow overhead per run: +{f - p:.3f} s ({f / p:.1f}x the plain path)")


if __name__ == "__main__":
    main()
