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
    help="Print the digest as JSON: --json prints {window: {start, end, period}, sections: "
    "[{focus_area (null: highlights), items: [{id, arxiv_id, title, url, score, why, "
    "minutes}]}], path}.",
)
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
) -> None:
    """Build the weekly digest: items of the window ranked per focus area.

    Items sent by an earlier digest are never sent again.

    \b
    Example:
      paperfeed digest                       # the last 7 days, digests/YYYY-Www.md
      paperfeed digest --budget 120 --dry-run
    """
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
