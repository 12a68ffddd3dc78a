"""Source adapters: one module per source type, one registry line each.

An adapter has two parts. `collect(source, state, http)` does the fetching through the shared
HttpClient and returns a `Collected`; the parsing it calls is pure: `parse(body, source) ->
list[Item]` never touches the network and raises only ParseError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from paperfeed.config import SourceConfig
from paperfeed.errors import SourceError
from paperfeed.records import Collected, FetchResponse, Item, SourceState

if TYPE_CHECKING:
    from paperfeed.http import HttpClient


class Adapter(Protocol):
    def __call__(self, source: SourceConfig, state: SourceState, http: HttpClient) -> Collected: ...


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
    url = state.moved_to or source.url
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


def adapter_for(source_type: str) -> Adapter:
    # Imported here so loading the config does not import every parser.
    from paperfeed.sources import arxiv, feed, html

    registry: dict[str, Adapter] = {
        "arxiv": arxiv.collect,
        "feed": feed.collect,
        "html": html.collect,
    }
    return registry[source_type]
