"""The reading room's one door into the library: every page and every mark goes through `Room`.

I/O rule: no SQL and no file paths here. Pages share a read-only `paperfeed.store.Store` that is
let go when idle or held long (`web.reader`: a held handle keeps `ingest` from writing); marks
open a writable one briefly. Calls are serialised in this process (DuckDB refuses a read-only
and a writable handle on one file in one process). A mark that finds the database busy is
queued with the library's queue (RELIABILITY D3) and applied at the next writable open, by this
server or by any other paperfeed command.
The query encoder and the indexes are loaded once and kept; the indexes are checked against
DuckDB again whenever the database file changed.
"""

from __future__ import annotations

import functools
import threading
import time as _time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from paperfeed.config import DEFAULT_MODEL, Config, load_config
from paperfeed.digest import rank
from paperfeed.errors import NotFound, PaperfeedError, StoreBusy
from paperfeed.marks import MarkEvent, apply_pending_marks, queue_marks, record_marks
from paperfeed.settings import Settings
from paperfeed.store import Store
from paperfeed.store.reading import Mark
from paperfeed.web.pages import (
    AreaFit,
    MarkOutcome,
    PaperPage,
    Progress,
    WeekPage,
    iso_week,
    iso_week_window,
)
from paperfeed.web.reader import SharedReader

if TYPE_CHECKING:
    from paperfeed.digest.build import Digest
    from paperfeed.search.files import Indexes
    from paperfeed.search.hybrid import Filters, Hit
    from paperfeed.store.items import StoredItem

READ_WAIT = 2.0  # seconds a page waits for another process's write before saying "busy"
MARK_WAIT = 0.0  # a mark does not wait: it is queued (never lost) and applied within seconds
BUSY_BACKOFF = 0.5  # after finding the file busy, marks go straight to the queue this long
SIMILAR = 10
PROGRESS_WEEKS = 12
WEEK_REUSE = timedelta(minutes=10)  # a last-7-days digest shown again while nothing changed


@dataclass
class _Cache:
    stamp: tuple[int, ...] = ()
    indexes: Indexes | None = None
    encoder: Callable[[str], np.ndarray] | None = None
    area_encoder: Callable[[str], np.ndarray] | None = None
    area_vectors: np.ndarray | None = None
    extras: dict[Any, Any] = field(default_factory=dict)


