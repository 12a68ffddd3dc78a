"""`Room`: the library object (`paperfeed.Paperfeed`) as a long-running server needs it.

Every page calls Paperfeed's verbs; a Room only changes how it holds things between requests:
- pages share one read-only store handle, let go when idle or held 5 s (`web.reader`: a held
  handle keeps `ingest` from writing); a write releases it first (DuckDB refuses a read-only and
  a writable handle on one file in one process), and calls are serialised by one lock;
- the indexes are kept, and checked against DuckDB again only when the database file changed;
  This week's digest (a dry run) is kept until the database changes;
- a mark never waits for the file: when another process holds it, the mark is queued by the
  library (RELIABILITY D3) and `flush_pending` applies the queue once the file is free.
"""

from __future__ import annotations

import dataclasses
import threading
import time as _time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from paperfeed.config import Config
from paperfeed.digest.progress import week_of
from paperfeed.errors import NotFound, PaperfeedError, StoreBusy
from paperfeed.library import Paperfeed
from paperfeed.records import MarkAction
from paperfeed.settings import Settings
from paperfeed.web.pages import (
    AreaFit,
    MarkOutcome,
    PaperPage,
    Progress,
    WeekPage,
    iso_week_window,
)
from paperfeed.web.reader import SharedReader

if TYPE_CHECKING:
    from paperfeed.digest.model import Digest
    from paperfeed.marks import MarkOutcome as LibraryMarkOutcome
    from paperfeed.search.files import Indexes
    from paperfeed.search.hybrid import Filters, Hit
    from paperfeed.store import Store
    from paperfeed.store.items import StoredItem
    from paperfeed.store.reading import Mark

READ_WAIT = 2.0  # seconds a page waits for another process's write before saying "busy"
MARK_WAIT = 0.0  # a mark does not wait: it is queued (never lost) and applied within seconds
BUSY_BACKOFF = 0.5  # after finding the file busy, marks go straight to the queue this long
SIMILAR = 10
PROGRESS_WEEKS = 12
WEEK_REUSE = timedelta(minutes=10)  # a last-7-days digest shown again while nothing changed


