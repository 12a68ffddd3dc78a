"""CLI commands `ingest` and `status`: thin wrappers over `Paperfeed.ingest` and `.status`."""

from __future__ import annotations

import sys
from typing import Any

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed, progress_bar
from paperfeed.ingest.record import IngestReport, SourceResult, SourceSummary
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
@click.option("--json", "as_json", is_flag=True, help="Print the per-source summary as JSON.")
@pass_paperfeed
def ingest_command(pf: Paperfeed, only: tuple[str, ...], no_embed: bool, as_json: bool) -> None:
    """Fetch every source in sources.yaml and store new entries once.

    Exit status: 0 when every source succeeded or was deferred, 3 when some
    failed but the run completed, 1 on a fatal error such as a bad config.

    \b
    Example:
      paperfeed ingest
      paperfeed ingest --source "arXiv cs.LG" --source "Lilian Weng" --json
    """
    total = len(only) or sum(s.enabled for s in pf.config.sources)
    with progress_bar("sources", "src", total=total, quiet=as_json) as bar:
        report = pf.ingest(only, embed=False, on_collected=lambda result: _advance(bar, result))
    if not no_embed:  # after the sources bar is gone: embedding shows its own
        report = report.with_embedded(pf.refresh(progress=not as_json))
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
    else:
        _print_summary(report)
    sys.exit(report.exit_code)


def _advance(bar: Any, result: SourceResult) -> None:
    bar.set_postfix_str(result.source.name[:30], refresh=False)
    bar.update(1)


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


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_paperfeed
def status_command(pf: Paperfeed, as_json: bool) -> None:
    """Show how many items are stored and how every source is doing.

    \b
    Example:
      paperfeed status
      paperfeed status --json | jq '.sources[] | select(.disabled)'
    """
    total, rows = pf.status()
    if as_json:
        emit_json({"items": total, "sources": rows})
        return
    click.echo(f"{total} items in {pf.settings.db_path}")
    for row in rows:
        flag = "DISABLED" if row["disabled"] else f"failures={row['consecutive_failures']}"
        click.echo(
            f"  {row['name']:<28} {row['items']:>7} items  last ok {row['last_ok'] or '-'}"
            f"  {flag}  {row['last_error'] or ''}"
        )
