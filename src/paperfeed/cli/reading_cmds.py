"""The reading loop: `read`, `unread`, `save`, `rate`, `list` and `stats`.

Thin commands over `Paperfeed.mark`, `.list` and `.stats`. A mark made while another process
holds the database (after the usual wait) is queued in the pending-marks file and applied at the
next writable open, so it is never lost (RELIABILITY D3).
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed
from paperfeed.digest.markdown import plain
from paperfeed.library import Paperfeed


def _mark(pf: Paperfeed, refs: Sequence[str], action: str) -> None:
    done = pf.mark(refs, action)
    if done.queued:
        click.echo(
            f"database busy: {done.queued} mark(s) queued, applied at the next open", err=True
        )
        return
    click.echo(f"{action}: " + ", ".join(str(i) for i in done.ids))


@main.command()
@click.argument("refs", nargs=-1, required=True)
@pass_paperfeed
def read(pf: Paperfeed, refs: tuple[str, ...]) -> None:
    """Mark items read (short id, arXiv id with or without version, or URL).

    \b
    Example:
      paperfeed read 42 2401.01234v2
    """
    _mark(pf, refs, "read")


@main.command()
@click.argument("refs", nargs=-1, required=True)
@pass_paperfeed
def unread(pf: Paperfeed, refs: tuple[str, ...]) -> None:
    """Take back a read mark.

    \b
    Example:
      paperfeed unread 42
    """
    _mark(pf, refs, "unread")


@main.command()
@click.argument("refs", nargs=-1, required=True)
@click.option("--undo", is_flag=True, help="Remove the saved mark instead.")
@pass_paperfeed
def save(pf: Paperfeed, refs: tuple[str, ...], undo: bool) -> None:
    """Save items for later (saved items count as liked for the ranking).

    \b
    Example:
      paperfeed save https://arxiv.org/abs/2401.01234
    """
    _mark(pf, refs, "unsave" if undo else "save")


@main.command()
@click.argument("ref")
@click.argument("rating", type=click.Choice(["up", "down"]))
@pass_paperfeed
def rate(pf: Paperfeed, ref: str, rating: str) -> None:
    """Rate an item up or down; the digest moves towards or away from it.

    \b
    Example:
      paperfeed rate 42 down
    """
    _mark(pf, [ref], rating)


@main.command(name="list")
@click.option("--unread", "only_unread", is_flag=True, help="Only items not marked read.")
@click.option("--saved", "only_saved", is_flag=True, help="Only saved items.")
@click.option("--area", help="Only items of this focus area.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_paperfeed
def list_items(
    pf: Paperfeed, only_unread: bool, only_saved: bool, area: str | None, limit: int, as_json: bool
) -> None:
    """The reading list: items sent in digests (newest first), then other marked items.

    \b
    Example:
      paperfeed list --unread --area "NLP & LLMs"
    """
    rows = pf.list(unread=only_unread, saved=only_saved, area=area, limit=limit)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        flags = ("R" if r["read"] else "-") + ("S" if r["saved"] else "-")
        flags += {1: "+", -1: "-"}.get(r["rating"], " ")
        click.echo(f"{r['id']:>6}  {flags}  {(r['area'] or '-')[:16]:<16}  {plain(r['title'], 90)}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_paperfeed
def stats(pf: Paperfeed, as_json: bool) -> None:
    """The scoreboard: per past digest how many items were later read or saved, and reading
    progress per focus area per week against its weekly goal.

    \b
    Example:
      paperfeed stats --json
    """
    scoreboard = pf.stats()
    if as_json:
        emit_json(scoreboard)
        return
    click.echo("digest        items  read  saved")
    for d in scoreboard["digests"]:
        click.echo(f"{d['period']:<12} {d['items']:>6} {d['read']:>5} {d['saved']:>6}")
    click.echo("\nweek      area              read / goal")
    for p in scoreboard["progress"]:
        goal = p["goal"] if p["goal"] is not None else "-"
        click.echo(f"{p['week']:<9} {plain(p['area'], 16):<16}  {p['read']:>4} / {goal}")
