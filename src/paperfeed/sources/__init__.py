"""Source types: one module per type, each declaring a `SourceType`, one registry line each.

A source type is one file. Its module declares `SOURCE_TYPE = SourceType(...)`: the `type:` name
in sources.yaml, the options it accepts and how they are validated (config reads them through
the declaration, so every error is `sources.yaml:LINE: KEY: problem`), how it collects, the host
its requests go to and the label `paperfeed sources` shows. `collect(source, state, http)`
fetches through the shared HttpClient and returns a `Collected`; the parsing it calls is pure:
`parse(body, source) -> list[Item]` never touches the network and raises only ParseError.

The type modules import their parsers (feedparser, lxml, bs4) inside the functions that parse,
so reading sources.yaml, which needs every declaration, stays light.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from paperfeed.config import SourceConfig
from paperfeed.errors import SourceError
from paperfeed.records import Collected, FetchResponse, Item, SourceState

if TYPE_CHECKING:
    from paperfeed.http import HttpClient
    from paperfeed.yamlnodes import NodeMap

BUILTIN_TYPES = (  # one line per source type: the module that declares SOURCE_TYPE
    "paperfeed.sources.arxiv",
    "paperfeed.sources.feed",
    "paperfeed.sources.html",
)


class Adapter(Protocol):
    def __call__(self, source: SourceConfig, state: SourceState, http: HttpClient) -> Collected: ...


def url_host(source: SourceConfig, state: SourceState) -> str:
    """The host of the source's URL (or of the URL it moved to for good)."""
    from paperfeed.http import host_of  # httpx: not needed just to read sources.yaml

    return host_of(state.url_for(source.url) or "")


def url_label(source: SourceConfig) -> str | None:
    return source.url


@dataclass(frozen=True, slots=True)
class SourceType:
    """What one `type:` of source is, as its module declares it.

    `options`: the keys an entry of this type may carry besides the common ones (name, type,
    tags, weight, enabled, allow_private). `read(entry)` validates them, raising through
    `entry.reader.error(node, key, problem)`, and returns the SourceConfig fields they set.
    `host(source, state)`: where its requests go (wait windows are kept per host).
    `label(source)`: what `paperfeed sources` shows for it.
    """

    name: str
    options: tuple[str, ...]
    read: Callable[[NodeMap], dict[str, Any]]
    collect: Adapter
    host: Callable[[SourceConfig, SourceState], str] = url_host
    label: Callable[[SourceConfig], str | None] = url_label


_REGISTERED: dict[str, SourceType] = {}


def register(source_type: SourceType) -> SourceType:
    """Make a source type from outside BUILTIN_TYPES known to sources.yaml and the ingest."""
    _REGISTERED[source_type.name] = source_type
    return source_type


@functools.cache
def _builtin_types() -> dict[str, SourceType]:
    declared = (importlib.import_module(module).SOURCE_TYPE for module in BUILTIN_TYPES)
    return {t.name: t for t in declared}


def source_types() -> dict[str, SourceType]:
    """Every known source type by name, the builtin ones first."""
    return {**_builtin_types(), **_REGISTERED}


def source_type(name: str) -> SourceType:
    return source_types()[name]


def collect_page(
    source: SourceConfig,
    state: SourceState,
    http: HttpClient,
    *,
    accept: str,
    parse: Callable[[FetchResponse], list[Item]],
) -> Collected:
    """One conditional GET of the source's URL (or the URL it moved to for good); a 304 is
    returned without parsing. Shared by the feed and html adapters."""
    url = state.url_for(source.url)
    if not url:
        raise SourceError(f"source {source.name} has no url")
    resp = http.fetch(
        url, validators=state.validators, allow_private=source.allow_private, accept=accept
    )
    if resp.not_modified:
        return Collected(items=[], not_modified=True, requests=1)
    return Collected(
        items=parse(resp),
        validators=resp.validators,
        moved_to=resp.moved_to,
        requests=1,
        bytes_read=len(resp.body),
    )
