"""Issue 14 drill: a 1.1 MB listing page of 100,000 nested <div>s (selectors match every div)
beside one healthy feed, with the default HTTP policy (30 s total deadline).

    .venv/bin/python benchmarks/drill_nested_html.py [--runs 3]

Prints per run the html source's status, its seconds (fetch + parse) and the run's wall time.
Pass: the source fails within deadline + 5 s, the feed beside it is stored.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from _machine import cpu_model  # noqa: E402
from ingest_helpers import feed_source, write_config  # noqa: E402
from server import FixtureServer, static  # noqa: E402

from paperfeed.config import load_config  # noqa: E402
from paperfeed.http import HttpClient, HttpPolicy  # noqa: E402
from paperfeed.ingest.collect import ingest  # noqa: E402

SHARED = Path(os.environ.get("PAPERFEED_SHARED", REPO.parent / "shared"))
FEED = SHARED / "fixtures/feeds/ml_org_feeds_scraped/olshansk_rss-feeds/feed_anthropic_news.xml"
PAGE = b"<html><body>" + b"<div>" * 100_000 + b"x" + b"</div>" * 100_000 + b"</body></html>"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    policy = HttpPolicy()
    print(f"cpu: {cpu_model()}; cores: {os.cpu_count()}; load: {os.getloadavg()}")
    print(f"page: {len(PAGE):,} bytes; total deadline {policy.total_deadline} s")
    with FixtureServer() as srv, tempfile.TemporaryDirectory() as tmp:
        srv.routes["/page"] = static(PAGE, content_type="text/html")
        srv.routes["/feed"] = static(FEED.read_bytes())
        nested = {"name": "nested", "type": "html", "url": srv.url("/page"), "allow_private": True}
        nested["selectors"] = {"item": "div", "title": "div"}
        for run in range(args.runs):
            sources = [feed_source("feed", srv.url("/feed")), nested]
            settings = write_config(Path(tmp) / str(run), sources)
            started = time.monotonic()
            with HttpClient(policy) as http:
                report = ingest(settings, load_config(settings.config_path), http=http)
            wall = time.monotonic() - started
            by_name = {s.name: s for s in report.sources}
            html, feed = by_name["nested"], by_name["feed"]
            print(
                f"run {run + 1}: nested {html.status} in {html.seconds:.1f} s "
                f"(limit {policy.total_deadline + 5:.0f} s); feed {feed.status} +{feed.new}; "
                f"wall {wall:.1f} s; {html.error}"
            )


if __name__ == "__main__":
    main()
