"""Steps that follow an ingest: embed what is new, then bring the search indexes up to date.

Shared by `paperfeed ingest` and the Prefect ingest flow. The DuckDB store stays the truth;
the index files are refreshed here so the next search does not pay for a rebuild.
"""

from __future__ import annotations

from paperfeed.config import Config
from paperfeed.embed.embedder import Embedder, embed_pending
from paperfeed.progress import SILENT, Progress
from paperfeed.settings import Settings
from paperfeed.store import Store


def refresh_embeddings(
    settings: Settings,
    config: Config,
    *,
    progress: Progress = SILENT,
    embedder: Embedder | None = None,
) -> int:
    """Embed every item that has no vector for the configured model; refresh the indexes.
    Returns how many items were embedded (0 loads no model and leaves fresh indexes alone)."""
    report = embed_pending(settings, config.model, embedder=embedder, progress=progress)
    refresh_index(settings, config.model, progress)
    return report.embedded


def refresh_index(settings: Settings, model: str, progress: Progress = SILENT) -> None:
    """Check the index files against DuckDB and rebuild them if they differ."""
    from paperfeed.search.files import load_or_rebuild

    progress.start("indexing")
    with Store.open(settings.db_path, read_only=True) as store:
        indexes = load_or_rebuild(store, settings.index_dir, model)
    state = "rebuilt" if indexes.rebuilt else "up to date"
    progress.finish(f"{len(indexes.vectors):,} items, {state}")
