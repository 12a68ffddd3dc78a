"""The CLI's rendering of `paperfeed.progress.Progress`, on stderr.

On a terminal: a tqdm bar per phase of known length (rate and ETA; the note shows the
source just fetched), then the phase's summary line. Off a terminal (cron, a pipe, a file): only
the summary line, one per phase. `--quiet`: nothing. (Third-party bars and warnings are turned
off where the model is loaded, `paperfeed.embed.embedder.load_embedder`.)
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any, TextIO

import click


class Reporter:
    """A Progress that draws bars on a terminal and prints one line per phase."""

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = not quiet and self.stream.isatty()
        self.phase = ""
        self.started = 0.0
        self.bar: Any = None

    def start(self, phase: str, total: int | None = None, unit: str = "items") -> None:
        self._close()
        self.phase, self.started = phase, time.perf_counter()
        if self.live and total is not None:  # a phase of unknown length gets its line only
            from tqdm import tqdm

            scaled = unit == "B"
            size = shutil.get_terminal_size((100, 24))
            self.bar = tqdm(
                desc=phase,
                total=total,
                unit=unit if scaled else f" {unit}",
                unit_scale=scaled,
                file=self.stream,
                leave=False,
                # a pseudo-terminal without a size (script, some CI) reports 0 x 0, where
                # tqdm's own sizing draws nothing
                ncols=size.columns,
                nrows=size.lines,
            )

    def advance(self, done: int, total: int | None = None, note: str = "") -> None:
        if self.bar is None:
            return
        if total is not None:
            self.bar.total = total
        if note:
            self.bar.set_postfix_str(note[:40], refresh=False)
        self.bar.n = done  # advances are coarse (a source, a batch): draw each one
        self.bar.refresh()

    def finish(self, summary: str) -> None:
        self._close()
        if not self.quiet:
            seconds = time.perf_counter() - self.started
            click.echo(f"{self.phase}: {summary} ({seconds:.1f} s)", file=self.stream)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
