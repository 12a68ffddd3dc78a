"""CLI commands `ingest` and `status`: thin wrappers over paperfeed.ingest and the store."""

from __future__ import annotations

import sys
from typing import Any

import click

from paperfeed.cli.app import App, emit_json, main, pass_app
from paperfeed.ingest.collect import IngestReport, SourceResult, SourceSummary, ingest
from paperfeed.store import Store


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
@pass_app
def ingest_command(app: App, only: tuple[str, ...], no_embed: bool, as_json: bool) -> None:
    """Fetch every source in sources.yaml and store new entries once.

    Exit status: 0 when every source succeeded or was deferred, 3 when some
    failed but the run completed, 1 on a fatal error such as a bad config.

    \b
    Example:
      paperfeed ingest
      paperfeed ingest --source "arXiv cs.LG" --source "Lilian Weng" --json
    """
    config = app.config
    app.settings.ensure_home()
    with _progress(len(only) or sum(s.enabled for s in config.sources), as_json) as bar:
        report = ingest(
            app.settings, config, only=only, on_collected=lambda result: _advance(bar, result)
        )
    embedded = None if no_embed else _embed_new(app, report, quiet=as_json)
    if as_json:
        emit_json(
            {
                "sources": [s.as_dict() for s in report.sources],
                **report.totals(),
                "embedded": embedded,
                "offline": report.offline,
                "exit_code": report.exit_code,
            }
        )
    else:
        _print_summary(report, embedded)
    sys.exit(report.exit_code)


def _progress(total: int, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc="sources",
        unit="src",
        file=sys.stderr,
        disable=quiet or not sys.stderr.isatty(),
        leave=False,
    )


def _advance(bar: Any, result: SourceResult) -> None:
    bar.set_postfix_str(result.source.name[:30], refresh=False)
    bar.update(1)


def _embed_new(app: App, report: IngestReport, *, quiet: bool) -> int | None:
    """Embed what this (or an earlier, interrupted) run stored; refresh the search index."""
    from paperfeed.ingest.refresh import refresh_embeddings

    return refresh_embeddings(app.settings, app.config, progress=not quiet)


def _print_summary(report: IngestReport, embedded: int | None) -> None:
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
    if embedded is not None:
        line += f"; {embedded} embedded"
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
@pass_app
def status_command(app: App, as_json: bool) -> None:
    """Show how many items are stored and how every source is doing.

    \b
    Example:
      paperfeed status
      paperfeed status --json | jq '.sources[] | select(.disabled)'
    """
    config = app.config
    with Store.open(app.settings.db_path, read_only=True) as store:
        total = store.items.count()
        per_source = store.items.count_by_source()
        states = store.sources.all()
    rows = []
    for source in config.sources:
        state = states.get(source.name)
        rows.append(
            {
                "name": source.name,
                "type": source.type,
                "items": per_source.get(source.name, 0),
                "last_ok": state.last_ok if state else None,
                "last_error": state.last_error if state else None,
                "consecutive_failures": state.consecutive_failures if state else 0,
                "disabled": bool(state and state.disabled),
            }
        )
    if as_json:
        emit_json({"items": total, "sources": rows})
        return
    click.echo(f"{total} items in {app.settings.db_path}")
    for row in rows:
        flag = "DISABLED" if row["disabled"] else f"failures={row['consecutive_failures']}"
        click.echo(
            f"  {row['name']:<28} {row['items']:>7} items  last ok {row['last_ok'] or '-'}"
            f"  {flag}  {row['last_error'] or ''}"
        )
