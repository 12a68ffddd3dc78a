"""Politeness shared by every HttpClient in the process: a cap on requests in flight per host,
and named gates (arXiv) that let one request through at a time, spaced by a minimum interval.

These registries are module-level on purpose: Prefect runs tasks as threads that may each build
their own HttpClient, and politeness only holds if they all queue at the same doors. They hold
no configuration, only locks and the last start time of each gate."""

from __future__ import annotations

import contextlib
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from paperfeed.errors import DeadlineExceeded


class HostSlots:
    """At most `limit` requests in flight per host, across threads and clients."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy: Counter[str] = Counter()

    @contextlib.contextmanager
    def hold(self, host: str, limit: int, timeout: float | None) -> Iterator[None]:
        with self._cond:
            if not self._cond.wait_for(lambda: self._busy[host] < max(1, limit), timeout):
                raise DeadlineExceeded(f"{host}: waited too long for a free connection slot")
            self._busy[host] += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy[host] -= 1
                if not self._busy[host]:
                    del self._busy[host]
                self._cond.notify_all()

    def busy(self, host: str) -> int:
        with self._cond:
            return self._busy[host]


@dataclass
class Gate:
    """One request at a time; request starts at least `interval` + jitter seconds apart."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    last_start: float | None = None

    def pace(
        self,
        interval: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        jitter: Callable[[], float],
    ) -> None:
        """Wait (holding the lock) until the next request may start, then mark its start."""
        if self.last_start is not None and interval > 0:
            wait = self.last_start + interval + jitter() - clock()
            if wait > 0:
                sleep(wait)
        self.last_start = clock()


class Gates:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gates: dict[str, Gate] = {}

    def get(self, name: str) -> Gate:
        with self._lock:
            return self._gates.setdefault(name, Gate())


def uniform_jitter() -> float:
    return random.uniform(0.0, 1.0)


HOST_SLOTS = HostSlots()
GATES = Gates()
