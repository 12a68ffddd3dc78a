"""CLI commands `restore` and `recover`: thin wrappers over `Paperfeed.restore` and `.recover`."""

from __future__ import annotations

from pathlib import Path

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed
from paperfeed.library import Paperfeed

_RESTORE_JSON = (
    "--json prints {backup, set_aside, marks_replayed, marks_unmatched}: the backup put back, "
    "where the replaced file was kept (null if none), and how many logged marks were applied "
    "or matched no item."
)
_RECOVER_JSON = (
    "--json prints {backup, set_aside, marks_replayed, marks_unmatched, ingest, embedded}: "
    "as for `restore` (backup null when rebuilt from scratch), plus the ingest totals (null with "
    "--no-ingest) and how many items were embedded (null with --no-embed)."
)


@main.command("restore", epilog=_RESTORE_JSON)
@click.argument("backup", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--json", "as_json", is_flag=True, help="Print what was restored as JSON (see below)."
)
@pass_paperfeed
def restore_command(pf: Paperfeed, backup: Path | None, as_json: bool) -> None:
    """Put a backup of the database back (default: the newest in HOME/backups), then replay
    every mark in read_marks.jsonl. The replaced file is kept beside it, renamed.

    \b
    Example:
      paperfeed restore
      paperfeed restore ~/.local/share/paperfeed/backups/paperfeed-20250105T070000000000Z.duckdb
    """
    restored = pf.restore(backup)
    result = {
        "backup": str(restored.backup),
        "set_aside": str(restored.set_aside) if restored.set_aside else None,
        "marks_replayed": restored.marks.applied,
        "marks_unmatched": restored.marks.unmatched,
    }
    if as_json:
        emit_json(result)
        return
    click.echo(f"restored {restored.backup}; {restored.marks.applied} marks replayed")
    if restored.set_aside:
        click.echo(f"the replaced database is kept as {restored.set_aside}")


@main.command("recover", epilog=_RECOVER_JSON)
@click.option("--no-ingest", is_flag=True, help="Restore and replay marks, but fetch nothing.")
@click.option("--no-embed", is_flag=True, help="Re-ingest, but do not embed the items now.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print what was recovered as JSON (see below)."
)
@pass_paperfeed
def recover_command(pf: Paperfeed, no_ingest: bool, no_embed: bool, as_json: bool) -> None:
    """Rebuild a lost or damaged database: the newest backup (or an empty database), every mark
    in read_marks.jsonl replayed, then every source fetched again. The old file is kept aside.

    \b
    Example:
      paperfeed recover
      paperfeed recover --no-ingest --json
    """
    outcome = pf.recover(fetch=not no_ingest)
    embedded = None
    if outcome.ingest is not None and not no_embed:
        from paperfeed.cli.progress import Reporter

        embedded = pf.refresh(progress=Reporter(quiet=as_json))
    totals = outcome.ingest.totals() if outcome.ingest else None
    result = {
        "backup": str(outcome.backup) if outcome.backup else None,
        "set_aside": str(outcome.set_aside) if outcome.set_aside else None,
        "marks_replayed": outcome.marks.applied,
        "marks_unmatched": outcome.marks.unmatched,
        "ingest": totals,
        "embedded": embedded,
    }
    if as_json:
        emit_json(result)
        return
    start = f"from {outcome.backup}" if outcome.backup else "from scratch (no backup yet)"
    click.echo(f"database rebuilt {start}; {outcome.marks.applied} marks replayed")
    if outcome.marks.unmatched:
        click.echo(f"{outcome.marks.unmatched} marks are on items no source returned again")
    if totals is not None:
        click.echo(f"re-ingested: {totals['new']} new, {totals['updated']} updated")
    if outcome.set_aside:
        click.echo(f"the old database is kept as {outcome.set_aside}")
