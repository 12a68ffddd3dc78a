"""Queries for browsing the store (the reading room): weeks with items, posts naming a paper.

I/O rule: SQL with parameter binding, reads only; items come back as `StoredItem`.
"""

from __future__ import annotations

import duckdb

from paperfeed.keys import parse_arxiv_id
from paperfeed.store.items import ItemRepo, StoredItem

_WEEKS = """
    SELECT strftime(coalesce(published_at, first_seen_at) AT TIME ZONE 'UTC', '%G-W%V') AS week,
           count(*)
    FROM items
    GROUP BY week
    ORDER BY week DESC
    LIMIT $1
"""

_POSTS_NAMING = """
    SELECT id FROM items
    WHERE kind <> 'paper' AND len(list_filter(links, lambda x: contains(x, $1))) > 0
    ORDER BY coalesce(published_at, first_seen_at) DESC, id
"""


class BrowseRepo:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def weeks(self, limit: int) -> list[tuple[str, int]]:
        """(ISO week, items published in it) for the newest `limit` weeks that have items."""
        rows = self.conn.execute(_WEEKS, [limit]).fetchall()
        return [(str(week), int(n)) for week, n in rows]

    def posts_naming(self, arxiv_id: str) -> list[StoredItem]:
        """Posts (blogs, newsletters) whose links point at this arXiv paper, newest first."""
        ids = [int(r[0]) for r in self.conn.execute(_POSTS_NAMING, [arxiv_id]).fetchall()]
        posts = ItemRepo(self.conn).get_many(ids)
        return [p for p in posts if any(_names(url, arxiv_id) for url in p.links)]


def _names(url: str, arxiv_id: str) -> bool:
    parsed = parse_arxiv_id(url)
    return parsed is not None and parsed[0] == arxiv_id
