"""CLI command `embed`: a thin wrapper over paperfeed.embed.embedder.embed_pending."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click

from paperfeed.cli.app import App, emit_json, main, pass_app
from paperfeed.config import DEFAULT_MODEL


def configured_model(app: App) -> str:
    """The model named in sources.yaml; the default when there is no sources.yaml (embedding
    needs no sources). An invalid sources.yaml still raises its ConfigError."""
    if not app.settings.config_path.is_file():
        return DEFAULT_MODEL
    return app.config.model


@main.command("embed")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Items per write transaction.",
)
@click.option("--model", "model_name", help="Model name or path (default: from sources.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def embed_command(app: App, batch_size: int, model_name: str | None, as_json: bool) -> None:
    """Embed items that have no vector for the model yet, or whose text changed.

    Items already embedded are skipped without loading the model, so running it again with
    nothing new is instant. Changing the model in sources.yaml re-embeds everything for it.

    \b
    Example:
      paperfeed embed --batch-size 512
    """
    from tqdm import tqdm

    from paperfeed.embed.embedder import embed_pending

    model = model_name or configured_model(app)
    with tqdm(
        desc="embedding",
        unit=" items",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        leave=False,
    ) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = embed_pending(app.settings, model, batch_size=batch_size, progress=progress)
    if as_json:
        emit_json({**asdict(report), "seconds": round(report.seconds, 3)})
        return
    rate = f" ({report.embedded / report.seconds:,.1f}/s)" if report.embedded else ""
    click.echo(
        f"embedded {report.embedded} items with {report.model} in {report.seconds:.1f} s{rate}; "
        f"{report.skipped} already up to date"
    )
