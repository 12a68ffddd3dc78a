"""Every error paperfeed raises on purpose, under one base class the CLI shows to the user.

PaperfeedError                 one-line message, shown by the CLI with a non-zero exit
├── ConfigError                sources.yaml is missing, unsafe or invalid (names file, line, key)
├── StoreBusy                  another process holds the DuckDB file for longer than we wait
├── StoreError                 the database cannot be opened or used
│   ├── DatabaseCorrupt        the DuckDB file is truncated or damaged (run `paperfeed recover`)
│   ├── ReadOnlyHome           the home folder cannot be written (a read-only mount)
│   └── DiskFull               no space left while writing; nothing was half-written
├── NotFound                   an id, arXiv id or URL that matches no item
├── UnknownName                a source, tag or focus area name that sources.yaml lacks (exit 2)
├── UsageError                 a request that makes no sense, e.g. an empty query (exit 2)
├── NotPapers                  a bulk file whose lines are mostly not arXiv papers
├── ModelError                 the embedding model cannot be loaded
├── SourceError                one source failed; recorded on the source, never fatal to a run
│   ├── ParseError             the body could not be parsed into items
│   ├── ArxivApiError          the arXiv API answered with its error feed
│   └── FetchError             the network part failed
│       ├── DeadlineExceeded   the whole fetch took longer than its total deadline
│       ├── TooLarge           the decoded body passed the size cap
│       ├── BlockedAddress     a private, loopback or link-local address, or a non-http(s) URL
│       ├── TooManyRedirects   more hops than allowed, a loop, or an https→http downgrade
│       ├── HttpStatusError    an unexpected HTTP status (.status)
│       │   └── Gone           410: the source is disabled
│       ├── Deferred           429/503 with Retry-After, or the host is inside its wait window
│       └── TransportError     connection refused, DNS failure, TLS failure, reset
└── IndexCorrupt               the FAISS files disagree with DuckDB (rebuilt, rarely surfaced)
"""

from __future__ import annotations

from datetime import datetime


class PaperfeedError(Exception):
    """Base class: the message is one line meant for the user."""

    exit_code = 1


class ConfigError(PaperfeedError):
    pass


class StoreBusy(PaperfeedError):
    exit_code = 75  # EX_TEMPFAIL: try again later

    def __init__(self, path: object = None) -> None:
        super().__init__(f"database busy: another paperfeed process is using {path}; try again")


class StoreError(PaperfeedError):
    pass


class DatabaseCorrupt(StoreError):
    exit_code = 65  # EX_DATAERR


class ReadOnlyHome(StoreError):
    exit_code = 73  # EX_CANTCREAT


class DiskFull(StoreError):
    exit_code = 74  # EX_IOERR


class NotFound(PaperfeedError):
    pass


class UnknownName(PaperfeedError):
    exit_code = 2  # a usage error, as click's own


class UsageError(PaperfeedError):
    exit_code = 2


class NotPapers(PaperfeedError):
    pass


class ModelError(PaperfeedError):
    pass


class IndexCorrupt(PaperfeedError):
    pass


class SourceError(PaperfeedError):
    """A failure of one source. `transient` errors are worth retrying later in the same run."""

    transient = False


class ParseError(SourceError):
    pass


class ArxivApiError(SourceError):
    pass


class FetchError(SourceError):
    pass


class DeadlineExceeded(FetchError):
    # Not retried: a server that stalled for a whole deadline will most likely stall again, and
    # retrying would multiply the cost of one hung source by the number of attempts (A1, F2).
    transient = False


class TooLarge(FetchError):
    pass


class BlockedAddress(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


class HttpStatusError(FetchError):
    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        self.url = url

    @property
    def transient(self) -> bool:  # type: ignore[override]
        return self.status >= 500 or self.status == 429


class Gone(HttpStatusError):
    def __init__(self, url: str) -> None:
        super().__init__(410, url)


class Deferred(FetchError):
    """Not a failure: the server asked us to come back later (or we are still inside its window)."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class TransportError(FetchError):
    transient = True
