"""CLI commands (digest_cmds)."""

from paperfeed.cli.app import main  # noqa: F401
