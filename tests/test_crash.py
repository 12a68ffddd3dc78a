"""RELIABILITY D1 (and E1/E3 along the way): kill -9 at a random moment of a real ingest.

A child process ingests feeds from a fixture server, embeds them and writes the index, with an
fsynced acknowledgement after every committed source. The parent kills it at a random time,
reopens the database, checks that nothing acknowledged was lost and no transaction was left
half-applied, then reruns the child to completion and compares with an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import shared_path
from ingest_helpers import feed_source, write_config
from server import FixtureServer, static

from paperfeed.settings import Settings
from paperfeed.store import Store

TRIALS = 20
CHILD = Path(__file__).with_name("crash_child.py")
SCRAPED = "fixtures/feeds/ml_org_feeds_scraped/olshansk_rss-feeds"


def _child(settings: Settings, ack: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(settings.config_path), str(settings.home), str(ack)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _run_to_end(settings: Settings, ack: Path) -> float:
    started = time.monotonic()
    child = _child(settings, ack)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()
    return time.monotonic() - started


def _snapshot(settings: Settings) -> tuple[set[str], dict[str, int], dict[str, bool]]:
    with Store.open(settings.db_path, read_only=True) as store:
        keys = {k for (k,) in store.conn.execute("SELECT key FROM items").fetchall()}
        links = dict(
            store.conn.execute(
                "SELECT source, count(*) FROM item_sources GROUP BY source"
            ).fetchall()
        )
        committed = {name: state.last_ok is not None for name, state in store.sources.all().items()}
    return keys, links, committed


def _acked_ids(ack: Path) -> set[int]:
    if not ack.exists():
        return set()
    lines = [json.loads(line) for line in ack.read_text().splitlines() if line.endswith("}")]
    return {i for line in lines for i in line["new_ids"]}


@pytest.mark.slow
def test_kill_9_loses_nothing_committed_and_converges(tmp_path: Path) -> None:
    folder = shared_path(SCRAPED)
    feeds = sorted(folder.glob("feed_*.xml"))[:12]
    rng = random.Random(20261123)
    with FixtureServer() as srv:
        sources = []
        for path in feeds:
            srv.routes[f"/{path.name}"] = static(path.read_bytes())
            sources.append(feed_source(path.stem, srv.url(f"/{path.name}")))
        baseline = write_config(tmp_path / "baseline", sources)
        duration = _run_to_end(baseline, tmp_path / "baseline.ack")
        base_keys, base_links, _ = _snapshot(baseline)
        opened, lost, partial, converged = 0, 0, 0, 0
        for trial in range(TRIALS):
            settings = write_config(tmp_path / f"t{trial}", sources)
            ack = tmp_path / f"t{trial}.ack"
            child = _child(settings, ack)
            # stratified: trial i dies in the i-th slice of the run, so start-up (creating the
            # file, migrations), fetching, storing, embedding and the index write all get hit
            time.sleep((trial + rng.random()) / TRIALS * duration * 1.1)
            child.send_signal(signal.SIGKILL)
            child.wait()
            keys, links, committed = _snapshot(settings)
            opened += 1
            with Store.open(settings.db_path, read_only=True) as store:
                stored_ids = set(store.items.ids())
            lost += len(_acked_ids(ack) - stored_ids)
            partial += sum(
                links.get(name, 0) != (base_links.get(name, 0) if done else 0)
                for name, done in committed.items()
            )
            _run_to_end(settings, ack)
            converged += _snapshot(settings)[0] == base_keys
            assert _snapshot(settings)[1] == base_links

    assert base_keys, "the baseline stored nothing: the fixture feeds did not parse"
    assert (opened, lost, partial, converged) == (TRIALS, 0, 0, TRIALS)
