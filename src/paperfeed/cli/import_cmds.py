"""CLI commands (import_cmds)."""

from paperfeed.cli.app import main  # noqa: F401
