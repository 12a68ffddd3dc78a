"""Steps that follow an ingest: embed what is new, then bring the search indexes up to date.

Shared by `paperfeed ingest` and the Prefect ingest flow. The DuckDB store stays the truth;
the index files are refreshed here so the next search does not pay for a rebuild.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from paperfeed.config import Config
from paperfeed.embed.embedder import Embedder, embed_pending
from paperfeed.settings import Settings
from paperfeed.store import Store


def refresh_embeddings(
    settings: Settings, config: Config, *, progress: bool = False, embedder: Embedder | None = None
) -> int:
    """Embed every item that has no vector for the configured model; refresh the indexes.
    Returns how many items were embedded (0 loads no model and leaves fresh indexes alone)."""
    with _progress_bar(progress) as advance:
        report = embed_pending(settings, config.model, embedder=embedder, progress=advance)
    refresh_index(settings, config.model)
    return report.embedded


def refresh_index(settings: Settings, model: str) -> None:
    """Check the index files against DuckDB and rebuild them if they differ."""
    from paperfeed.search.files import load_or_rebuild

    with Store.open(settings.db_path, read_only=True) as store:
        load_or_rebuild(store, settings.index_dir, model)


class _progress_bar:
    """A tqdm bar on stderr fed by embed_pending's (done, total) callback; silent when off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not self.enabled:
            return None
        from tqdm import tqdm

        self.bar = tqdm(desc="embedding", unit="item", file=sys.stderr, leave=False)

        def advance(done: int, total: int) -> None:
            assert self.bar is not None
            self.bar.total = total
            self.bar.n = done
            self.bar.refresh()

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
