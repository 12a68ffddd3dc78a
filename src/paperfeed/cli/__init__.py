"""Command-line interface. Each module below registers its commands on `main` when imported.

Modules are imported when a command needs them, not up front: `paperfeed search` imports only
`search_cmds` (a cold search should not pay for the HTTP stack, bulk import or ranking), any other
command name, `--help` and `load_commands()` import them all.
"""

from __future__ import annotations

import importlib

from paperfeed.cli.app import main

COMMAND_MODULES = (
    "area_cmds",
    "backup_cmds",
    "digest_cmds",
    "embed_cmds",
    "import_cmds",
    "ingest_cmds",
    "reading_cmds",
    "search_cmds",
    "serve_cmds",
    "show_cmds",
    "sources_cmds",
    "web_cmds",
)
# Commands imported alone, for speed; a name missing here still works (everything is imported).
FAST_COMMANDS = {"search": "search_cmds", "similar": "search_cmds", "reindex": "search_cmds"}


def load_commands(name: str | None = None) -> None:
    """Import the module registering command `name`, or every command module."""
    modules = (FAST_COMMANDS[name],) if name in FAST_COMMANDS else COMMAND_MODULES
    for module in modules:
        importlib.import_module(f"paperfeed.cli.{module}")


__all__ = ["COMMAND_MODULES", "load_commands", "main"]
