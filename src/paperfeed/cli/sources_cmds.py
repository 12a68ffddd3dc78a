"""CLI commands `sources`, `sources enable` and `sources import-opml`.

Thin: the configured sources come from sources.yaml (paperfeed.config), their health from the
store (read-only for the listing), and the OPML import from paperfeed.opml.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from paperfeed.cli.app import App, emit_json, main, pass_app
from paperfeed.config import Config, SourceConfig
from paperfeed.errors import ConfigError
from paperfeed.opml import AddReport, add_feeds, parse_opml
from paperfeed.records import SourceState
from paperfeed.store import Store


@main.group("sources", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the sources as a JSON list.")
@pass_app
def sources_group(app: App, as_json: bool) -> None:
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
    config = app.config
    with Store.open(app.settings.db_path, read_only=True) as store:
        rows = source_rows(config, store.sources.all(), store.items.count_by_source())
    if as_json:
        emit_json(rows)
    else:
        _print_table(rows)


def source_rows(
    config: Config, states: Mapping[str, SourceState], counts: Mapping[str, int]
) -> list[dict[str, Any]]:
    """One JSON-ready row per configured source, in the order of sources.yaml."""
    return [
        _row(s, states.get(s.name) or SourceState(s.name), counts.get(s.name, 0))
        for s in config.sources
    ]


def _row(source: SourceConfig, state: SourceState, items: int) -> dict[str, Any]:
    return {
        "name": source.name,
        "type": source.type,
        "url": source.url or _arxiv_label(source),
        "enabled": source.enabled,
        "disabled": state.disabled,
        "disabled_reason": state.disabled_reason,
        "items": items,
        "last_ok": _iso(state.last_ok),
        "last_error": state.last_error,
        "consecutive_failures": state.consecutive_failures,
        "moved_to": state.moved_to,
    }


def _arxiv_label(source: SourceConfig) -> str | None:
    parts = [f"cat:{c}" for c in source.categories]
    if source.query:
        parts.append(source.query)
    return "arxiv: " + " ".join(parts) if parts else None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def _status(row: Mapping[str, Any]) -> str:
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
        last_ok = (r["last_ok"] or "never")[:16]
        click.echo(
            f"{r['name']:<{width}}  {r['type']:<5} {r['items']:>6}  {_status(r):<12} {last_ok}"
        )
        note = r["disabled_reason"] if r["disabled"] else r["last_error"]
        if note and r["enabled"]:
            click.echo(f"{'':<{width}}  ↳ {note}")
        if r["moved_to"]:
            click.echo(f"{'':<{width}}  ↳ moved permanently to {r['moved_to']}")
    click.echo(f"{len(rows)} sources; {sum(_status(r) == 'ok' for r in rows)} ok")


@sources_group.command("enable")
@click.argument("name")
@pass_app
def enable_command(app: App, name: str) -> None:
    """Turn a disabled source back on: clears the disabled flag, the failure count and any
    retry window, so the next ingest fetches it again.

    \b
    Example:
      paperfeed sources enable "Netflix Tech Blog"
    """
    config = app.config
    app.settings.ensure_home()
    with Store.open(app.settings.db_path) as store:
        known = [s.name for s in config.sources] + list(store.sources.all())
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{config.path}: sources: unknown source {name!r}{hint}")
        store.sources.enable(name)
    click.echo(f"enabled {name}: it will be fetched at the next ingest")
    source = config.source(name)
    if source is not None and not source.enabled:
        click.echo(
            f"note: {config.path}:{source.line}: {name!r} is still `enabled: false` there; "
            "change it to fetch this source",
            err=True,
        )


@sources_group.command("import-opml")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be added; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def import_opml_command(app: App, file: Path, dry_run: bool, as_json: bool) -> None:
    """Add the feeds of an OPML export (from a feed reader) to sources.yaml as `type: feed`
    sources. Feeds already configured (same normalised URL) are skipped; names that clash get
    -2, -3; comments and layout in sources.yaml are kept; the file is replaced atomically.

    \b
    Example:
      paperfeed sources import-opml ~/Downloads/feedly.opml --dry-run
      paperfeed sources import-opml engineering_blogs.opml
    """
    feeds = parse_opml(file.read_bytes(), name=str(file))
    config_path = app.settings.config_path
    report = add_feeds(config_path, feeds, dry_run=dry_run)
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
