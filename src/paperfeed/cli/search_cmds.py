"""`paperfeed search`, `paperfeed similar` and `paperfeed reindex`.

Thin commands: open DuckDB read-only (waiting for a writer up to $PAPERFEED_LOCK_WAIT seconds,
10 by default, then "database busy"), load the index (rebuilt when it disagrees with DuckDB),
call `paperfeed.search.hybrid`, print. The search path stays light: `paperfeed.cli` imports only
this module for these commands, no torch for the default model (numpy query encoder), no bm25s or
scipy (the keyword index is plain arrays), faiss only above the approximate-index threshold.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from paperfeed.cli.app import App, emit_json, main, pass_app
from paperfeed.config import DEFAULT_MODEL
from paperfeed.errors import PaperfeedError

if TYPE_CHECKING:
    import numpy as np


def _model(app: App) -> str:
    return app.config.model if app.settings.config_path.exists() else DEFAULT_MODEL


def _tags_of(app: App) -> Callable[[str], Iterable[str]]:
    def tags(source: str) -> Iterable[str]:
        if not app.settings.config_path.exists():
            return ()
        found = app.config.source(source)
        return found.tags if found else ()

    return tags


def _query_encoder(model: str) -> Callable[[str], np.ndarray]:
    from paperfeed.embed.embedder import load_query_encoder

    return load_query_encoder(model)


@contextmanager
def _opened(app: App) -> Iterator[tuple[Any, Any]]:
    """(read-only store, checked indexes) for the configured model."""
    from paperfeed.search.files import load_or_rebuild
    from paperfeed.store import Store

    model = _model(app)
    with Store.open(app.settings.db_path, read_only=True, wait=app.settings.lock_wait) as store:
        indexes = load_or_rebuild(store, app.settings.index_dir, model)
        if not len(indexes.vectors):
            raise PaperfeedError(f"no embedded items for {model}: run `paperfeed embed` first")
        yield store, indexes


def _print_hits(hits: list[Any], as_json: bool) -> None:
    if as_json:
        emit_json([h.as_json() for h in hits])
        return
    if not hits:
        click.echo("no matches", err=True)
        return
    for h in hits:
        mark = "✓" if h.read else " "
        where = ", ".join(x for x in (h.published, h.source) if x)
        ref = f"arXiv:{h.arxiv_id}" if h.arxiv_id else (h.url or "")
        click.echo(f"{h.id:>7} {mark} {h.score:6.3f}  {h.title}  ({where})  {ref}".rstrip())


_DATE = click.DateTime(formats=["%Y-%m-%d"])


@main.command()
@click.argument("query", nargs=-1, required=True)
@click.option(
    "-k", "k", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many results."
)
@click.option("--source", help="Only items from this source (name in sources.yaml).")
@click.option("--tag", help="Only items from a source carrying this tag.")
@click.option("--since", type=_DATE, help="Published on or after this day (YYYY-MM-DD).")
@click.option("--until", type=_DATE, help="Published on or before this day (YYYY-MM-DD).")
@click.option("--unread", is_flag=True, help="Leave out items marked read.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="A JSON list of {id, arxiv_id, title, url, source, published, score, read}.",
)
@pass_app
def search(
    app: App,
    query: tuple[str, ...],
    k: int,
    source: str | None,
    tag: str | None,
    since: datetime | None,
    until: datetime | None,
    unread: bool,
    as_json: bool,
) -> None:
    """Search stored items by meaning and by exact words (dense + BM25, fused).

    \b
    Example:
      paperfeed search "retrieval augmented generation" -k 5
      paperfeed search "Llama-3.1 quantization" --since 2025-01-01 --unread --json
    """
    from paperfeed.search.hybrid import Filters
    from paperfeed.search.hybrid import search as run_search

    filters = Filters(
        source=source,
        tag=tag,
        since=since.date() if since else None,
        until=until.date() if until else None,
        unread=unread,
    )
    # the encoder loads before the database is opened: a reader holding the file keeps an
    # ingest from storing its results
    encode = _query_encoder(_model(app))
    with _opened(app) as (store, indexes):
        hits = run_search(store, indexes, encode, " ".join(query), k, filters, _tags_of(app))
    _print_hits(hits, as_json)


@main.command()
@click.argument("ref")
@click.option(
    "-k", "k", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many results."
)
@click.option("--json", "as_json", is_flag=True, help="JSON output, as for `search`.")
@pass_app
def similar(app: App, ref: str, k: int, as_json: bool) -> None:
    """Items most like one stored item (REF: short id, arXiv id with or without version, URL).

    \b
    Example:
      paperfeed similar 42
      paperfeed similar 1706.03762v5 -k 5 --json
    """
    from paperfeed.search.hybrid import similar as run_similar

    with _opened(app) as (store, indexes):
        hits = run_similar(store, indexes, ref, k)
    _print_hits(hits, as_json)


@main.command()
@click.option(
    "--approx-threshold",
    type=click.IntRange(1),
    default=None,
    help="Use HNSW above this many vectors (default: kept from the last build, else 200000).",
)
@pass_app
def reindex(app: App, approx_threshold: int | None) -> None:
    """Rebuild the vector and keyword indexes from DuckDB (no re-encoding).

    \b
    Example:
      paperfeed reindex
    """
    from paperfeed.search.files import load_or_rebuild
    from paperfeed.store import Store

    started = time.perf_counter()
    with Store.open(app.settings.db_path, read_only=True, wait=app.settings.lock_wait) as store:
        indexes = load_or_rebuild(
            store,
            app.settings.index_dir,
            _model(app),
            rebuild=True,
            approx_threshold=approx_threshold,
        )
    click.echo(
        f"indexed {len(indexes.vectors)} items for {indexes.vectors.model} "
        f"({indexes.vectors.kind}) in {time.perf_counter() - started:.1f} s"
    )
