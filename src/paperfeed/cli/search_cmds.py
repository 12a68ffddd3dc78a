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
from collections.abc import Callable
from typing import Any

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed
from paperfeed.cli.params import DAY, ITEM_REF, TEXT, check_window
from paperfeed.library import Paperfeed
from paperfeed.search.hybrid import Filters, Hit
from paperfeed.text import plain


def _print_hits(hits: list[Hit], header: str, as_json: bool) -> None:
    if as_json:
        emit_json([h.as_json() for h in hits])
        return
    if not hits:
        click.echo(f"no matches {header}", err=True)
        return
    click.echo(f"{len(hits)} {'match' if len(hits) == 1 else 'matches'} {header}")
    click.echo(f"{'id':>7} RS  score  title (published, source)  link")
    for h in hits:
        marks = ("R" if h.read else "-") + ("S" if h.saved else "-")
        # untrusted fields through `plain`: no bidi or control character reaches the terminal
        where = plain(", ".join(str(x) for x in (h.published, h.source) if x))
        ref = plain(f"arXiv:{h.arxiv_id}" if h.arxiv_id else (h.url or ""))
        click.echo(f"{h.id:>7} {marks} {h.score:6.3f}  {plain(h.title, 100)}  ({where})  {ref}")
        if h.snippet:
            click.echo(f"{'':>18}{plain(h.snippet, 110)}")


def _header(what: str, filters: Filters) -> str:
    described = filters.describe()
    return f"{what} ({described})" if described else what


_HITS_JSON = (
    "--json prints a list of {id, arxiv_id, title, url, source, sources, published, score, "
    "read, saved, snippet}, best first; [] when nothing matches. Text output: a header line, "
    "then per result its id, R (read) and S (saved) marks, score, title and a line of its "
    "abstract."
)


def _filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters `search` and `similar` share."""
    for option in reversed(
        [
            click.option("--source", help="Only items of this source (name in sources.yaml)."),
            click.option(
                "--tag", help="Only items with this tag (a source tag or arXiv category)."
            ),
            click.option("--area", help="Only items of this focus area."),
            click.option("--saved", is_flag=True, help="Only items you saved."),
            click.option("--read", "only_read", is_flag=True, help="Only items you marked read."),
            click.option("--unread", is_flag=True, help="Leave out items marked read."),
            click.option("--since", type=DAY, help="Published on or after this day (YYYY-MM-DD)."),
            click.option("--until", type=DAY, help="Published on or before this day (YYYY-MM-DD)."),
        ]
    ):
        command = option(command)
    return command


def _filters(options: dict[str, Any]) -> Filters:
    if options["only_read"] and options["unread"]:
        raise click.UsageError("--read and --unread exclude each other")
    since, until = options["since"], options["until"]
    check_window(since, until)
    return Filters(
        source=options["source"],
        tag=options["tag"],
        since=since.date() if since else None,
        until=until.date() if until else None,
        unread=options["unread"],
        saved=options["saved"],
        read=options["only_read"],
        area=options["area"],
    )


_K = click.option(
    "-k", "k", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many results."
)


@main.command(epilog=_HITS_JSON)
@click.argument("query", nargs=-1, required=True, type=TEXT)
@_K
@_filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (see below).")
@pass_paperfeed
def search(pf: Paperfeed, /, query: tuple[str, ...], k: int, as_json: bool, **options: Any) -> None:
    """Search stored items by meaning and by exact words (dense + BM25, fused). A result either
    names a query word or is close enough in meaning; "no matches" when none is.

    \b
    Example:
      paperfeed search "retrieval augmented generation" -k 5
      paperfeed search "Llama-3.1 quantization" --since 2025-01-01 --unread --json
      paperfeed search "contrastive learning" --saved --area "Vision"
    """
    text = " ".join(query)
    filters = _filters(options)
    hits = pf.search(text, k, filters)
    _print_hits(hits, _header(f"for {text.strip()!r}", filters), as_json)


@main.command(epilog=_HITS_JSON)
@click.argument("ref", type=ITEM_REF)
@_K
@_filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (see below).")
@pass_paperfeed
def similar(pf: Paperfeed, /, ref: str, k: int, as_json: bool, **options: Any) -> None:
    """Items most like one stored item (REF: short id, arXiv id with or without version, URL).

    \b
    Example:
      paperfeed similar 42
      paperfeed similar 1706.03762v5 -k 5 --saved --json
    """
    filters = _filters(options)
    _print_hits(pf.similar(ref, k, filters), _header(f"like {ref}", filters), as_json)


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
