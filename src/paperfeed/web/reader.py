"""A read-only DuckDB handle kept between page requests, and let go so other processes can write.

Opening the 65k-paper file costs 30-95 ms (connect, migration check), most of a page's budget,
so consecutive pages share one read-only handle. But while any handle is open, another process
(an ingest, `paperfeed read`) cannot write; those retry every 0.5 s at most. So the handle is
closed IDLE_CLOSE after its last use, and after MAX_HOLD of continuous use it is closed and pages
wait GAP before opening it again (GAP is longer than a writer's longest retry interval): a
waiting writer always gets the file within about MAX_HOLD + GAP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from paperfeed.store import Store

IDLE_CLOSE = 1.0
MAX_HOLD = 5.0
GAP = 0.75


class SharedReader:
    """Not thread-safe on its own: the Room calls it under its lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None
        self._opened_at = 0.0
        self._last_used = 0.0
        self._no_keep_until = 0.0

    @contextmanager
    def use(self, wait: float) -> Iterator[Store]:
        now = time.monotonic()
        if self._store is not None and now - self._opened_at > MAX_HOLD:
            self.release()
            self._no_keep_until = now + GAP
        if now < self._no_keep_until:  # the writers' turn: the file stays free until it ends
            time.sleep(self._no_keep_until - now)
            now = time.monotonic()
        if self._store is None:
            self._store = Store.open(self.path, read_only=True, wait=wait)
            self._opened_at = now
        try:
            yield self._store
        finally:
            self._last_used = time.monotonic()

    def close_if_idle(self) -> None:
        if self._store is not None and time.monotonic() - self._last_used > IDLE_CLOSE:
            self.release()

    def release(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
