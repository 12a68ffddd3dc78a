"""CLI command `embed`: a thin wrapper over `Paperfeed.embed`."""

from __future__ import annotations

from dataclasses import asdict

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed
from paperfeed.library import Paperfeed


@main.command("embed")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Items per write transaction.",
)
@click.option("--model", "model_name", help="Model name or path (default: from sources.yaml).")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr (for cron).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_paperfeed
def embed_command(
    pf: Paperfeed, batch_size: int, model_name: str | None, quiet: bool, as_json: bool
) -> None:
    """Embed items that have no vector for the model yet, or whose text changed.

    Items already embedded are skipped without loading the model, so running it again with
    nothing new is instant. Changing the model in sources.yaml re-embeds everything for it.
    Progress: a bar with rate and ETA on a terminal, one line off it (stderr).

    --json prints {embedded, skipped, model, seconds}.

    \b
    Example:
      paperfeed embed --batch-size 512
    """
    from paperfeed.cli.progress import Reporter

    progress = Reporter(quiet=quiet or as_json)
    report = pf.embed(model=model_name, batch_size=batch_size, progress=progress)
    if as_json:
        emit_json({**asdict(report), "seconds": round(report.seconds, 3)})
        return
    rate = f" ({report.embedded / report.seconds:,.1f}/s)" if report.embedded else ""
    click.echo(
        f"embedded {report.embedded} items with {report.model} in {report.seconds:.1f} s{rate}; "
        f"{report.skipped} already up to date"
    )
