"""CLI command `area add-example`: seed a focus area with papers the learner already likes.

A thin wrapper over `Paperfeed.add_examples`.
"""

from __future__ import annotations

import click

from paperfeed.cli.app import emit_json, main, pass_paperfeed
from paperfeed.examples import ExamplesReport
from paperfeed.library import Paperfeed


@main.group("area")
def area_group() -> None:
    """Work on the focus areas of sources.yaml.

    \b
    Example:
      paperfeed area add-example "Robot learning" 2104.12255 https://arxiv.org/abs/2310.08864v2
    """


@area_group.command("add-example")
@click.argument("area")
@click.argument("papers", nargs=-1, required=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="--json prints {area, added, already, fetched, missing}.",
)
@pass_paperfeed
def add_example_command(pf: Paperfeed, area: str, papers: tuple[str, ...], as_json: bool) -> None:
    """Add example papers (arXiv ids, any version, or URLs) to AREA's `examples:` in
    sources.yaml. They count as papers you read in that area from the next digest on. Papers
    not in the store yet are fetched from arXiv; run `paperfeed embed` (or ingest) afterwards
    so the ranking can use them. sources.yaml is replaced atomically, comments kept.

    \b
    Example:
      paperfeed area add-example "Robot learning" 2104.12255 2310.08864v2
      paperfeed area add-example NLP https://arxiv.org/abs/1706.03762 --json
    """
    report = pf.add_examples(area, papers)
    if as_json:
        emit_json(report.as_json())
    else:
        _print_report(report)


def _print_report(report: ExamplesReport) -> None:
    for reference in report.added:
        click.echo(f"+ {reference}")
    for reference in report.already:
        click.echo(f"  {reference} (already an example)")
    for reference in report.missing:
        click.echo(f"  {reference}: not in the store (arXiv did not return it)", err=True)
    click.echo(
        f"{report.area}: added {len(report.added)} examples, fetched {len(report.fetched)} "
        f"from arXiv"
    )
