"""CLI commands (serve_cmds)."""

from paperfeed.cli.app import main  # noqa: F401
