"""CLI group `import`: bulk loads from files, thin wrappers over `Paperfeed.import_arxiv`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed
from paperfeed.errors import NotPapers
from paperfeed.ingest.bulk import DEFAULT_BATCH_SIZE
from paperfeed.library import Paperfeed


@main.group("import")
def import_group() -> None:
    """Load items in bulk from files instead of fetching them.

    \b
    Example:
      paperfeed import arxiv-metadata arxiv-metadata-oai-snapshot.json.gz
    """


@import_group.command("arxiv-metadata")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Papers per transaction.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr (for cron).")
@click.option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
@pass_paperfeed
def arxiv_metadata_command(
    pf: Paperfeed, file: Path, batch_size: int, quiet: bool, as_json: bool
) -> None:
    """Import arXiv's metadata snapshot (JSON lines, .gz or plain) as papers.

    Each line needs at least `id` and `title`; lines that are not usable papers are
    counted, not fatal, but when more than half of the lines are not papers the command
    exits 1 (the papers it did find are kept). Importing the same file again adds
    nothing. Run `paperfeed embed` afterwards to make the papers searchable.

    --json prints {read, new, updated, unchanged, bad_lines, seconds, papers_per_second}.

    \b
    Example:
      paperfeed import arxiv-metadata arxiv-metadata-oai-snapshot.json.gz --batch-size 10000
    """
    from paperfeed.cli.progress import Reporter

    progress = Reporter(quiet=quiet or as_json)
    report = pf.import_arxiv(file, batch_size=batch_size, progress=progress)
    if as_json:
        emit_json({**asdict(report), "papers_per_second": round(report.papers_per_second, 1)})
    else:
        click.echo(
            f"read {report.read} papers in {report.seconds:.1f} s "
            f"({report.papers_per_second:,.0f}/s): {report.new} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.bad_lines} bad lines"
        )
    if report.mostly_not_papers:
        lines = report.read + report.bad_lines
        raise NotPapers(
            f"{report.bad_lines} of {lines} lines of {file} are not arXiv papers: "
            "is it arXiv's metadata snapshot (JSON lines with id and title)?"
        )
