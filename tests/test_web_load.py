"""Under load: 200 concurrent marks against a real uvicorn while `paperfeed ingest` is storing a
large local feed (holding DuckDB's writer): every mark answered without a 5xx, every mark in
the database once the ingest lets go (RELIABILITY D3, through the web)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import yaml
from server import FixtureServer, static
from web_helpers import free_port, make_home, room_of

from paperfeed.errors import StoreBusy
from paperfeed.settings import Settings
from paperfeed.store import Store
from paperfeed.web.safety import Policy
from paperfeed.web.server import serve_in_thread

MARKS = 200
FEED_ITEMS = 20_000  # enough that storing them holds the writer for a few seconds


def _big_feed() -> bytes:
    items = "".join(
        f"<item><title>Synthetic load-test post {n}</title>"
        f"<link>https://load.example/post/{n}</link><guid>load-{n}</guid>"
        f"<description>Synthetic body {n} for the web load test.</description></item>"
        for n in range(FEED_ITEMS)
    )
    return f"<rss version='2.0'><channel><title>load</title>{items}</channel></rss>".encode()


def _ingest(settings: Settings, config: Path) -> subprocess.Popen[str]:
    code = "import sys; from paperfeed.cli import main; sys.exit(main())"
    args = ["--home", str(settings.home), "--config", str(config), "ingest", "--no-embed"]
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _busy(settings: Settings) -> bool:
    try:
        Store.open(settings.db_path, read_only=True, wait=0).close()
    except StoreBusy:
        return True
    return False


def _read_ids(settings: Settings) -> set[int]:
    code = "import sys; from paperfeed.cli import main; sys.exit(main())"
    args = ["--home", str(settings.home), "--config", str(settings.config_path)]
    out = subprocess.run(
        [sys.executable, "-c", code, *args, "list", "--json", "--limit", "100000"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {row["id"] for row in json.loads(out.stdout) if row["read"]}


def test_200_concurrent_marks_during_an_ingest_all_land_and_none_fails(tmp_path: Path) -> None:
    settings = make_home(tmp_path, count=MARKS)
    room = room_of(settings)
    running = serve_in_thread(room, Policy("127.0.0.1", free_port()))
    with FixtureServer({"/feed": static(_big_feed(), content_type="application/rss+xml")}) as srv:
        config = tmp_path / "ingest.yaml"
        source = {"name": "load", "type": "feed", "url": srv.url("/feed"), "allow_private": True}
        config.write_text(yaml.safe_dump({"sources": [source]}))
        ingest = _ingest(settings, config)
        try:
            deadline = time.monotonic() + 120
            while not (srv.hits["/feed"] and _busy(settings)):  # fetched, now storing
                assert ingest.poll() is None, ingest.communicate()
                assert time.monotonic() < deadline, "the ingest never held the database"
                time.sleep(0.01)
            statuses, texts = _fire(running.url, room, running.policy.csrf)
            held_after = ingest.poll() is None
            out, err = ingest.communicate(timeout=300)
        finally:
            if ingest.poll() is None:
                ingest.kill()
            running.stop()
    assert ingest.returncode == 0, err
    assert [s for s in statuses if s >= 500] == []
    assert statuses == [200] * MARKS
    queued = sum("queued" in t for t in texts)
    print(
        f"{MARKS} marks: {queued} queued while the ingest held the database; held to the end: "
        f"{held_after}"
    )
    assert queued > 0  # the burst really met the held database
    room.flush_pending()  # what the server's flusher does every 2 s
    assert _read_ids(settings) == set(range(1, MARKS + 1))


def _fire(base: str, room: object, csrf: str) -> tuple[list[int], list[str]]:
    with httpx.Client(
        base_url=base, limits=httpx.Limits(max_connections=MARKS), timeout=60
    ) as client:

        def mark(item_id: int) -> tuple[int, str]:
            answer = client.post(
                f"/items/{item_id}/read", data={"csrf": csrf}, headers={"HX-Request": "true"}
            )
            return answer.status_code, answer.text

        with ThreadPoolExecutor(MARKS) as pool:
            results = list(pool.map(mark, range(1, MARKS + 1)))
    return [s for s, _ in results], [t for _, t in results]


def test_a_writer_gets_the_database_while_pages_are_requested_back_to_back(
    tmp_path: Path,
) -> None:
    """The shared read-only handle is let go within MAX_HOLD + GAP: `paperfeed read` from
    another process applies its mark (not queued) while a client keeps loading pages."""
    settings = make_home(tmp_path)
    running = serve_in_thread(room_of(settings), Policy("127.0.0.1", free_port()))
    stop = threading.Event()

    def browse() -> int:
        pages = 0
        with httpx.Client(base_url=running.url, timeout=30) as client:
            while not stop.is_set():
                assert client.get("/sources").status_code == 200
                pages += 1
        return pages

    try:
        with ThreadPoolExecutor(1) as pool:
            browsing = pool.submit(browse)
            time.sleep(1.0)
            code = "import sys; from paperfeed.cli import main; sys.exit(main())"
            args = ["--home", str(settings.home), "--config", str(settings.config_path)]
            started = time.monotonic()
            out = subprocess.run(
                [sys.executable, "-c", code, *args, "read", "7"],
                capture_output=True,
                text=True,
                env={**os.environ, "PAPERFEED_LOCK_WAIT": "10"},
                timeout=60,
            )
            waited = time.monotonic() - started
            stop.set()
            pages = browsing.result()
    finally:
        stop.set()
        running.stop()
    assert out.returncode == 0 and "7  marked read: " in out.stdout, out.stderr
    assert "queued" not in out.stderr
    print(f"writer got the file after {waited:.1f} s while {pages} pages were served")
    assert pages > 10
