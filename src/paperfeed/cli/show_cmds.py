"""`paperfeed show` (one item in full, in the terminal) and `paperfeed init` (a first
sources.yaml): thin wrappers over `Paperfeed.show` and `paperfeed.starter`."""

from __future__ import annotations

import textwrap
from typing import Any

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed
from paperfeed.library import Paperfeed
from paperfeed.text import plain

_SHOW_JSON = (
    "--json prints {id, arxiv_id, title, url, authors, categories, sources, tags, links, "
    "published, first_seen, summary, marks: {read_at, saved_at, rating}, digests: [{period, "
    "area, rank, score}], similar: [as `search --json`]}."
)


@main.command(epilog=_SHOW_JSON)
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print the item as JSON (see below).")
@pass_paperfeed
def show(pf: Paperfeed, ref: str, as_json: bool) -> None:
    """One item in full: title, authors, categories, dates, links, abstract, your marks, where
    digests placed it and the items most like it (REF: short id, arXiv id or URL).

    \b
    Example:
      paperfeed show 42
      paperfeed show 1706.03762 --json
    """
    data = pf.show(ref)
    if as_json:
        emit_json(data)
    else:
        _print_item(data)


def _print_item(d: dict[str, Any]) -> None:
    click.echo(f"{d['id']}  {plain(d['title'])}")
    ref = f"arXiv:{d['arxiv_id']}  " if d["arxiv_id"] else ""
    click.echo(f"    {ref}{d['url'] or ''}".rstrip())
    _field("authors", ", ".join(d["authors"]) or "-")
    _field("categories", ", ".join(d["categories"]) or "-")
    _field("sources", ", ".join(d["sources"]) or "-")
    _field("published", _day(d["published"]) + f"  (first seen {_day(d['first_seen'])})")
    _field("marks", _marks(d["marks"]))
    _field("digests", _placed(d["digests"]))
    if d["links"]:
        _field("links", "  ".join(d["links"][:5]))
    click.echo("")
    for paragraph in (d["summary"] or "(no abstract)").split("\n\n"):
        click.echo(
            textwrap.fill(plain(paragraph), 100, initial_indent="  ", subsequent_indent="  ")
        )
    click.echo("\nsimilar:" if d["similar"] else "\nsimilar: (not embedded yet: `paperfeed embed`)")
    for h in d["similar"]:
        click.echo(f"{h['id']:>7}  {h['score']:6.3f}  {plain(h['title'], 90)}")


def _field(name: str, value: str) -> None:
    click.echo(f"{name + ':':<12}{value}")


def _day(value: Any) -> str:
    return value.date().isoformat() if value is not None else "-"


def _marks(marks: dict[str, Any]) -> str:
    said = []
    if marks["read_at"]:
        said.append(f"read {_day(marks['read_at'])}")
    if marks["saved_at"]:
        said.append(f"saved {_day(marks['saved_at'])}")
    if marks["rating"]:
        said.append("rated up" if marks["rating"] > 0 else "rated down")
    return ", ".join(said) or "none"


def _placed(placements: list[dict[str, Any]]) -> str:
    if not placements:
        return "not sent in a digest yet"
    return "; ".join(
        f"{p['period']} {p['area'] or 'highlights'} #{p['rank']} (score {p['score']:.2f})"
        for p in placements
    )


@main.command()
@pass_paperfeed
def init(pf: Paperfeed) -> None:
    """Write a first sources.yaml: commented, with the shipped arXiv categories, blogs and
    newsletters and two focus areas to edit. Refuses to overwrite an existing file.

    The file goes to --config (or $PAPERFEED_CONFIG), else HOME/sources.yaml.

    \b
    Example:
      paperfeed init
      paperfeed --config ~/ml/sources.yaml init
    """
    from paperfeed.starter import write_starter_config

    path = pf.settings.config_path
    write_starter_config(path)
    click.echo(f"wrote {path}: edit its focus_areas, then run `paperfeed ingest`")
