"""`paperfeed digest`: this week's ranked markdown digest.

Thin command: work out the window, call `Paperfeed.digest` (which opens the store, read-only on
--dry-run, and loads the light query encoder for the focus-area descriptions), print.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed
from paperfeed.cli.params import DAY, OUT_FILE
from paperfeed.library import Paperfeed

if TYPE_CHECKING:
    from paperfeed.store.digests import Unwritten


def window(
    since: datetime | None, until: datetime | None, now: datetime, days: int = 7
) -> tuple[datetime, datetime]:
    """[since 00:00, until+1 day 00:00) in UTC; missing ends default to the last `days` days."""
    end = datetime.combine(until.date() + timedelta(days=1), time(), UTC) if until else now
    start = datetime.combine(since.date(), time(), UTC) if since else end - timedelta(days=days)
    if start >= end:
        raise click.UsageError("--since must be before --until")
    return start, end


@main.command()
@click.option("--since", type=DAY, help="First day (published date).")
@click.option("--until", type=DAY, help="Last day, inclusive.")
@click.option(
    "--per-area",
    type=click.IntRange(0, 100),
    default=5,
    show_default=True,
    help="Items per focus area.",
)
@click.option("--budget", type=click.FloatRange(0), help="Reading minutes to fill, by score.")
@click.option(
    "--out",
    type=OUT_FILE,
    help="Write here instead of DIGEST_DIR/YYYY-Www.md.",
)
@click.option("--dry-run", is_flag=True, help="Render to stdout; record and write nothing.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the digest as JSON: --json prints {window: {start, end, period}, created, "
    "sections: [{focus_area (null: highlights), items: [{id, kind, arxiv_id, title, url, area, "
    "score, why, minutes, snippet, source, categories, authors, date, dated_by, code_url, "
    "explained_in}]}], progress: [{area, read, goal, met}], attention, path}; with --forget, "
    "a list of {period, path, items}.",
)
@click.option(
    "--forget",
    metavar="PERIOD",
    help="Undo: return the items of PERIOD's digest (e.g. 2024-W14) to the pool.",
)
@click.option("--delete-file", is_flag=True, help="With --forget: delete the digest file too.")
@pass_paperfeed
def digest(
    pf: Paperfeed,
    since: datetime | None,
    until: datetime | None,
    per_area: int,
    budget: float | None,
    out: Path | None,
    dry_run: bool,
    as_json: bool,
    forget: str | None,
    delete_file: bool,
) -> None:
    """Build the weekly digest: items of the window ranked per focus area, each a task line
    (tick it, then `paperfeed sync`), within --budget reading minutes shared by weekly goal.

    Items sent by an earlier digest are never sent again (--forget PERIOD undoes one). The
    ticked boxes of the digest folder are synced first.

    \b
    Example:
      paperfeed digest                       # the last 7 days, digests/YYYY-Www.md
      paperfeed digest --budget 90 --dry-run
      paperfeed digest --forget 2024-W14     # a test run's items go back to the pool
    """
    if forget is not None:
        _forget(pf, forget, delete_file, as_json)
        return
    from paperfeed.digest.model import DigestOptions

    if not pf.config.focus_areas:
        click.echo(
            f"warning: {pf.config.path} has no focus_areas: the digest has no area sections "
            "and no reading progress (add some; `paperfeed init` writes an example)",
            err=True,
        )
    start, end = window(since, until, datetime.now(UTC))
    options = DigestOptions(
        start, end, per_area=per_area, highlights=per_area, budget_minutes=budget
    )
    result = pf.digest(options, out=out, dry_run=dry_run)
    if result.finished is not None:
        _report_finished(result.finished, as_json)
    elif as_json and result.digest is not None:
        emit_json({**result.digest.as_json(), "path": str(result.path) if result.path else None})
    elif dry_run:
        click.echo(result.markdown, nl=False)
    else:
        click.echo(f"wrote {result.path} ({result.items} items)")


def _report_finished(finished: Unwritten, as_json: bool) -> None:
    if as_json:
        fields = {"period": finished.period, "path": finished.path, "items": finished.items}
        emit_json({**fields, "finished_interrupted_run": True})
        return
    click.echo(
        f"wrote {finished.path} ({finished.items} items): an interrupted run had recorded this "
        "digest but not written it; run `paperfeed digest` again for a new one"
    )


def _forget(pf: Paperfeed, period: str, delete_file: bool, as_json: bool) -> None:
    removed = pf.forget(period, delete_file=delete_file)
    if as_json:
        emit_json([{"period": d.period, "path": d.path, "items": d.items} for d in removed])
        return
    for d in removed:
        kept = "deleted" if delete_file else "kept"
        click.echo(f"forgot {d.period}: {d.items} items back in the pool ({kept} {d.path})")


@main.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="--json prints {files, read: [ids], unread: [ids], unknown: [ids], unreadable: [paths]}.",
)
@pass_paperfeed
def sync(pf: Paperfeed, files: tuple[Path, ...], as_json: bool) -> None:
    """Turn the digest's ticked boxes into read marks, and a box unticked after sync saw it
    ticked into unread. Items are found by their `id N`, so moved lines and notes are fine;
    the files are never rewritten. Running it twice changes nothing.

    FILES default to every digest in the digest folder.

    \b
    Example:
      paperfeed sync                         # every digests/*.md
      paperfeed sync ~/vault/paperfeed/2024-W14.md --json
    """
    result = pf.sync(files)
    if as_json:
        emit_json(result.as_json())
        return
    line = f"synced {result.files} file(s): {len(result.read)} read, {len(result.unread)} unread"
    if result.unknown:
        line += f"; ids matching no item: {', '.join(map(str, result.unknown))}"
    click.echo(line)
