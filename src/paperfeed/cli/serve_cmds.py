"""`paperfeed serve`: serve the ingest and digest flows on their sources.yaml schedules.

I/O rule: this command only talks to a Prefect server (a health check, then Prefect's `serve`),
and loads the flow files by path through `paperfeed.flowfiles`. Prefect is imported
inside the command only, so `import paperfeed.cli` and every other command stay Prefect-free.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from paperfeed.cli.app import main, pass_paperfeed
from paperfeed.config import Schedules
from paperfeed.flowfiles import default_flows_dir, load_flow_module
from paperfeed.library import Paperfeed
from paperfeed.settings import Settings

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEFAULT_API_URL = "http://127.0.0.1:4200/api"
INGEST_DEPLOYMENT = "daily"
DIGEST_DEPLOYMENT = "weekly"
EX_UNAVAILABLE = 69


def flow_parameters(settings: Settings) -> dict[str, Any]:
    """Absolute paths, so scheduled runs use this home and config whatever their directory."""
    return {"home": str(settings.home.resolve()), "config": str(settings.config_path.resolve())}


def build_deployments(
    folder: Path, settings: Settings, schedules: Schedules
) -> list[RunnerDeployment]:
    """The two deployments, with the cron schedules and time zone of sources.yaml."""
    from prefect.schedules import Cron

    params = flow_parameters(settings)
    ingest_flow = load_flow_module(folder, "ingest").ingest_flow
    digest_flow = load_flow_module(folder, "digest").digest_flow
    return [
        ingest_flow.to_deployment(
            name=INGEST_DEPLOYMENT,
            schedule=Cron(schedules.ingest_cron, timezone=schedules.timezone),
            parameters=params,
            description="Fetch every enabled source, store, embed and reindex.",
            tags=["paperfeed"],
        ),
        digest_flow.to_deployment(
            name=DIGEST_DEPLOYMENT,
            schedule=Cron(schedules.digest_cron, timezone=schedules.timezone),
            parameters=params,
            description="Write the weekly digest and publish it as an artifact.",
            tags=["paperfeed"],
        ),
    ]


def server_healthy(url: str) -> bool:
    """True when a Prefect API answers its health check at `url`."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        return client.api_healthcheck() is None


def find_api_url() -> str | None:
    """The configured PREFECT_API_URL, else a local server on the default port, else None."""
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value()
    candidate = configured or DEFAULT_API_URL
    return candidate if server_healthy(candidate) else None


@main.command()
@click.option(
    "--flows-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PAPERFEED_FLOWS",
    help="Folder holding ingest.py and digest.py.",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Flow runs at once (DuckDB allows one writing process).",
)
@pass_paperfeed
def serve(pf: Paperfeed, flows_dir: Path | None, limit: int) -> None:
    """Serve the ingest and digest flows on the schedules in sources.yaml.

    Needs a running Prefect server (`prefect server start`); runs until Ctrl-C.

    \b
    Example:
      prefect server start &                     # UI at http://127.0.0.1:4200
      paperfeed serve
      prefect deployment run 'paperfeed-ingest/daily'    # a run now, by hand
    """
    schedules = pf.config.schedules
    api_url = find_api_url()
    if api_url is None:
        click.echo(
            "no Prefect server reachable: start one with `prefect server start`, then "
            f"`prefect config set PREFECT_API_URL={DEFAULT_API_URL}`",
            err=True,
        )
        sys.exit(EX_UNAVAILABLE)
    _serve(flows_dir or default_flows_dir(), pf.settings, schedules, api_url, limit)


def _serve(
    folder: Path, settings: Settings, schedules: Schedules, api_url: str, limit: int
) -> None:
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    os.environ["PREFECT_API_URL"] = api_url  # the runs' subprocesses report to the same server
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        deployments = build_deployments(folder, settings, schedules)
        click.echo(
            f"serving {len(deployments)} deployments on {api_url} "
            f"(ingest '{schedules.ingest_cron}', digest '{schedules.digest_cron}', "
            f"{schedules.timezone})",
            err=True,
        )
        prefect_serve(*deployments, limit=limit)
