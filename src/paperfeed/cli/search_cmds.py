"""`paperfeed search`, `paperfeed similar` and `paperfeed reindex`.

Thin commands over `Paperfeed.search`, `.similar` and `.reindex`, which open DuckDB read-only
(waiting for a writer up to $PAPERFEED_LOCK_WAIT seconds, 10 by default, then "database busy")
and load the index (rebuilt when it disagrees with DuckDB). The search path stays light:
`paperfeed.cli` imports only this module for these commands, no torch for the default model
(numpy query encoder), no bm25s or scipy (the keyword index is plain arrays), faiss only above
the approximate-index threshold.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed
from paperfeed.library import Paperfeed

if TYPE_CHECKING:
    from paperfeed.search.hybrid import Hit


def _print_hits(hits: list[Hit], as_json: bool) -> None:
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
@pass_paperfeed
def search(
    pf: Paperfeed,
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

    filters = Filters(
        source=source,
        tag=tag,
        since=since.date() if since else None,
        until=until.date() if until else None,
        unread=unread,
    )
    _print_hits(pf.search(" ".join(query), k, filters), as_json)


@main.command()
@click.argument("ref")
@click.option(
    "-k", "k", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many results."
)
@click.option("--json", "as_json", is_flag=True, help="JSON output, as for `search`.")
@pass_paperfeed
def similar(pf: Paperfeed, ref: str, k: int, as_json: bool) -> None:
    """Items most like one stored item (REF: short id, arXiv id with or without version, URL).

    \b
    Example:
      paperfeed similar 42
      paperfeed similar 1706.03762v5 -k 5 --json
    """
    _print_hits(pf.similar(ref, k), as_json)


@main.command()
@click.option(
    "--approx-threshold",
    type=click.IntRange(1),
    default=None,
    help="Use HNSW above this many vectors (default: kept from the last build, else 200000).",
)
@pass_paperfeed
def reindex(pf: Paperfeed, approx_threshold: int | None) -> None:
    """Rebuild the vector and keyword indexes from DuckDB (no re-encoding).

    \b
    Example:
      paperfeed reindex
    """
    started = time.perf_counter()
    indexes = pf.reindex(approx_threshold=approx_threshold)
    click.echo(
        f"indexed {len(indexes.vectors)} items for {indexes.vectors.model} "
        f"({indexes.vectors.kind}) in {time.perf_counter() - started:.1f} s"
    )
