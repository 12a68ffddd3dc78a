"""The arXiv adapter through the real HttpClient over httpx.MockTransport with a fake clock
(RELIABILITY C1, C5, C6): request starts ≥ 3 s apart, one at a time across threads, 429s backed
off, every request identified."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta

import httpx
import pytest
from test_arxiv_fake import EPOCH, FakeArxiv, corpus

from paperfeed.config import SourceConfig
from paperfeed.http import HttpClient
from paperfeed.http import _client as http_client
from paperfeed.http._polite import Gates
from paperfeed.records import SourceState
from paperfeed.sources import arxiv

NOW = EPOCH + timedelta(days=5)
USER_AGENT = re.compile(r"^paperfeed/\S+ \(\+\S+\)$")


class FakeClock:
    """Monotonic seconds that only move when someone sleeps; shared by client and adapter."""

    def __init__(self) -> None:
        self.t = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.t += max(0.0, seconds)

    def utc(self) -> datetime:
        return NOW + timedelta(seconds=self() - 1000.0)


class Recorder:
    """MockTransport handler: serves the fake API and records start time, headers, overlap."""

    def __init__(self, fake: FakeArxiv, clock: FakeClock, statuses: list[int] | None = None):
        self.fake, self.clock, self.statuses = fake, clock, list(statuses or [])
        self.starts: list[float] = []
        self.agents: list[str] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.starts.append(self.clock())
            self.agents.append(request.headers.get("user-agent", ""))
        time.sleep(0.002)  # real time, so a second thread could overlap if the gate let it
        with self._lock:
            self.in_flight -= 1
            if self.statuses:
                return httpx.Response(
                    self.statuses.pop(0), headers={"Retry-After": "5"}, stream=httpx.ByteStream(b"")
                )
        body = self.fake.fetch(str(request.url)).body
        return httpx.Response(200, stream=httpx.ByteStream(body))


@pytest.fixture(autouse=True)
def fresh_gates(monkeypatch: pytest.MonkeyPatch) -> None:
    # The arXiv gate is process-wide; a fake clock must not leave its times in the real one.
    monkeypatch.setattr(http_client, "GATES", Gates())


def client(recorder: Recorder, clock: FakeClock) -> HttpClient:
    return HttpClient(
        transport=httpx.MockTransport(recorder),
        clock=clock,
        sleep=clock.sleep,
        now=clock.utc,
        jitter=lambda: 0.25,
    )


def collect(name: str, http: HttpClient, clock: FakeClock) -> set[str]:
    source = SourceConfig(
        name=name, type="arxiv", categories=("cs.LG",), options={"page_size": 100}
    )
    collected = arxiv.collect(source, SourceState(name=name), http, now=NOW, sleep=clock.sleep)
    return {i.arxiv_id for i in collected.items if i.arxiv_id}


def gaps(starts: list[float]) -> list[float]:
    ordered = sorted(starts)
    return [b - a for a, b in zip(ordered, ordered[1:], strict=False)]


def test_twenty_pages_start_at_least_3s_apart_and_carry_the_user_agent() -> None:
    clock = FakeClock()
    recorder = Recorder(FakeArxiv(corpus(2000, step=timedelta(minutes=1))), clock)
    with client(recorder, clock) as http:
        assert len(collect("a", http, clock)) == 2000
    assert len(recorder.starts) == 20
    assert min(gaps(recorder.starts)) >= 3.0
    assert all(USER_AGENT.match(agent) for agent in recorder.agents)


def test_two_threads_collecting_never_overlap() -> None:
    clock = FakeClock()
    recorder = Recorder(FakeArxiv(corpus(1000, step=timedelta(minutes=1))), clock)
    results: dict[str, set[str]] = {}

    def work(name: str) -> None:
        with client(recorder, clock) as http:  # one client per task, as Prefect threads would
            results[name] = collect(name, http, clock)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results["a"]) == len(results["b"]) == 1000
    assert len(recorder.starts) == 20
    assert recorder.max_in_flight == 1
    assert min(gaps(recorder.starts)) >= 3.0


def test_429_twice_then_200_backs_off_30s_each() -> None:
    clock = FakeClock()
    recorder = Recorder(FakeArxiv(corpus(50)), clock, statuses=[429, 429])
    with client(recorder, clock) as http:
        assert len(collect("a", http, clock)) == 50
    assert len(recorder.starts) == 3
    assert min(gaps(recorder.starts)) >= 30.0
    assert all(USER_AGENT.match(agent) for agent in recorder.agents)
