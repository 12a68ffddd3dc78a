"""The click group every command hangs on, and the small shared pieces commands use.

Commands stay thin: parse arguments, call one method of the `Paperfeed` object, print.
A PaperfeedError becomes `error: <message>` on stderr and its exit code; never a traceback.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from paperfeed import __version__
from paperfeed.errors import PaperfeedError
from paperfeed.library import Paperfeed

F = TypeVar("F", bound=Callable[..., Any])


class PaperfeedGroup(click.Group):
    """Imports command modules on demand (see `paperfeed.cli.load_commands`)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and self is main:
            from paperfeed.cli import load_commands

            load_commands(cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        if self is main:
            from paperfeed.cli import load_commands

            load_commands()
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PaperfeedError as exc:
            _fail(exc)
        except click.UsageError as exc:
            # one line, like every other error (click's default adds the usage and a hint)
            where = exc.ctx.command_path if exc.ctx else "paperfeed"
            click.echo(f"error: {exc.format_message()} (see `{where} --help`)", err=True)
            sys.exit(exc.exit_code)
        except Exception as exc:
            # a full disk, a damaged database or a read-only home surfaces wherever DuckDB or
            # the OS first notice it: one line and its own exit code, never a traceback
            fault = _storage_fault(ctx, exc)
            if fault is None:
                raise
            _fail(fault)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


def _fail(exc: PaperfeedError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


def _storage_fault(ctx: click.Context, exc: Exception) -> PaperfeedError | None:
    if not isinstance(ctx.obj, Paperfeed):
        return None
    from paperfeed.store.connection import storage_fault

    return storage_fault(exc, ctx.obj.settings.home)


pass_paperfeed = click.make_pass_decorator(Paperfeed)


@click.group(cls=PaperfeedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory (default: $PAPERFEED_HOME or a per-user data directory).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="sources.yaml (default: $PAPERFEED_CONFIG, ./sources.yaml, then HOME/sources.yaml).",
)
@click.version_option(__version__, prog_name="paperfeed")
@click.pass_context
def main(ctx: click.Context, home: Path | None, config_path: Path | None) -> None:
    """paperfeed: follow arXiv, ML blogs and newsletters; get one ranked digest a week.

    \b
    Example:
      paperfeed ingest            # fetch every source in sources.yaml
      paperfeed search "retrieval augmented generation"
      paperfeed digest            # this week's markdown digest

    \b
    Exit status:
      0   success
      1   error (bad sources.yaml, unknown id, ...)
      2   usage error (a bad option or argument)
      3   ingest finished, but some sources failed
      65  the database is damaged: run `paperfeed recover`
      73  the home folder is read-only
      74  disk full (nothing was half-written)
      75  the database is busy in another process: try again
    """
    ctx.obj = Paperfeed.resolve(home, config_path)


def when(value: datetime | None, now: datetime | None = None) -> str:
    """A stored instant for people: local time to the second and its age, '2026-12-01
    18:59:06 (3 h ago)'; '-' for never. (--json output keeps ISO 8601.)"""
    if value is None:
        return "-"
    now = now or datetime.now(UTC)
    return f"{value.astimezone().strftime('%Y-%m-%d %H:%M:%S')} ({_age(now - value)})"


def _age(elapsed: timedelta) -> str:
    seconds = int(elapsed.total_seconds())
    if seconds < 0:
        return "in the future"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def emit_json(value: Any) -> None:
    """Readable UTF-8 JSON in which invisible characters (bidi, zero-width, C1 controls) stay
    escaped as \\uXXXX: the data is kept whole, and a terminal showing it cannot be fooled."""
    from paperfeed.text import INVISIBLE_OR_CONTROL

    text = json.dumps(value, indent=2, ensure_ascii=False, default=_json_default)
    click.echo(INVISIBLE_OR_CONTROL.sub(_json_escape, text))


def _json_escape(match: re.Match[str]) -> str:
    encoded = match.group().encode("utf-16-be")
    return "".join(f"\\u{encoded[i : i + 2].hex()}" for i in range(0, len(encoded), 2))


def _json_default(value: Any) -> Any:
    """Dates as ISO 8601 everywhere; anything else JSON has no type for as its text."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
