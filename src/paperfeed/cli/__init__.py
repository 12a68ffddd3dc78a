"""Command-line interface. Each module below registers its commands on `main`."""

from paperfeed.cli import (  # noqa: F401  (imported for their @main.command registrations)
    digest_cmds,
    embed_cmds,
    import_cmds,
    ingest_cmds,
    reading_cmds,
    search_cmds,
    serve_cmds,
    sources_cmds,
)
from paperfeed.cli.app import main

__all__ = ["main"]