class Room:
    def __init__(
        self,
        settings: Settings,
        config: Config | None = None,
        encoder: Callable[[str], np.ndarray] | None = None,
    ) -> None:
        self.settings = settings
        self.config = config if config is not None else _load(settings)
        self._lock = threading.RLock()
        self._cache = _Cache(encoder=encoder)
        self._busy_until = 0.0  # time.monotonic() before which the file is taken to be busy
        self._reader = SharedReader(settings.db_path)

    @property
    def model(self) -> str:
        return self.config.model

    # ------------------------------------------------------------ plumbing

    @contextmanager
    def _store(self, *, write: bool = False, wait: float = READ_WAIT) -> Iterator[Store]:
        with self._lock:
            if not write:
                with self._reader.use(wait) as store:
                    yield store
                return
            self._reader.release()  # one process may not hold a read-only and a writable handle
            with Store.open(self.settings.db_path, wait=wait) as store:
                yield store

    def tidy(self) -> None:
        """Let go of the shared read-only handle once idle (the server calls this often)."""
        with self._lock:
            self._reader.close_if_idle()

    def close(self) -> None:
        with self._lock:
            self._reader.release()

    def _stamp(self) -> tuple[int, ...]:
        """Changes whenever DuckDB writes the file (or its WAL)."""
        parts: list[int] = []
        for path in (
            self.settings.db_path,
            self.settings.db_path.with_name("paperfeed.duckdb.wal"),
        ):
            try:
                info = path.stat()
                parts += [info.st_mtime_ns, info.st_size]
            except FileNotFoundError:
                parts += [0, 0]
        return tuple(parts)

    def encoder(self) -> Callable[[str], np.ndarray]:
        with self._lock:
            if self._cache.encoder is None:
                from paperfeed.embed.embedder import load_query_encoder

                self._cache.encoder = load_query_encoder(self.model)
            return self._cache.encoder

    def _indexes(self, store: Store) -> Indexes:
        stamp = self._stamp()
        if self._cache.indexes is None or stamp != self._cache.stamp:
            from paperfeed.search.files import load_or_rebuild

            self._cache.indexes = load_or_rebuild(store, self.settings.index_dir, self.model)
            self._cache.stamp = stamp
            self._cache.extras.clear()
        if not len(self._cache.indexes.vectors):
            raise PaperfeedError(f"no embedded items for {self.model}: run `paperfeed embed`")
        return self._cache.indexes

    def warm(self) -> None:
        """Load the encoder and the indexes now, so the first page is as fast as the rest."""
        self.encoder()
        with self._store() as store:
            self._indexes(store)

    def _tags_of(self, source: str) -> tuple[str, ...]:
        found = self.config.source(source)
        return tuple(found.tags) if found else ()

    # ------------------------------------------------------------ pages

    def week(self, period: str | None = None, now: datetime | None = None) -> WeekPage:
        """The digest of a week (dry run: nothing recorded), or of the last 7 days.

        Built again whenever the database changed (items, vectors or marks: marks move the
        ranking); until then the last one is shown, for up to WEEK_REUSE when the window
        slides with the clock."""
        now = now or datetime.now(UTC)
        with self._store() as store:
            digest = self._digest(store, period, now)
            marks = store.reading.all()
            weeks = self._weeks(store)
        return WeekPage(digest, marks, weeks, period)

    def _digest(self, store: Store, period: str | None, now: datetime) -> Digest:
        from paperfeed.digest.run import DigestOptions, run_digest

        stamp, key = self._stamp(), ("week", period)
        cached = self._cache.extras.get(key)
        if cached and cached[0] == stamp and (period or now - cached[1] < WEEK_REUSE):
            return cast("Digest", cached[2])
        start, end = iso_week_window(period) if period else (now - timedelta(days=7), now)
        folder = self.config.digest_dir or self.settings.default_digest_dir
        options = DigestOptions(start, end)
        encode = self.area_encoder()
        digest = run_digest(store, self.config, encode, options, folder=folder, dry_run=True).digest
        self._cache.extras[key] = (stamp, now, digest)
        return digest

    def area_encoder(self) -> Callable[[str], np.ndarray]:
        """The encoder, remembering its answers: the digest encodes the same few focus-area
        descriptions on every request (search queries use `encoder`, never remembered)."""
        with self._lock:
            if self._cache.area_encoder is None:
                self._cache.area_encoder = functools.lru_cache(maxsize=64)(self.encoder())
            return self._cache.area_encoder

    def _weeks(self, store: Store) -> list[tuple[str, int]]:
        """The picker's weeks; recounted only when the database file changed."""
        stamp = self._stamp()
        cached = self._cache.extras.get("weeks")
        if cached is None or cached[0] != stamp:
            cached = (stamp, store.browse.weeks(PROGRESS_WEEKS))
            self._cache.extras["weeks"] = cached
        return list(cached[1])

    def search(
        self, query: str, filters: Filters, area: str | None = None, k: int = 20
    ) -> tuple[list[Hit], dict[int, StoredItem], dict[int, Mark]]:
        """`paperfeed search` with its filters, and the focus area of `list --area`."""
        from paperfeed.cli.reading_cmds import item_areas_light
        from paperfeed.search.hybrid import search

        encode = self.encoder()
        with self._store() as store:
            indexes = self._indexes(store)
            hits = search(
                store, indexes, encode, query, k * 5 if area else k, filters, self._tags_of
            )
            items = {i.id: i for i in store.items.get_many([h.id for h in hits])}
            if area:
                areas = item_areas_light(store, list(items.values()), self._keyword_areas())
                hits = [h for h in hits if areas.get(h.id) == area][:k]
            marks = store.reading.all()
        return hits, items, marks

    def _keyword_areas(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(a.name, tuple(a.keywords)) for a in self.config.focus_areas]

    def paper(self, item_id: int) -> PaperPage:
        from paperfeed.search.hybrid import similar

        with self._store() as store:
            item = store.items.get(item_id)
            if item is None:
                raise NotFound(f"no item {item_id}")
            indexes = self._indexes(store)
            vector = indexes.vectors.vector(item_id)
            near = similar(store, indexes, item_id, SIMILAR) if vector is not None else []
            found = {i.id: i for i in store.items.get_many([h.id for h in near])}
            marks = store.reading.all()
            linked = store.browse.posts_naming(item.arxiv_id) if item.arxiv_id else []
            close = self._close_posts(indexes, vector, list(found.values()))
        posts = list({p.id: p for p in linked + close}.values())
        pairs = [(h, found[h.id]) for h in near if h.id in found]
        return PaperPage(
            item, marks.get(item_id), pairs, marks, posts, self._area_fits(item, vector)
        )

    @staticmethod
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

    def _area_fits(self, item: StoredItem, vector: np.ndarray | None) -> list[AreaFit]:
        """Each focus area's cosine and keywords for the item; `best` as the digest assigns."""
        areas = self.config.focus_areas
        if not areas or vector is None:
            return []
        matrix = self._area_vectors()
        row = np.asarray(vector, np.float32).reshape(1, -1)
        hits = [rank.matched_keywords(item.title, item.summary, a.keywords) for a in areas]
        rank_areas = [
            rank.Area(a.name, matrix[i], tuple(a.keywords), a.weight, a.description)
            for i, a in enumerate(areas)
        ]
        best = int(rank.attribute(row, rank_areas, np.array([[len(h) for h in hits]]))[0])
        sims = (matrix @ row.ravel()).tolist()
        return [
            AreaFit(a.name, float(sims[i]), tuple(hits[i]), i == best) for i, a in enumerate(areas)
        ]

    def _area_vectors(self) -> np.ndarray:
        with self._lock:
            if self._cache.area_vectors is None:
                from paperfeed.digest.run import encode_areas

                self._cache.area_vectors = encode_areas(
                    self.area_encoder(), self.config.focus_areas
                )
            return self._cache.area_vectors

    def reading(
        self,
    ) -> tuple[list[StoredItem], list[tuple[str, list[StoredItem]]], dict[int, Mark]]:
        """Saved items (newest save first) and read items grouped by ISO week (newest first)."""
        with self._store() as store:
            marks = store.reading.all()
            saved = _newest_first({i: m.saved_at for i, m in marks.items()})
            read = _newest_first({i: m.read_at for i, m in marks.items()})
            items = {i.id: i for i in store.items.get_many([i for i, _ in saved + read])}
        by_week: dict[str, list[StoredItem]] = {}
        for item_id, when in read:
            if item_id in items:
                by_week.setdefault(iso_week(when), []).append(items[item_id])
        return [items[i] for i, _ in saved if i in items], list(by_week.items()), marks

    def progress(self, now: datetime | None = None) -> Progress:
        """Items read per area and ISO week over the last PROGRESS_WEEKS weeks (as `stats`)."""
        from paperfeed.cli.reading_cmds import item_areas_light, weekly_progress

        now = now or datetime.now(UTC)
        weeks = [iso_week(now - timedelta(weeks=n)) for n in range(PROGRESS_WEEKS - 1, -1, -1)]
        keyword_areas = self._keyword_areas()
        with self._store() as store:
            read = {i: m.read_at for i, m in store.reading.all().items() if m.read_at}
            items = store.items.get_many(list(read))
            areas = item_areas_light(store, items, keyword_areas)
            history = store.digests.history()
        goals = {a.name: a.weekly_goal for a in self.config.focus_areas}
        rows = weekly_progress([(read[i.id], areas.get(i.id)) for i in items], goals)
        counts = {name: [0] * len(weeks) for name in goals}
        for row in rows:
            if row["area"] in counts and row["week"] in weeks:
                counts[row["area"]][weeks.index(row["week"])] = row["read"]
        return Progress(weeks, counts, goals, history)

    def sources(self) -> list[dict[str, Any]]:
        """`paperfeed sources --json` rows, each with the status word the CLI prints."""
        from paperfeed.cli.sources_cmds import source_rows, status_label

        with self._store() as store:
            rows = source_rows(self.config, store.sources.all(), store.items.count_by_source())
        return [{**row, "status": status_label(row)} for row in rows]

    # ------------------------------------------------------------ changes

    def mark(self, item_id: int, action: str) -> MarkOutcome:
        """Apply a mark now, or queue it when another process holds the database."""
        event = MarkEvent(str(item_id), action, datetime.now(UTC), item_id)
        try:
            if _time.monotonic() < self._busy_until:
                raise StoreBusy(self.settings.db_path)  # a burst of marks: skip the failing open
            with self._store(write=True, wait=MARK_WAIT) as store:
                apply_pending_marks(store, self.settings)
                if store.items.get(item_id) is None:
                    raise NotFound(f"no item {item_id}")
                record_marks(store, self.settings, [event])
                return MarkOutcome(item_id, store.reading.all().get(item_id), queued=False)
        except StoreBusy:
            with self._lock:
                self._busy_until = _time.monotonic() + BUSY_BACKOFF
                queue_marks(self.settings, [event])
            return MarkOutcome(item_id, None, queued=True)

    def flush_pending(self) -> int:
        """Apply marks queued while the database was busy, if it is free now. Returns how many."""
        if not self.settings.pending_marks.exists():
            return 0
        try:
            with self._store(write=True, wait=MARK_WAIT) as store:
                return apply_pending_marks(store, self.settings)
        except StoreBusy:
            return 0

    def enable_source(self, name: str) -> None:
        if self.config.source(name) is None:
            raise NotFound(f"no source {name!r} in {self.config.path}")
        with self._store(write=True) as store:
            store.sources.enable(name)


def _newest_first(times: dict[int, datetime | None]) -> list[tuple[int, datetime]]:
    dated = [(i, t) for i, t in times.items() if t is not None]
    return sorted(dated, key=lambda pair: pair[1], reverse=True)


def _load(settings: Settings) -> Config:
    if settings.config_path.exists():
        return load_config(settings.config_path)
    return Config(path=settings.config_path, sources=(), model=DEFAULT_MODEL)
