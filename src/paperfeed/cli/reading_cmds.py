"""The reading loop: `read`, `unread`, `save`, `rate`, `list` and `stats`.

Thin commands over `paperfeed.marks`. A mark made while another process holds the
database (after the usual wait) is queued in the pending-marks file and applied at the next
writable open, so it is never lost (RELIABILITY D3).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click

from paperfeed.cli.app import App, emit_json, main, pass_app
from paperfeed.digest.markdown import plain
from paperfeed.digest.rank import keyword_area
from paperfeed.errors import ConfigError, StoreBusy
from paperfeed.marks import (
    MarkEvent,
    apply_pending_marks,
    queue_marks,
    record_marks,
)
from paperfeed.store import Store
from paperfeed.store.reading import Mark


def _mark(app: App, refs: Sequence[str], action: str) -> None:
    now = datetime.now(UTC)
    events = [MarkEvent(ref, action, now) for ref in refs]
    try:
        store = Store.open(app.settings.db_path, wait=app.settings.lock_wait)
    except StoreBusy:
        queue_marks(app.settings, events)
        click.echo(
            f"database busy: {len(events)} mark(s) queued, applied at the next open", err=True
        )
        return
    with store:
        apply_pending_marks(store, app.settings)
        ids = record_marks(store, app.settings, events)
    click.echo(f"{action}: " + ", ".join(str(i) for i in ids))


@main.command()
@click.argument("refs", nargs=-1, required=True)
@pass_app
def read(app: App, refs: tuple[str, ...]) -> None:
    """Mark items read (short id, arXiv id with or without version, or URL).

    \b
    Example:
      paperfeed read 42 2401.01234v2
    """
    _mark(app, refs, "read")


@main.command()
@click.argument("refs", nargs=-1, required=True)
@pass_app
def unread(app: App, refs: tuple[str, ...]) -> None:
    """Take back a read mark.

    \b
    Example:
      paperfeed unread 42
    """
    _mark(app, refs, "unread")


@main.command()
@click.argument("refs", nargs=-1, required=True)
@click.option("--undo", is_flag=True, help="Remove the saved mark instead.")
@pass_app
def save(app: App, refs: tuple[str, ...], undo: bool) -> None:
    """Save items for later (saved items count as liked for the ranking).

    \b
    Example:
      paperfeed save https://arxiv.org/abs/2401.01234
    """
    _mark(app, refs, "unsave" if undo else "save")


@main.command()
@click.argument("ref")
@click.argument("rating", type=click.Choice(["up", "down"]))
@pass_app
def rate(app: App, ref: str, rating: str) -> None:
    """Rate an item up or down; the digest moves towards or away from it.

    \b
    Example:
      paperfeed rate 42 down
    """
    _mark(app, [ref], rating)


def _check_area(app: App, area: str) -> None:
    names = [a.name for a in app.config.focus_areas]
    if area not in names:
        close = difflib.get_close_matches(area, names, n=1, cutoff=0.3)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (focus areas: {', '.join(names)})"
        raise ConfigError(f"no focus area {area!r} in {app.settings.config_path}{hint}")


def _keyword_areas(app: App) -> list[tuple[str, tuple[str, ...]]]:
    if not app.settings.config_path.exists():
        return []
    return [(a.name, tuple(a.keywords)) for a in app.config.focus_areas]


def _areas(store: Store, items: Sequence[Any], keyword_areas: Sequence[Any]) -> dict[int, str]:
    """Digest area where the item was sent, else the area its keywords name."""
    sent = store.digests.areas_of([i.id for i in items])
    found = {}
    for item in items:
        area = sent.get(item.id) or keyword_area(item.title, item.summary, keyword_areas)
        if area:
            found[item.id] = area
    return found


def _row(item: Any, mark: Mark | None, area: str | None) -> dict[str, Any]:
    return {
        "id": item.id,
        "arxiv_id": item.arxiv_id,
        "title": item.title,
        "url": item.url,
        "area": area,
        "read": bool(mark and mark.read_at),
        "saved": bool(mark and mark.saved_at),
        "rating": mark.rating if mark else None,
    }


@main.command(name="list")
@click.option("--unread", "only_unread", is_flag=True, help="Only items not marked read.")
@click.option("--saved", "only_saved", is_flag=True, help="Only saved items.")
@click.option("--area", help="Only items of this focus area.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_items(
    app: App, only_unread: bool, only_saved: bool, area: str | None, limit: int, as_json: bool
) -> None:
    """The reading list: items sent in digests (newest first), then other marked items.

    \b
    Example:
      paperfeed list --unread --area "NLP & LLMs"
    """
    if area is not None:
        _check_area(app, area)
    with Store.open(app.settings.db_path, read_only=True, wait=app.settings.lock_wait) as store:
        marks = store.reading.all()
        order = store.digests.sent_order()
        sent = set(order)
        order += [i for i in marks if i not in sent]
        items = store.items.get_many(order)
        areas = _areas(store, items, _keyword_areas(app))
    rows = [_row(i, marks.get(i.id), areas.get(i.id)) for i in items]
    rows = [
        r
        for r in rows
        if (not only_unread or not r["read"])
        and (not only_saved or r["saved"])
        and (area is None or r["area"] == area)
    ][:limit]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        flags = ("R" if r["read"] else "-") + ("S" if r["saved"] else "-")
        flags += {1: "+", -1: "-"}.get(r["rating"], " ")
        click.echo(f"{r['id']:>6}  {flags}  {(r['area'] or '-')[:16]:<16}  {plain(r['title'], 90)}")


def weekly_progress(
    read: Sequence[tuple[datetime, str | None]], goals: dict[str, int | None]
) -> list[dict[str, Any]]:
    """Read counts per ISO week and area, with the area's weekly goal."""
    counts: dict[tuple[str, str], int] = {}
    for when, area in read:
        year, week, _ = when.isocalendar()
        key = (f"{year}-W{week:02d}", area or "(no area)")
        counts[key] = counts.get(key, 0) + 1
    return [
        {"week": week, "area": area, "read": n, "goal": goals.get(area)}
        for (week, area), n in sorted(counts.items())
    ]


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_app
def stats(app: App, as_json: bool) -> None:
    """The scoreboard: per past digest how many items were later read or saved, and reading
    progress per focus area per week against its weekly goal.

    \b
    Example:
      paperfeed stats --json
    """
    keyword_areas = _keyword_areas(app)
    goals = {a.name: a.weekly_goal for a in app.config.focus_areas} if keyword_areas else {}
    with Store.open(app.settings.db_path, read_only=True, wait=app.settings.lock_wait) as store:
        history = store.digests.history()
        read = {i: m.read_at for i, m in store.reading.all().items() if m.read_at}
        items = store.items.get_many(list(read))
        areas = _areas(store, items, keyword_areas)
    progress = weekly_progress([(read[i.id], areas.get(i.id)) for i in items], goals)
    digests = [
        {
            "id": d.id,
            "period": d.period,
            "created": d.created_at.isoformat(),
            "items": d.items,
            "read": d.read,
            "saved": d.saved,
        }
        for d in history
    ]
    if as_json:
        emit_json({"digests": digests, "progress": progress})
        return
    click.echo("digest        items  read  saved")
    for d in digests:
        click.echo(f"{d['period']:<12} {d['items']:>6} {d['read']:>5} {d['saved']:>6}")
    click.echo("\nweek      area              read / goal")
    for p in progress:
        goal = p["goal"] if p["goal"] is not None else "-"
        click.echo(f"{p['week']:<9} {plain(p['area'], 16):<16}  {p['read']:>4} / {goal}")
