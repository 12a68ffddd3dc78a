"""How the library reports long work. The library never prints: it calls a `Progress` that the
caller renders (the CLI: a bar on a terminal, one line per phase off it; flows: nothing).

A phase is `start` (its name, a total when known, a unit), any number of `advance` calls (done
so far, optionally a new total and a short note such as the source just fetched), then `finish`
with a one-line summary.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, phase: str, total: int | None = None, unit: str = "items") -> None: ...

    def advance(self, done: int, total: int | None = None, note: str = "") -> None: ...

    def finish(self, summary: str) -> None: ...


class Silent:
    """A Progress that reports nothing (flows, tests, library callers that do not care)."""

    def start(self, phase: str, total: int | None = None, unit: str = "items") -> None:
        pass

    def advance(self, done: int, total: int | None = None, note: str = "") -> None:
        pass

    def finish(self, summary: str) -> None:
        pass


SILENT = Silent()
