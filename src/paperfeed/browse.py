"""`Browse`: the read-only views of the reading room (`paperfeed web`), reached as `pf.browse`.

Items by id, every item's marks and focus area, the weeks that have items, the posts that link
a paper, the reading history. The CLI and the flows need none of them, so they live beside the
library object rather than in it.

I/O rule: none of its own. Each view opens the library's store read-only for one read (a
`Room` holds that store as its shared reader).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paperfeed.library import Paperfeed
    from paperfeed.store.items import StoredItem
    from paperfeed.store.reading import Mark

Items = list["StoredItem"]
ReadItems = list[tuple["StoredItem", datetime]]
WeekCounts = list[tuple[str, int]]


class Browse:
    def __init__(self, library: Paperfeed) -> None:
        self._library = library

    def items(self, ids: Sequence[int]) -> Items:
        """Stored items in the order given (unknown ids skipped)."""
        with self._library.store(read_only=True) as store:
            return store.items.get_many(ids)

    def marks(self) -> dict[int, Mark]:
        """Every item's read / saved / rating marks, by item id."""
        with self._library.store(read_only=True) as store:
            return store.reading.all()

    def item_areas(self, items: Sequence[StoredItem]) -> dict[int, str]:
        """Each item's focus area as `list --area` sees it (sent under, else by keywords)."""
        from paperfeed.marks import item_areas

        with self._library.store(read_only=True) as store:
            return item_areas(store, items, self._library.keyword_areas())

    def weeks(self, limit: int = 12) -> WeekCounts:
        """(ISO week, items published in it), the newest `limit` weeks that have items."""
        with self._library.store(read_only=True) as store:
            return store.browse.weeks(limit)

    def posts_about(self, arxiv_id: str) -> Items:
        """Posts (blogs, newsletters) whose links point at this arXiv paper."""
        with self._library.store(read_only=True) as store:
            return store.browse.posts_naming(arxiv_id)

    def reading_history(self) -> tuple[Items, ReadItems]:
        """Saved items (newest save first) and read items with when (newest read first)."""
        with self._library.store(read_only=True) as store:
            marks = store.reading.all().values()
            saved = _newest_first({m.item_id: m.saved_at for m in marks})
            read = _newest_first({m.item_id: m.read_at for m in marks})
            items = {i.id: i for i in store.items.get_many([i for i, _ in saved + read])}
        return (
            [items[i] for i, _ in saved if i in items],
            [(items[i], when) for i, when in read if i in items],
        )


def _newest_first(times: dict[int, datetime | None]) -> list[tuple[int, datetime]]:
    dated = [(i, t) for i, t in times.items() if t is not None]
    return sorted(dated, key=lambda pair: pair[1], reverse=True)
