"""CLI commands `ingest` and `status`: thin wrappers over `Paperfeed.ingest` and `.status`."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed, when
from paperfeed.ingest.record import IngestReport, SourceSummary
from paperfeed.library import Paperfeed


@main.command("ingest")
@click.option(
    "--source",
    "only",
    multiple=True,
    metavar="NAME",
    help="Only this source (repeatable). Default: every enabled source.",
)
@click.option("--no-embed", is_flag=True, help="Store new items but do not embed them now.")
@click.option("-q", "--quiet", is_flag=True, help="For cron: no progress, no table; only failures.")
@click.option("--json", "as_json", is_flag=True, help="Print the per-source summary as JSON.")
@pass_paperfeed
def ingest_command(
    pf: Paperfeed, only: tuple[str, ...], no_embed: bool, quiet: bool, as_json: bool
) -> None:
    """Fetch every source in sources.yaml and store new entries once, then embed them.

    Progress goes to stderr: on a terminal a bar per phase (fetching, storing, embedding,
    indexing), elsewhere one line per phase (none with --quiet or --json). The per-source
    table goes to stdout.

    Exit status: 0 when every source succeeded or was deferred, 3 when some
    failed but the run completed, 1 on a fatal error such as a bad config.

    --json prints {sources: [{name, type, status, new, updated, unchanged, error, ...}],
    new, updated, unchanged, embedded, offline, exit_code}.

    \b
    Example:
      paperfeed ingest
      paperfeed ingest --quiet          # from cron
      paperfeed ingest --source "arXiv cs.LG" --source "Lilian Weng" --json
    """
    from paperfeed.cli.progress import Reporter

    progress = Reporter(quiet=quiet or as_json)
    report = pf.ingest(only, embed=not no_embed, progress=progress)
    if as_json:
        emit_json(
            {
                "sources": [s.as_dict() for s in report.sources],
                **report.totals(),
                "embedded": report.embedded,
                "offline": report.offline,
                "exit_code": report.exit_code,
            }
        )
    elif quiet:
        for failed in report.failed:
            click.echo(f"{failed.name}: {failed.status}: {_note(failed)}", err=True)
    else:
        _print_summary(report)
    sys.exit(report.exit_code)


def _print_summary(report: IngestReport) -> None:
    width = max([len(s.name) for s in report.sources] + [6])
    click.echo(f"{'source':<{width}}  {'status':<9} {'new':>5} {'upd':>5} {'same':>6}  note")
    for s in report.sources:
        click.echo(
            f"{s.name:<{width}}  {s.status:<9} {s.new:>5} {s.updated:>5} "
            f"{s.unchanged:>6}  {_note(s)}"
        )
    totals = report.totals()
    failed = len(report.failed)
    line = (
        f"{len(report.sources)} sources: {totals['new']} new, {totals['updated']} updated, "
        f"{failed} failed"
    )
    if report.embedded is not None:
        line += f"; {report.embedded} embedded"
    click.echo(line)
    if report.offline:
        click.echo(
            "no source could be reached: is this machine offline? "
            "Failures were recorded but not counted towards disabling sources."
        )


def _note(summary: SourceSummary) -> str:
    return (summary.error or "")[:120]


_STATUS_JSON = (
    "--json prints {items, embedded, model, read, saved, last_ingest, sources: {total, ok, "
    "failing, disabled, off}, attention: [rows as `sources --json`]}; times in ISO 8601."
)


@main.command("status", epilog=_STATUS_JSON)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON (see below).")
@pass_paperfeed
def status_command(pf: Paperfeed, as_json: bool) -> None:
    """The library at a glance: items stored and embedded, your marks, when sources were last
    fetched, and only the sources that need attention (`paperfeed sources` lists them all).

    \b
    Example:
      paperfeed status
      paperfeed status --json | jq .attention
    """
    summary = pf.status()
    if as_json:
        emit_json(summary)
    else:
        _print_status(summary, pf)


def _print_status(s: dict[str, Any], pf: Paperfeed) -> None:
    last = when(datetime.fromisoformat(s["last_ingest"])) if s["last_ingest"] else "never"
    counts = s["sources"]
    click.echo(f"{s['items']:,} items in {pf.settings.db_path}")
    click.echo(
        f"{s['embedded']:,} embedded with {s['model']}; {s['items'] - s['embedded']:,} to embed"
    )
    click.echo(f"{s['read']:,} read, {s['saved']:,} saved")
    click.echo(
        f"sources: {counts['total']} ({counts['ok']} ok, {counts['failing']} failing, "
        f"{counts['disabled']} disabled, {counts['off']} off); last fetch {last}"
    )
    for row in s["attention"]:
        state = "disabled" if row["disabled"] else f"failing x{row['consecutive_failures']}"
        note = row["disabled_reason"] or row["last_error"] or ""
        click.echo(f"  {row['name']}: {state}: {note}"[:160])
