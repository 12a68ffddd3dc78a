"""`Paperfeed`: the one library object that the CLI, the Prefect flows and any web page call.

Built once from `Settings` (and the `Config` of sources.yaml, read on first use), it owns the
store, the query encoder (loaded on first use, then kept) and the search indexes, and offers
the verbs every caller needs: ingest (and, for the flow, source_states and record), refresh,
embed, reindex, import_arxiv, search, similar, digest, mark, list, stats, sources, status,
enable_source, import_opml, restore, recover; and `browse`, the reading room's read-only
views (`paperfeed.browse`). Callers never open the store, load a model or
apply queued marks themselves: every writable open made here applies the marks queued while
another process held the database first.

I/O rule: none of its own. Each verb calls the module that owns its kind of I/O (store, http,
index files, the marks files). The heavy modules are imported inside the verbs, so building the
object and running `similar` stay light (no httpx, torch or the ranker).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paperfeed.browse import Browse
from paperfeed.config import DEFAULT_MODEL, Config, SourceConfig, load_config
from paperfeed.errors import PaperfeedError, UsageError
from paperfeed.progress import SILENT, Progress
from paperfeed.settings import Settings

if TYPE_CHECKING:
    import numpy as np

    from paperfeed.digest.model import DigestOptions
    from paperfeed.digest.run import DigestRun
    from paperfeed.digest.sync import SyncResult
    from paperfeed.embed.embedder import Embedder, EmbedReport
    from paperfeed.examples import ExamplesReport
    from paperfeed.http import HttpClient
    from paperfeed.ingest.bulk import ImportReport
    from paperfeed.ingest.collect import RetryPolicy
    from paperfeed.ingest.record import IngestReport, SourceResult
    from paperfeed.marks import MarkOutcome
    from paperfeed.opml import AddReport
    from paperfeed.records import MarkAction, SourceState
    from paperfeed.recovery import Recovery, Restored
    from paperfeed.search.files import Indexes
    from paperfeed.search.hybrid import Filters, Hit
    from paperfeed.store import Store
    from paperfeed.store.digests import DigestSummary

QueryEncoder = Callable[[str], "np.ndarray"]
Rows = list[dict[str, Any]]  # JSON-ready rows, as `--json` prints them
KeywordAreas = list[tuple[str, tuple[str, ...]]]  # (focus area, its keywords)


class Paperfeed:
    """The learner's paperfeed home: `Paperfeed(Settings.resolve())`, or `Paperfeed.resolve()`.

    `query_encoder` and `embedder` may be given (tests pass fakes); otherwise the configured
    model is loaded on first use.
    """

    def __init__(
        self,
        settings: Settings,
        config: Config | None = None,
        *,
        query_encoder: QueryEncoder | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings
        self._config = config
        self._query_encoder = query_encoder
        self._embedder = embedder
        self.browse = Browse(self)  # the reading room's read-only views

    @classmethod
    def resolve(cls, home: str | Path | None = None, config: str | Path | None = None) -> Paperfeed:
        """From flags or $PAPERFEED_HOME / $PAPERFEED_CONFIG, as the CLI resolves them."""
        return cls(Settings.resolve(home, config))

    # ------------------------------------------------------------ what it owns

    @property
    def config(self) -> Config:
        """sources.yaml, read (and validated) on first use; raises ConfigError."""
        if self._config is None:
            self._config = load_config(self.settings.config_path)
        return self._config

    @property
    def has_config(self) -> bool:
        return self._config is not None or self.settings.config_path.is_file()

    @property
    def model(self) -> str:
        """The configured model; the default when there is no sources.yaml (search and
        embedding need no sources). An invalid sources.yaml still raises its ConfigError."""
        return self.config.model if self.has_config else DEFAULT_MODEL

    @property
    def query_encoder(self) -> QueryEncoder:
        """The light encoder for queries and focus areas, loaded once."""
        if self._query_encoder is None:
            from paperfeed.embed.embedder import load_query_encoder

            self._query_encoder = load_query_encoder(self.model)
        return self._query_encoder

    @contextmanager
    def store(self, *, read_only: bool = False, wait: float | None = None) -> Iterator[Store]:
        """The DuckDB store, open for one verb. A writable open applies queued marks first."""
        from paperfeed.store import Store

        waited = self.settings.lock_wait if wait is None else wait
        with Store.open(self.settings.db_path, read_only=read_only, wait=waited) as store:
            if not read_only:
                from paperfeed.marks import apply_pending_marks

                apply_pending_marks(store, self.settings)
            yield store

    def indexes(self, store: Store, *, rebuild: bool = False) -> Indexes:
        """The search indexes for the model, checked against DuckDB (rebuilt when they differ)."""
        from paperfeed.search.files import load_or_rebuild

        return load_or_rebuild(store, self.settings.index_dir, self.model, rebuild=rebuild)

    # ------------------------------------------------------------ ingest and embed

    def ingest(
        self,
        only: Sequence[str] = (),
        *,
        embed: bool = True,
        progress: Progress = SILENT,
        http: HttpClient | None = None,
        retry: RetryPolicy | None = None,
    ) -> IngestReport:
        """Fetch every enabled source (or `only` these), store what is new, then (unless
        `embed` is off) embed it and refresh the indexes. A failing source is recorded in the
        report, never raised."""
        from paperfeed.ingest.collect import RetryPolicy, ingest

        self.settings.ensure_home()
        report = ingest(
            self.settings,
            self.config,
            only=only,
            http=http,
            retry=retry or RetryPolicy(),
            progress=progress,
        )
        if not embed:
            return report
        return report.with_embedded(self.refresh(progress=progress))

    # ------------------------------------------------------------ backups and recovery

    def restore(self, backup: Path | None = None) -> Restored:
        """Put `backup` (default: the newest) in place of the database, then replay every mark
        of read_marks.jsonl; the replaced file is kept aside."""
        from paperfeed.recovery import restore_backup

        return restore_backup(self.settings, backup)

    def recover(self, *, fetch: bool = True, http: HttpClient | None = None) -> Recovery:
        """A lost or damaged database rebuilt: the newest backup (or empty), every mark
        replayed, every source fetched again (then embed with `refresh`)."""
        from paperfeed.recovery import recover

        self.settings.ensure_home()
        return recover(self.settings, self.config, http=http, fetch=fetch)

    def source_states(
        self, sources: Sequence[SourceConfig]
    ) -> tuple[dict[str, SourceState], dict[str, datetime | None]]:
        """Each source's stored state and its host's wait window, in one short read (the
        Prefect flow fetches each source as its own task from these)."""
        from paperfeed.ingest.collect import read_states

        self.settings.ensure_home()
        return read_states(self.settings, sources)

    def record(self, results: Sequence[SourceResult], now: datetime) -> IngestReport:
        """Store collected results, one short transaction per source (the flow's one writing
        step); failures are not counted when every source was unreachable (offline)."""
        from paperfeed.ingest.record import IngestReport, looks_offline, store_results

        kept = self.config.backups_kept
        folder = self.settings.digest_dir(self.config)
        summaries = store_results(
            self.settings, results, now, backups_kept=kept, digest_folder=folder
        )
        return IngestReport(summaries, offline=looks_offline(results))

    def refresh(self, *, progress: Progress = SILENT) -> int:
        """Embed what has no vector for the model yet, then bring the indexes up to date.
        Returns how many items were embedded (0 loads no model)."""
        from paperfeed.ingest.refresh import refresh_embeddings

        return refresh_embeddings(
            self.settings, self.config, progress=progress, embedder=self._embedder
        )

    def embed(
        self,
        *,
        model: str | None = None,
        batch_size: int = 256,
        progress: Progress = SILENT,
    ) -> EmbedReport:
        """Embed items with no vector for `model` (default: the configured one) or whose text
        changed; the model is loaded only when something is pending."""
        from paperfeed.embed.embedder import embed_pending

        return embed_pending(
            self.settings,
            model or self.model,
            embedder=self._embedder,
            batch_size=batch_size,
            progress=progress,
        )

    def reindex(self, *, approx_threshold: int | None = None) -> Indexes:
        """Rebuild the vector and keyword indexes from DuckDB (no re-encoding)."""
        from paperfeed.search.files import load_or_rebuild

        with self.store(read_only=True) as store:
            return load_or_rebuild(
                store,
                self.settings.index_dir,
                self.model,
                rebuild=True,
                approx_threshold=approx_threshold,
            )

    def import_arxiv(
        self,
        path: Path,
        *,
        batch_size: int | None = None,
        progress: Progress = SILENT,
    ) -> ImportReport:
        """Import arXiv's metadata snapshot (JSON lines, .gz or plain); re-importing adds 0."""
        from paperfeed.ingest.bulk import DEFAULT_BATCH_SIZE, import_arxiv_metadata

        with self.store() as store:
            report = import_arxiv_metadata(
                store, path, batch_size=batch_size or DEFAULT_BATCH_SIZE, progress=progress
            )
            store.checkpoint()
        return report

    # ------------------------------------------------------------ search

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """The k best items for a free-text query (dense + BM25, fused); each names a query
        word or is close enough in meaning. Unknown source, tag or area names raise
        UnknownName; an empty query raises UsageError."""
        from paperfeed.search.hybrid import Context, Filters, search

        if not query.strip():
            raise UsageError("the query is empty: give some words to search for")
        # the encoder loads before the database is opened: a reader holding the file keeps an
        # ingest from storing its results
        encode = self.query_encoder
        config = self.config if self.has_config else None
        with self._searchable() as (store, indexes):
            checked = self._checked(filters or Filters(), store)
            context = Context.of(config, store)
            return search(store, indexes, encode, query.strip(), k, checked, context)

    def similar(self, ref: str | int, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """'More like this' for a stored item (short id, arXiv id, URL), the item left out."""
        from paperfeed.search.hybrid import Context, Filters, similar

        config = self.config if self.has_config else None
        with self._searchable() as (store, indexes):
            checked = self._checked(filters or Filters(), store)
            context = Context.of(config, store)
            return similar(store, indexes, ref, k, filters=checked, context=context)

    def _checked(self, filters: Filters, store: Store) -> Filters:
        """The filters with every typed name matched to a known one (UnknownName otherwise)."""
        from paperfeed.names import resolve_name

        sources = self.config.sources if self.has_config else ()
        names: dict[str, Any] = {}
        if filters.source:
            known = {*store.items.count_by_source(), *(s.name for s in sources)}
            names["source"] = resolve_name(filters.source, known, "source")
        if filters.tag:
            tags = store.items.categories().union(*(s.tags for s in sources))
            names["tag"] = resolve_name(filters.tag, tags, "tag")
        if filters.area:
            names["area"] = self._check_area(filters.area)
        return dataclasses.replace(filters, **names)

    @contextmanager
    def _searchable(self) -> Iterator[tuple[Store, Indexes]]:
        with self.store(read_only=True) as store:
            indexes = self.indexes(store)
            if not len(indexes.vectors):
                raise PaperfeedError(
                    f"no embedded items for {self.model}: run `paperfeed embed` first"
                )
            yield store, indexes

    # ------------------------------------------------------------ the digest

    def digest(
        self,
        options: DigestOptions | None = None,
        *,
        out: Path | None = None,
        dry_run: bool = False,
    ) -> DigestRun:
        """Rank the window (default: the last 7 days), render, write and record the digest.
        A dry run opens the store read-only and writes and records nothing."""
        from paperfeed.digest.model import DigestOptions
        from paperfeed.digest.run import default_window, run_digest
        from paperfeed.digest.sync import sync_folder

        if options is None:
            options = DigestOptions(*default_window(datetime.now(UTC)))
        config = self.config
        encode = self.query_encoder
        folder = self.settings.digest_dir(config)
        with self.store(read_only=dry_run) as store:
            if not dry_run:  # a dry run opens the store read-only: nothing to sync into
                sync_folder(store, self.settings, folder)
            return run_digest(
                store, config, encode, options, folder=folder, out=out, dry_run=dry_run
            )

    def sync(self, files: Sequence[Path] = ()) -> SyncResult:
        """Ticked boxes of the digests (`files`, default: every digest in the digest folder)
        become read marks; a box unticked after sync saw it ticked becomes unread."""
        from paperfeed.digest.sync import digest_files, sync_digests

        folder = self.settings.digest_dir(self.config)
        with self.store() as store:
            return sync_digests(store, self.settings, list(files) or digest_files(folder))

    def forget(self, period: str, *, delete_file: bool = False) -> list[DigestSummary]:
        """Undo a digest: its items go back to the pool (the file stays unless asked)."""
        from paperfeed.digest.run import forget_digest

        with self.store() as store:
            return forget_digest(store, period, delete_file=delete_file)

    # ------------------------------------------------------------ the reading loop

    def mark(
        self, refs: Sequence[str], action: MarkAction | str, *, queue: bool = False
    ) -> MarkOutcome:
        """Mark items (read, unread, save, unsave, up, down, clear the rating). Queued, never
        lost, when another process holds the database (or, with `queue`, at once: the caller
        just found it busy); applied at the next writable open. NotFound names every unknown
        ref, and then nothing is marked."""
        from paperfeed.marks import mark

        return mark(self.settings, refs, action, datetime.now(UTC), queue=queue)

    def list(
        self,
        *,
        unread: bool = False,
        saved: bool = False,
        area: str | None = None,
        limit: int = 50,
    ) -> Rows:
        """The reading list: items sent in digests (newest first), then other marked items."""
        from paperfeed.marks import reading_list

        if area is not None:
            area = self._check_area(area)
        with self.store(read_only=True) as store:
            rows = reading_list(store, self.keyword_areas())
        return [
            r
            for r in rows
            if (not unread or not r["read"])
            and (not saved or r["saved"])
            and (area is None or r["area"] == area)
        ][:limit]

    def stats(self, week: str | None = None) -> dict[str, Any]:
        """Per past digest how many items were later read or saved, and per ISO week every
        focus area's reads against its goal (as the digest's progress table counts them):
        {"digests": [...], "progress": [...]}."""
        from paperfeed.marks import reading_stats

        areas = self.config.focus_areas if self.has_config else ()
        with self.store(read_only=True) as store:
            return reading_stats(store, areas, week, datetime.now(UTC))

    def _check_area(self, area: str) -> str:
        from paperfeed.names import resolve_name

        names = [a.name for a in self.config.focus_areas] if self.has_config else []
        return resolve_name(area, names, "focus area")

    def keyword_areas(self) -> KeywordAreas:
        """Each focus area's keywords ([] with no sources.yaml)."""
        return self.config.area_keywords() if self.has_config else []

    # ------------------------------------------------------------ sources

    def sources(self) -> Rows:
        """One row per source in sources.yaml with its health (an arXiv source counts every
        stored paper of its categories), then the stored sources sources.yaml does not name."""
        with self.store(read_only=True) as store:
            return self._source_rows(store)

    def _source_rows(self, store: Store) -> Rows:
        from paperfeed.health import source_rows

        config = self.config
        counts = {s.name: store.items.count_under(s.name, s.categories) for s in config.sources}
        return source_rows(config, store.sources.all(), counts, store.items.count_by_source())

    def status(self) -> dict[str, Any]:
        """The library at a glance: items stored and embedded, marks, when sources were last
        fetched, counts of ok / failing / disabled / off sources, those needing attention."""
        from paperfeed.health import status_summary

        with self.store(read_only=True) as store:
            marks = store.reading.all().values()
            summary = {
                "items": store.items.count(),
                "embedded": store.vectors.current_count(self.model),
                "model": self.model,
                "read": sum(m.read_at is not None for m in marks),
                "saved": sum(m.saved_at is not None for m in marks),
            }
            rows = self._source_rows(store)
        return {**summary, **status_summary(rows)}

    def enable_source(self, name: str) -> tuple[str, SourceConfig | None]:
        """Clear a source's disabled flag, failure count and retry window. Returns its name as
        matched (a unique case-insensitive match is enough) and its entry in sources.yaml
        (None when only the store knows it); UnknownName for an unknown one."""
        from paperfeed.names import resolve_name

        config = self.config
        self.settings.ensure_home()
        with self.store() as store:
            known = [s.name for s in config.sources] + list(store.sources.all())
            name = resolve_name(name, known, "source")
            store.sources.enable(name)
        return name, config.source(name)

    def show(self, ref: str) -> dict[str, Any]:
        """One item in full, JSON-ready: its fields, sources and tags as sources.yaml sees
        them, the learner's marks, where digests placed it and the items most like it."""
        from paperfeed.show import item_view

        config = self.config if self.has_config else None
        with self.store(read_only=True) as store:
            return item_view(store, self.indexes(store), store.items.resolve(ref), config)

    def import_opml(self, path: Path, *, dry_run: bool = False) -> AddReport:
        """Add an OPML export's feeds to sources.yaml as `type: feed` sources (atomically)."""
        from paperfeed.opml import add_feeds, parse_opml

        feeds = parse_opml(path.read_bytes(), name=str(path))
        self._config = None  # sources.yaml changes: read it again on next use
        return add_feeds(self.settings.config_path, feeds, dry_run=dry_run)

    def add_examples(
        self, area: str, papers: Sequence[str], *, http: HttpClient | None = None
    ) -> ExamplesReport:
        """Add example papers (arXiv ids or URLs) to a focus area's `examples:` in sources.yaml
        (atomically); those the store lacks are fetched from arXiv. They count as reads."""
        from paperfeed.examples import add_examples
        from paperfeed.ingest.collect import http_client

        config = self.config
        self.settings.ensure_home()
        with self.store() as store:
            report = add_examples(config, area, papers, store, http or http_client(config))
        self._config = None  # sources.yaml changed: read it again on next use
        return report
