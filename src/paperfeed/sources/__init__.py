"""Source adapters: one module per source type, one registry line each.

An adapter has two parts. `collect(source, state, http)` does the fetching through the shared
HttpClient and returns a `Collected`; the parsing it calls is pure: `parse(body, source) ->
list[Item]` never touches the network and raises only ParseError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from paperfeed.config import SourceConfig
from paperfeed.models import Collected, SourceState

if TYPE_CHECKING:
    from paperfeed.http import HttpClient


class Adapter(Protocol):
    def __call__(self, source: SourceConfig, state: SourceState, http: HttpClient) -> Collected: ...


def adapter_for(source_type: str) -> Adapter:
    # Imported here so loading the config does not import every parser.
    from paperfeed.sources import arxiv, feed, html

    registry: dict[str, Adapter] = {
        "arxiv": arxiv.collect,
        "feed": feed.collect,
        "html": html.collect,
    }
    return registry[source_type]
