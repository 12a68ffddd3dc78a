"""Run the reading room under uvicorn: in the foreground (`paperfeed web`) or in a thread (tests,
benchmarks). The safety checks on the bind address happen before anything listens."""

from __future__ import annotations

import threading
import time
import webbrowser
from dataclasses import dataclass

import uvicorn

from paperfeed.web.app import create_app
from paperfeed.web.room import Room
from paperfeed.web.safety import Policy, check_bind


def _one_blas_thread() -> None:
    """The server's matrix work is small (a query's 6 BERT layers, one week's vectors): BLAS
    threads only spin against each other, worst on a busy machine (query encoding 134 -> 23 ms
    at load average 10 on 2 cores). Process-wide: `paperfeed web` is a process of its own."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def _server(room: Room, policy: Policy) -> uvicorn.Server:
    _one_blas_thread()
    config = uvicorn.Config(
        create_app(room, policy),
        host=policy.host,
        port=policy.port,
        log_level="warning",
        lifespan="off",
        server_header=False,
    )
    return uvicorn.Server(config)


FLUSH_EVERY = 2.0  # seconds between tries to apply marks queued while the database was busy
TIDY_EVERY = 0.25  # seconds between checks that the shared read-only handle is idle


def _flush_while_running(room: Room, server: uvicorn.Server) -> None:
    """Apply queued marks soon after the other process lets go, not at some later command;
    let go of the idle read-only handle so other processes can write."""
    last_flush = 0.0
    while not server.should_exit:
        room.tidy()
        if time.monotonic() - last_flush >= FLUSH_EVERY:
            room.flush_pending()
            last_flush = time.monotonic()
        time.sleep(TIDY_EVERY)
    room.close()


def _start_flusher(room: Room, server: uvicorn.Server) -> None:
    threading.Thread(target=_flush_while_running, args=(room, server), daemon=True).start()


def url_of(policy: Policy) -> str:
    host = f"[{policy.host}]" if ":" in policy.host else policy.host
    return f"http://{host}:{policy.port}/"


def serve(
    room: Room, host: str, port: int, token: str | None = None, open_browser: bool = False
) -> None:
    """Serve until interrupted. Raises UnsafeBind before listening on a bad host/token pair."""
    check_bind(host, token)
    policy = Policy(host, port, token)
    room.warm()
    server = _server(room, policy)
    if open_browser:
        address = url_of(policy) + (f"?token={token}" if token else "")
        threading.Thread(target=_open_when_up, args=(server, address), daemon=True).start()
    _start_flusher(room, server)
    server.run()


def _open_when_up(server: uvicorn.Server, address: str) -> None:
    for _ in range(100):
        if server.started:
            webbrowser.open(address)
            return
        time.sleep(0.1)


@dataclass
class Running:
    """A reading room served from a background thread; `stop()` shuts it down."""

    server: uvicorn.Server
    thread: threading.Thread
    policy: Policy

    @property
    def url(self) -> str:
        return url_of(self.policy)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(room: Room, policy: Policy) -> Running:
    check_bind(policy.host, policy.token)
    server = _server(room, policy)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _start_flusher(room, server)
    for _ in range(200):
        if server.started:
            return Running(server, thread, policy)
        time.sleep(0.05)
    server.should_exit = True
    raise RuntimeError(f"the reading room did not start on {url_of(policy)}")
