"""Progress on every long step (issue 12, item 1): off a terminal one line per phase and no
third-party bars; on a terminal a bar with rate and ETA; --quiet prints nothing on success."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import shared_path
from fakes import EmbedderFactory
from ingest_helpers import feed_source, write_config
from server import FixtureServer, static

from paperfeed.cli import main
from paperfeed.cli.progress import Reporter
from paperfeed.embed import embedder

FEEDS = "fixtures/feeds/ml_org_feeds_scraped/turing_ai-rss-feeds"


@pytest.fixture
def factory(monkeypatch: pytest.MonkeyPatch) -> EmbedderFactory:
    fake = EmbedderFactory()
    monkeypatch.setattr(embedder, "load_embedder", fake)
    return fake


def _ingest(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    feeds = sorted(shared_path(FEEDS).glob("*.xml"))[:3]
    with FixtureServer() as srv:
        for feed in feeds:
            srv.routes[f"/{feed.name}"] = static(feed.read_bytes())
        settings = write_config(
            tmp_path, [feed_source(f.stem, srv.url(f"/{f.name}")) for f in feeds]
        )
        result = CliRunner().invoke(
            main,
            ["--home", str(settings.home), "--config", str(settings.config_path), "ingest", *args],
        )
    return result.exit_code, result.stdout, result.stderr


def test_off_a_terminal_ingest_prints_one_line_per_phase(
    tmp_path: Path, factory: EmbedderFactory
) -> None:
    code, stdout, stderr = _ingest(tmp_path)
    assert code == 0, stdout + stderr
    phases = [line.split(":")[0] for line in stderr.splitlines()]
    assert phases == ["fetching", "storing", "embedding", "indexing"]
    assert re.match(r"fetching: 3 sources, 0 failed \(\d+\.\d s\)$", stderr.splitlines()[0])
    assert "it/s" not in stderr and "\r" not in stderr
    assert stdout.splitlines()[0].split()[:2] == ["source", "status"]


def test_quiet_ingest_prints_nothing_when_all_is_well(
    tmp_path: Path, factory: EmbedderFactory
) -> None:
    assert _ingest(tmp_path, "--quiet") == (0, "", "")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_phase_is_a_bar_with_rate_and_eta() -> None:
    screen = _Terminal()
    reporter = Reporter(stream=screen)
    reporter.start("embedding", 100, "items")
    reporter.advance(50, note="arXiv cs.LG: 20 items")
    reporter.finish("100 items")
    drawn = screen.getvalue()
    assert re.search(r"embedding: +50%.*50/100 \[\d\d:\d\d<\d\d:\d\d, .*items/s", drawn), drawn
    assert "arXiv cs.LG: 20 items" in drawn
    assert re.search(r"\rembedding: 100 items \(\d+\.\d s\)\n$", drawn)


@pytest.mark.slow
def test_loading_the_real_model_prints_nothing() -> None:
    code = "from paperfeed.embed.embedder import load_embedder; load_embedder().encode(['x'])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout == "" and done.stderr == ""
