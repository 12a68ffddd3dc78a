"""The reading loop: `read`, `unread`, `save`, `unsave`, `rate`, `list` and `stats`.

Thin commands over `Paperfeed.mark`, `.list` and `.stats`. A mark made while another process
holds the database (after the usual wait) is queued in the pending-marks file and applied at the
next writable open, so it is never lost (RELIABILITY D3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed
from paperfeed.cli.params import ITEM_REF
from paperfeed.library import Paperfeed
from paperfeed.text import plain

_SAID = {  # action: (what a change says, what a mark that changes nothing says)
    "read": ("marked read", "already read"),
    "unread": ("read mark removed", "was not marked read"),
    "save": ("saved", "already saved"),
    "unsave": ("no longer saved", "was not saved"),
    "up": ("rated up", "already rated up"),
    "down": ("rated down", "already rated down"),
    "unrate": ("rating cleared", "had no rating"),
}
MARK_JSON = (
    "--json prints {queued, marks: [{ref, id, action, changed, title}]}; `changed` is false "
    "for a mark that changed nothing; `queued` is true (ids and changed null) when the "
    "database was busy and the marks wait for the next open."
)
_JSON_HELP = "Print what was marked as JSON (see above)."


def _mark(pf: Paperfeed, refs: Sequence[str], action: str, as_json: bool) -> None:
    done = pf.mark(refs, action)
    if done.queued:
        _print_queued(refs, action, as_json)
        return
    if as_json:
        emit_json({"queued": False, "marks": [r.as_json() for r in done.results]})
        return
    for r in done.results:
        said = _SAID[r.action][0 if r.changed else 1]
        click.echo(f"{r.item_id:>7}  {said}: {plain(r.title, 80)}")


def _print_queued(refs: Sequence[str], action: str, as_json: bool) -> None:
    if as_json:
        marks = [{"ref": ref, "id": None, "action": action, "changed": None} for ref in refs]
        emit_json({"queued": True, "marks": marks})
        return
    click.echo(f"database busy: {len(refs)} mark(s) queued, applied at the next open", err=True)


def _json_option(command: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)(command)


@main.command(epilog=MARK_JSON)
@click.argument("refs", nargs=-1, required=True, type=ITEM_REF)
@_json_option
@pass_paperfeed
def read(pf: Paperfeed, refs: tuple[str, ...], as_json: bool) -> None:
    """Mark items read (short id, arXiv id with or without version, or URL).

    When any ref matches no item, every such ref is named and nothing is marked.

    \b
    Example:
      paperfeed read 42 2401.01234v2
    """
    _mark(pf, refs, "read", as_json)


@main.command(epilog=MARK_JSON)
@click.argument("refs", nargs=-1, required=True, type=ITEM_REF)
@_json_option
@pass_paperfeed
def unread(pf: Paperfeed, refs: tuple[str, ...], as_json: bool) -> None:
    """Take back a read mark.

    \b
    Example:
      paperfeed unread 42
    """
    _mark(pf, refs, "unread", as_json)


@main.command(epilog=MARK_JSON)
@click.argument("refs", nargs=-1, required=True, type=ITEM_REF)
@click.option("--undo", is_flag=True, help="Remove the saved mark instead (as `unsave`).")
@_json_option
@pass_paperfeed
def save(pf: Paperfeed, refs: tuple[str, ...], undo: bool, as_json: bool) -> None:
    """Save items for later (saved items count as liked for the ranking).

    \b
    Example:
      paperfeed save https://arxiv.org/abs/2401.01234
    """
    _mark(pf, refs, "unsave" if undo else "save", as_json)


@main.command(epilog=MARK_JSON)
@click.argument("refs", nargs=-1, required=True, type=ITEM_REF)
@_json_option
@pass_paperfeed
def unsave(pf: Paperfeed, refs: tuple[str, ...], as_json: bool) -> None:
    """Remove the saved mark.

    \b
    Example:
      paperfeed unsave 42 2401.01234
    """
    _mark(pf, refs, "unsave", as_json)


@main.command(epilog=MARK_JSON)
@click.argument("ref", type=ITEM_REF)
@click.argument("rating", type=click.Choice(["up", "down", "clear"]))
@_json_option
@pass_paperfeed
def rate(pf: Paperfeed, ref: str, rating: str, as_json: bool) -> None:
    """Rate an item up or down (the digest moves towards or away from it), or clear its rating.

    \b
    Example:
      paperfeed rate 42 down
      paperfeed rate 42 clear --json
    """
    _mark(pf, [ref], "unrate" if rating == "clear" else rating, as_json)


@main.command(name="list")
@click.option("--unread", "only_unread", is_flag=True, help="Only items not marked read.")
@click.option("--saved", "only_saved", is_flag=True, help="Only saved items.")
@click.option("--area", help="Only items of this focus area.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="--json prints a list of {id, arxiv_id, title, url, area, read, saved, rating}.",
)
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
    if not rows:
        click.echo("nothing to list: no digest has sent items and nothing is marked", err=True)
        return
    width = max(len(r["area"] or "-") for r in rows)
    click.echo(f"{'id':>6}  {'RS±':<3}  {'area':<{width}}  title")
    for r in rows:
        flags = ("R" if r["read"] else "-") + ("S" if r["saved"] else "-")
        flags += {1: "+", -1: "-"}.get(r["rating"], " ")
        click.echo(f"{r['id']:>6}  {flags}  {r['area'] or '-':<{width}}  {plain(r['title'], 90)}")
    click.echo("R read, S saved, + rated up, - rated down")


def _check_week(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from paperfeed.digest.progress import week_bounds

    if value is None:
        return None
    try:
        week_bounds(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO week such as 2024-W14") from None
    return value


@main.command()
@click.option("--week", callback=_check_week, help="Only this ISO week, e.g. 2024-W14.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="--json prints {digests: [{id, period, created, items, read, saved}], "
    "progress: [{week, area, read, goal, met}]}.",
)
@pass_paperfeed
def stats(pf: Paperfeed, week: str | None, as_json: bool) -> None:
    """The scoreboard: per past digest how many items were later read or saved, and per ISO week
    every focus area's reads against its weekly goal (the digest's progress table).

    \b
    Example:
      paperfeed stats --week 2024-W14 --json
    """
    scoreboard = pf.stats(week)
    if as_json:
        emit_json(scoreboard)
        return
    click.echo("digest        items  read  saved")
    for d in scoreboard["digests"]:
        click.echo(f"{d['period']:<12} {d['items']:>6} {d['read']:>5} {d['saved']:>6}")
    click.echo("\nweek      area                read / goal")
    for p in scoreboard["progress"]:
        goal = p["goal"] if p["goal"] is not None else "-"
        met = "  goal met" if p["met"] else ""
        click.echo(f"{p['week']:<9} {plain(p['area'], 18):<18}  {p['read']:>4} / {goal}{met}")