class Room(Paperfeed):
    def __init__(
        self,
        settings: Settings,
        config: Config | None = None,
        *,
        query_encoder: Callable[[str], np.ndarray] | None = None,
    ) -> None:
        # marks go through the library with no wait: busy means queued at once
        super().__init__(
            dataclasses.replace(settings, lock_wait=MARK_WAIT), config, query_encoder=query_encoder
        )
        self._lock = threading.RLock()
        self._reader = SharedReader(settings.db_path)
        self._stamp_seen: tuple[int, ...] = ()
        self._indexes: Indexes | None = None
        self._digests: dict[str | None, tuple[tuple[int, ...], datetime, Digest]] = {}
        self._area_vectors: np.ndarray | None = None
        self._weeks_seen: tuple[tuple[tuple[int, ...], int], list[tuple[str, int]]] | None = None
        self._busy_until = 0.0  # time.monotonic() before which the file is taken to be busy

    # ------------------------------------------------------------ holding things

    @contextmanager
    def store(self, *, read_only: bool = False, wait: float | None = None) -> Iterator[Store]:
        waited = READ_WAIT if wait is None else wait
        with self._lock:
            if read_only:
                with self._reader.use(waited) as store:
                    yield store
                return
            self._reader.release()
            with super().store(wait=waited) as store:
                yield store

    def indexes(self, store: Store, *, rebuild: bool = False) -> Indexes:
        stamp = self.stamp()
        if rebuild or self._indexes is None or stamp != self._stamp_seen:
            self._indexes = super().indexes(store, rebuild=rebuild)
            self._stamp_seen = stamp
        return self._indexes

    def weeks(self, limit: int = 12) -> list[tuple[str, int]]:
        """The picker's weeks, counted again only when the database file changed."""
        key = (self.stamp(), limit)
        if self._weeks_seen is None or self._weeks_seen[0] != key:
            self._weeks_seen = (key, self.browse.weeks(limit))
        return list(self._weeks_seen[1])

    def stamp(self) -> tuple[int, ...]:
        """Changes whenever DuckDB writes the file (or its WAL)."""
        parts: list[int] = []
        db = self.settings.db_path
        for path in (db, db.with_name(db.name + ".wal")):
            try:
                info = path.stat()
                parts += [info.st_mtime_ns, info.st_size]
            except FileNotFoundError:
                parts += [0, 0]
        return tuple(parts)

    def warm(self) -> None:
        """Load the encoder and the indexes now, so the first page is as fast as the rest."""
        _ = self.query_encoder
        with self.store(read_only=True) as store:
            self.indexes(store)

    def tidy(self) -> None:
        """Let go of the shared read-only handle once idle (the server calls this often)."""
        with self._lock:
            self._reader.close_if_idle()

    def close(self) -> None:
        with self._lock:
            self._reader.release()

    # ------------------------------------------------------------ marks

    def mark(
        self, refs: Sequence[str], action: MarkAction | str, *, queue: bool = False
    ) -> LibraryMarkOutcome:
        with self._lock:
            if queue or _time.monotonic() < self._busy_until:  # a burst: skip the failing open
                return super().mark(refs, action, queue=True)
            self._reader.release()
            outcome = super().mark(refs, action)
            if outcome.queued:
                self._busy_until = _time.monotonic() + BUSY_BACKOFF
            return outcome

    def mark_item(self, item_id: int, action: str) -> MarkOutcome:
        """Mark one item; its marks afterwards, or None when the mark was queued."""
        outcome = self.mark([str(item_id)], action)
        if outcome.queued:
            return MarkOutcome(item_id, None, queued=True)
        with self.store(read_only=True) as store:
            return MarkOutcome(item_id, store.reading.get(item_id), queued=False)

    def flush_pending(self) -> bool:
        """Apply the marks queued while the database was busy, if it is free now (any
        writable open through the library applies them). False: still busy, try later."""
        if not self.settings.pending_marks.exists():
            return True
        with self._lock:
            try:
                with self.store(wait=0):
                    return True
            except StoreBusy:
                return False

    # ------------------------------------------------------------ pages

    def week(self, period: str | None = None, now: datetime | None = None) -> WeekPage:
        """The digest of an ISO week, or of the last 7 days: a dry run, nothing recorded.
        Built again whenever the database changed (items, vectors or marks: marks move the
        ranking); a last-7-days one is reused for up to WEEK_REUSE while nothing changed."""
        now = now or datetime.now(UTC)
        stamp = self.stamp()
        cached = self._digests.get(period)
        if cached and cached[0] == stamp and (period or now - cached[1] < WEEK_REUSE):
            digest = cached[2]
        else:
            digest = self._digest(period, now)
            self._digests[period] = (stamp, now, digest)
        return WeekPage(digest, self.browse.marks(), self.weeks(PROGRESS_WEEKS), period)

    def _digest(self, period: str | None, now: datetime) -> Digest:
        from paperfeed.digest.model import DigestOptions

        start, end = iso_week_window(period) if period else (now - timedelta(days=7), now)
        built = self.digest(DigestOptions(start, end), dry_run=True).digest
        if built is None:  # only a writing run finishes an interrupted one instead of building
            raise PaperfeedError("the digest could not be built")
        return built

    def search_page(
        self, query: str, filters: Filters, area: str | None = None, k: int = 10
    ) -> tuple[list[Hit], dict[int, StoredItem], dict[int, Mark]]:
        """`search` with its filters, plus the focus area of `list --area`."""
        hits = self.search(query, k * 5 if area else k, filters)
        items = {i.id: i for i in self.browse.items([h.id for h in hits])}
        if area:
            areas = self.browse.item_areas(list(items.values()))
            hits = [h for h in hits if areas.get(h.id) == area][:k]
        return hits, items, self.browse.marks()

    def paper(self, item_id: int) -> PaperPage:
        found = self.browse.items([item_id])
        if not found:
            raise NotFound(f"no item {item_id}")
        item = found[0]
        with self.store(read_only=True) as store:
            indexes = self.indexes(store)
        vector = indexes.vectors.vector(item_id)
        near = self.similar(item_id, SIMILAR) if vector is not None else []
        near_items = {i.id: i for i in self.browse.items([h.id for h in near])}
        linked = self.browse.posts_about(item.arxiv_id) if item.arxiv_id else []
        close = _close_posts(indexes, vector, list(near_items.values()))
        posts = list({p.id: p for p in linked + close}.values())
        pairs = [(h, near_items[h.id]) for h in near if h.id in near_items]
        marks = self.browse.marks()
        return PaperPage(
            item, marks.get(item_id), pairs, marks, posts, self._area_fits(item, vector)
        )

    def _area_fits(self, item: StoredItem, vector: np.ndarray | None) -> list[AreaFit]:
        """Each focus area's cosine and keywords for the item; `best` as the digest assigns."""
        from paperfeed.digest import rank
        from paperfeed.digest.build import rank_areas

        areas = self.config.focus_areas if self.has_config else ()
        if not areas or vector is None:
            return []
        matrix = self._focus_vectors()
        row = np.asarray(vector, np.float32).reshape(1, -1)
        hits = [rank.matched_keywords(item.title, item.summary, a.keywords) for a in areas]
        as_ranked = rank_areas(areas, matrix)
        best = int(rank.attribute(row, as_ranked, np.array([[len(h) for h in hits]]))[0])
        sims = (matrix @ row.ravel()).tolist()
        return [
            AreaFit(a.name, float(sims[i]), tuple(hits[i]), i == best) for i, a in enumerate(areas)
        ]

    def _focus_vectors(self) -> np.ndarray:
        from paperfeed.digest.gather import encode_areas

        with self._lock:
            if self._area_vectors is None:
                self._area_vectors = encode_areas(self.query_encoder, self.config.focus_areas)
            return self._area_vectors

    def reading(
        self,
    ) -> tuple[list[StoredItem], list[tuple[str, list[StoredItem]]], dict[int, Mark]]:
        """Saved items (newest save first) and read items by ISO week (newest first)."""
        saved, read = self.browse.reading_history()
        by_week: dict[str, list[StoredItem]] = {}
        for item, when in read:
            by_week.setdefault(week_of(when), []).append(item)
        return saved, list(by_week.items()), self.browse.marks()

    def progress(self, now: datetime | None = None) -> Progress:
        """Items read per area and ISO week over the last PROGRESS_WEEKS weeks, from `stats`."""
        now = now or datetime.now(UTC)
        weeks = [week_of(now - timedelta(weeks=n)) for n in range(PROGRESS_WEEKS - 1, -1, -1)]
        stats = self.stats()
        areas = self.config.focus_areas if self.has_config else ()
        goals = {a.name: a.weekly_goal for a in areas}
        counts = {name: [0] * len(weeks) for name in goals}
        for row in stats["progress"]:
            if row["area"] in counts and row["week"] in weeks:
                counts[row["area"]][weeks.index(row["week"])] = int(row["read"])
        return Progress(weeks, counts, goals, stats["digests"])


def _close_posts(
    indexes: Indexes, vector: np.ndarray | None, near: Sequence[StoredItem]
) -> list[StoredItem]:
    """Similar posts close enough to count as explaining the paper (as in the digest)."""
    from paperfeed.digest.build import EXPLAINED_SIMILARITY

    if vector is None:
        return []
    close = []
    for item in near:
        other = indexes.vectors.vector(item.id)
        if item.kind == "paper" or other is None:
            continue
        if float(np.dot(other, vector)) >= EXPLAINED_SIMILARITY:
            close.append(item)
    return close
