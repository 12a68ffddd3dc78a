"""A1 and A2 against a real server on 127.0.0.1: stalled servers are cut at the total deadline,
huge or bomb bodies end in TooLarge with bounded memory (measured in a child process)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from server import (
    FixtureServer,
    GiB,
    deflate_bomb,
    drip,
    endless,
    gzip_bomb,
    header_delay,
    lying_length,
    never_answer,
    redirect,
    static,
)

from paperfeed.errors import DeadlineExceeded, TooLarge
from paperfeed.http import HttpClient, HttpPolicy

DEADLINE = 1.5
RUNS = 10


def _timed_fetch(client: HttpClient, url: str) -> tuple[str, float]:
    started = time.monotonic()
    try:
        client.fetch(url, allow_private=True)
    except DeadlineExceeded:
        return "DeadlineExceeded", time.monotonic() - started
    return "answered", time.monotonic() - started


@pytest.mark.parametrize(
    "handler",
    [drip(interval=0.5, total=120), never_answer(), header_delay(30.0)],
    ids=["drip-1B-per-0.5s", "accept-never-answer", "header-delay-30s"],
)
def test_a1_stalled_server_is_cut_at_the_total_deadline(handler):
    policy = HttpPolicy(total_deadline=DEADLINE, per_host_connections=RUNS)
    with FixtureServer({"/stall": handler}) as srv, HttpClient(policy) as client:
        with ThreadPoolExecutor(RUNS) as pool:
            results = list(pool.map(lambda _: _timed_fetch(client, srv.url("/stall")), range(RUNS)))
        assert srv.hits["/stall"] == RUNS  # every run really reached the stalled route
    assert [outcome for outcome, _ in results] == ["DeadlineExceeded"] * RUNS
    assert max(elapsed for _, elapsed in results) <= DEADLINE + 1.0


def test_a1_slow_but_complete_answer_within_the_deadline_is_kept():
    with (
        FixtureServer({"/slow": drip(interval=0.05, total=8)}) as srv,
        HttpClient(HttpPolicy(total_deadline=DEADLINE)) as client,
    ):
        response = client.fetch(srv.url("/slow"), allow_private=True)
    assert response.body == b"x" * 8


def test_a1_deadline_covers_every_redirect_hop():
    with FixtureServer() as srv:
        srv.routes["/start"] = header_delay(0.9, redirect(srv.url("/middle")))
        srv.routes["/middle"] = header_delay(0.9, redirect(srv.url("/end")))
        srv.routes["/end"] = header_delay(0.9)
        started = time.monotonic()
        client = HttpClient(HttpPolicy(total_deadline=DEADLINE))
        with client, pytest.raises(DeadlineExceeded):
            client.fetch(srv.url("/start"), allow_private=True)
        assert time.monotonic() - started <= DEADLINE + 1.0
        assert srv.hits["/middle"] == 1  # the second hop was under way when the deadline hit
        assert srv.hits["/end"] == 0


PAYLOADS = {
    "/gzip-bomb": gzip_bomb(GiB),
    "/deflate-bomb": deflate_bomb(GiB),
    "/chunked-1GiB": endless(total=GiB),
    "/lying-length": lying_length(claimed=2 * GiB, actual=65536),
}

CHILD = """
import json, sys
from paperfeed.errors import FetchError
from paperfeed.http import HttpClient, HttpPolicy

def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

urls, runs = json.loads(sys.argv[1]), int(sys.argv[2])
client = HttpClient(HttpPolicy(total_deadline=20.0))
client.fetch(urls[-1] + "-warmup", allow_private=True)
before = hwm_kb()
outcomes = []
for _ in range(runs):
    for url in urls:
        try:
            response = client.fetch(url, allow_private=True)
            outcomes.append(f"ok {len(response.body)}")
        except FetchError as exc:
            outcomes.append(type(exc).__name__)
print(json.dumps({"before_kb": before, "after_kb": hwm_kb(), "outcomes": outcomes}))
"""


def test_a2_huge_bodies_end_in_too_large_with_bounded_memory():
    runs = 5
    with FixtureServer(dict(PAYLOADS)) as srv:
        srv.routes["/lying-length-warmup"] = static(b"<rss/>")
        urls = [srv.url(path) for path in PAYLOADS]
        child = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(urls), str(runs)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert child.returncode == 0, child.stderr
        report = json.loads(child.stdout)
        assert all(srv.hits[path] == runs for path in PAYLOADS)
    assert report["outcomes"] == ["TooLarge"] * (runs * len(PAYLOADS))
    assert (report["after_kb"] - report["before_kb"]) / 1024 < 150


def test_a2_content_length_over_the_cap_is_refused_before_reading():
    policy = HttpPolicy(max_body_bytes=1000)
    with (
        FixtureServer({"/big": lying_length(claimed=5000, actual=5000)}) as srv,
        HttpClient(policy) as client,
        pytest.raises(TooLarge, match="Content-Length"),
    ):
        client.fetch(srv.url("/big"), allow_private=True)


def test_a2_a_length_smaller_than_the_body_reads_only_the_declared_bytes():
    with (
        FixtureServer({"/short": lying_length(claimed=1000, actual=4 * 2**20)}) as srv,
        HttpClient() as client,
    ):
        response = client.fetch(srv.url("/short"), allow_private=True)
    assert len(response.body) == 1000


def test_a2_cap_counts_decoded_bytes_exactly():
    with FixtureServer({"/bomb": gzip_bomb(4096)}) as srv:
        with HttpClient(HttpPolicy(max_body_bytes=4096)) as client:
            assert client.fetch(srv.url("/bomb"), allow_private=True).body == bytes(4096)
        with HttpClient(HttpPolicy(max_body_bytes=4095)) as client, pytest.raises(TooLarge):
            client.fetch(srv.url("/bomb"), allow_private=True)


def test_broken_http_from_the_server_is_a_final_error_not_a_transient_one():
    """Garbage instead of an HTTP status line: retrying will not help, and it is not a sign
    that this machine is offline."""
    import socket
    import threading

    from paperfeed.errors import FetchError, TransportError

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer_garbage() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"\x00\x01 this is not HTTP at all\r\n\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    with HttpClient(HttpPolicy(total_deadline=5)) as http, pytest.raises(FetchError) as caught:
        http.fetch(f"http://127.0.0.1:{port}/feed", allow_private=True)
    thread.join(timeout=5)
    listener.close()

    assert not isinstance(caught.value, TransportError)
    assert not getattr(caught.value, "transient", False)
    assert "invalid HTTP" in str(caught.value)
