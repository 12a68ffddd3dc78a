"""`show`: one stored item in full, as a JSON-ready dict. Reads through the store's repositories
and the search indexes it is given; no I/O of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paperfeed.config import Config
    from paperfeed.search.files import Indexes
    from paperfeed.store import Store

SIMILAR = 5  # neighbours shown


def item_view(
    store: Store, indexes: Indexes, item_id: int, config: Config | None
) -> dict[str, Any]:
    from paperfeed.search.hybrid import Context, similar

    item = store.items.get(item_id)
    if item is None:
        raise LookupError(item_id)  # resolve() found it in the same read
    mark = store.reading.get(item_id)
    sources = config.sources_of(item.sources, item.categories) if config else item.sources
    tags = sorted(config.tags_of(sources, item.categories)) if config else list(item.categories)
    embedded = indexes.vectors.vector(item_id) is not None  # not before `paperfeed embed`
    context = Context.of(config, store)
    near = similar(store, indexes, item_id, SIMILAR, context=context) if embedded else []
    return {
        "id": item.id,
        "arxiv_id": item.arxiv_id,
        "title": item.title,
        "url": item.url,
        "authors": list(item.authors),
        "categories": list(item.categories),
        "sources": list(sources),
        "tags": tags,
        "links": list(item.links),
        "published": item.published_at,
        "first_seen": item.first_seen_at,
        "summary": item.summary,
        "marks": {
            "read_at": mark.read_at if mark else None,
            "saved_at": mark.saved_at if mark else None,
            "rating": mark.rating if mark else None,
        },
        "digests": store.digests.placements(item_id),
        "similar": [h.as_json() for h in near],
    }
