"""CLI commands `sources`, `sources enable` and `sources import-opml`.

Thin wrappers over `Paperfeed.sources`, `.enable_source` and `.import_opml`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed, when
from paperfeed.library import Paperfeed

if TYPE_CHECKING:
    from paperfeed.opml import AddReport


@main.group("sources", invoke_without_command=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="--json prints a list of {name, type, url, enabled, disabled, disabled_reason, items, "
    "last_ok, last_error, consecutive_failures, moved_to}; times in ISO 8601.",
)
@pass_paperfeed
def sources_group(pf: Paperfeed, as_json: bool) -> None:
    """List the sources in sources.yaml with their health: items stored, last success, errors.

    \b
    Example:
      paperfeed sources
      paperfeed sources --json
      paperfeed sources enable "Netflix Tech Blog"
      paperfeed sources import-opml feeds.opml --dry-run
    """
    if click.get_current_context().invoked_subcommand is not None:
        return
    rows = pf.sources()
    if as_json:
        emit_json(rows)
    else:
        _print_table(rows)


def _status(row: Mapping[str, Any]) -> str:
    if row["type"] in ("bulk", "-"):
        return str(row["url"])
    if not row["enabled"]:
        return "off"
    if row["disabled"]:
        return "disabled"
    if row["consecutive_failures"]:
        return f"failing x{row['consecutive_failures']}"
    return "ok" if row["last_ok"] else "new"


def _print_table(rows: list[dict[str, Any]]) -> None:
    width = max([len(r["name"]) for r in rows] + [6])
    click.echo(f"{'source':<{width}}  {'type':<5} {'items':>6}  {'status':<12} last ok")
    for r in rows:
        last_ok = when(datetime.fromisoformat(r["last_ok"])) if r["last_ok"] else "never"
        click.echo(
            f"{r['name']:<{width}}  {r['type']:<5} {r['items']:>6}  {_status(r):<12} {last_ok}"
        )
        note = r["disabled_reason"] if r["disabled"] else r["last_error"]
        if note and r["enabled"]:
            click.echo(f"{'':<{width}}  ↳ {note}")
        if r["moved_to"]:
            click.echo(f"{'':<{width}}  ↳ moved permanently to {r['moved_to']}")
    mine = [r for r in rows if r["type"] not in ("bulk", "-")]
    click.echo(f"{len(mine)} sources; {sum(_status(r) == 'ok' for r in mine)} ok")


@sources_group.command("enable")
@click.argument("name")
@pass_paperfeed
def enable_command(pf: Paperfeed, name: str) -> None:
    """Turn a disabled source back on: clears the disabled flag, the failure count and any
    retry window, so the next ingest fetches it again.

    \b
    Example:
      paperfeed sources enable "Netflix Tech Blog"
    """
    name, source = pf.enable_source(name)
    if source is None:
        click.echo(f"cleared the failure state of {name} (no longer in {pf.config.path})")
    elif source.enabled:
        click.echo(f"enabled {name}: it will be fetched at the next ingest")
    else:
        click.echo(
            f"cleared the failure state of {name}, but it stays off: {pf.config.path}:"
            f"{source.line} has `enabled: false` (set it to true to fetch this source)"
        )


@sources_group.command("import-opml")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be added; change nothing.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="--json prints {config, dry_run, added: [names], skipped: [{url, reason}]}.",
)
@pass_paperfeed
def import_opml_command(pf: Paperfeed, file: Path, dry_run: bool, as_json: bool) -> None:
    """Add the feeds of an OPML export (from a feed reader) to sources.yaml as `type: feed`
    sources. Feeds already configured (same normalised URL) are skipped; names that clash get
    -2, -3; comments and layout in sources.yaml are kept; the file is replaced atomically.

    \b
    Example:
      paperfeed sources import-opml ~/Downloads/feedly.opml --dry-run
      paperfeed sources import-opml engineering_blogs.opml
    """
    config_path = pf.settings.config_path
    report = pf.import_opml(file, dry_run=dry_run)
    if as_json:
        emit_json(_report_json(report, config_path, dry_run))
    else:
        _print_report(report, config_path, dry_run)


def _report_json(report: AddReport, config_path: Path, dry_run: bool) -> dict[str, Any]:
    return {
        "config": str(config_path),
        "dry_run": dry_run,
        "added": report.added,
        "skipped": [{"url": url, "reason": reason} for url, reason in report.skipped],
    }


def _print_report(report: AddReport, config_path: Path, dry_run: bool) -> None:
    for name in report.added:
        click.echo(f"+ {name}")
    for url, reason in report.skipped:
        click.echo(f"  skipped {url}: {reason}")
    verb = "would add" if dry_run else "added"
    click.echo(f"{verb} {len(report.added)} feeds to {config_path}; skipped {len(report.skipped)}")
