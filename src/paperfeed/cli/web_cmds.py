"""`paperfeed web`: the reading room in the browser (see paperfeed.web)."""

from __future__ import annotations

import click

from paperfeed.cli.app import main, pass_paperfeed
from paperfeed.library import Paperfeed


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8787, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback needs --token.",
)
@click.option("--token", help="Secret every request must carry (required off loopback).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in your browser.")
@pass_paperfeed
def web(pf: Paperfeed, port: int, host: str, token: str | None, open_browser: bool) -> None:
    """Serve the reading room: this week's digest, search, a paper's page with similar items,
    one-click marks, the reading list, progress charts and source health.

    Only this machine can reach it unless --host is given; then --token is required and every
    request must carry it (open http://HOST:PORT/?token=TOKEN once; a cookie keeps it).

    \b
    Example:
      paperfeed web --open
      paperfeed web --host 0.0.0.0 --port 8787 --token "$(openssl rand -hex 16)"
    """
    from paperfeed.web import serve
    from paperfeed.web.room import Room
    from paperfeed.web.safety import check_bind

    check_bind(host, token)  # before loading anything: a refused start is instant
    room = Room(pf.settings, pf.config if pf.has_config else None)
    click.echo(f"paperfeed reading room on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    serve(room, host, port, token, open_browser)
