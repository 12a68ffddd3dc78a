"""A real HTTP/1.1 fixture server on 127.0.0.1 (or ::1) in a thread, for tests that must never
touch the network.

Usage::

    from server import FixtureServer, static, redirect, status, drip

    with FixtureServer({"/feed": static(b"<rss/>", etag='"v1"')}) as srv:
        url = srv.url("/feed")
        ...
        srv.hits["/feed"]            # requests that reached the route (query string ignored)
        srv.body_bytes["/feed"]      # body bytes the server wrote for it (0 on a 304)
        srv.log                      # [Logged(time, path, method, headers, concurrency), ...]
        srv.peak_concurrency         # most requests in flight at once, over the whole server

Or as a pytest fixture: ``fixture_server`` (import it into the test module, or into conftest).

Routes: ``srv.routes[path] = handler`` at any time; a handler is ``Callable[[Exchange], None]``
that answers through the `Exchange` (``ex.send(status, headers, body)``, ``ex.start(...)`` +
``ex.write(...)`` / ``ex.write_chunk(...)``). Unknown paths get 404. Handler factories:

    static(body, etag=, last_modified=, content_type=, headers=)   200, or 304 on a matching
                                                                   If-None-Match/If-Modified-Since
    redirect(location, code=302)      a redirect (chains/loops: point routes at each other)
    chain(srv, prefix, hops, final)   installs prefix0 -> prefix1 -> ... -> prefix{hops} = final
    status(code, headers=, body=)     any status with headers (429 + Retry-After, 410, 503 ...)
    drip(interval=0.5, total=120)     200 headers at once, then 1 byte of body every `interval`
    never_answer()                    reads the request, never answers (until the server stops)
    header_delay(seconds, then)       waits `seconds` before calling `then` (another handler)
    gzip_bomb(size=1 GiB)             gzip of `size` zero bytes (~1 MB on the wire), chunked
    deflate_bomb(size=1 GiB)          the same with Content-Encoding: deflate (zlib stream)
    endless(chunk=64 KiB, total=None) a chunked body that never ends (or ends after `total`)
    lying_length(claimed, actual)     Content-Length: claimed, then `actual` bytes of body

Every handler returns when the server stops, so teardown never hangs; writes to a client that
went away end the handler quietly.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

GiB = 2**30
Handler = Callable[["Exchange"], None]


@dataclass(frozen=True)
class Logged:
    time: float  # time.monotonic() at arrival
    path: str  # with query string
    method: str
    headers: dict[str, str]  # lower-case names
    concurrency: int  # requests in flight on this server at arrival, this one included


class Exchange:
    """One request as a handler sees it, with helpers to answer it."""

    def __init__(self, raw: BaseHTTPRequestHandler, server: FixtureServer, route: str) -> None:
        self._raw = raw
        self.server = server
        self.route = route
        self.method = raw.command
        self.path = raw.path
        self.headers = {k.lower(): v for k, v in raw.headers.items()}
        self._chunked = False
        self._done = False

    def mark_done(self) -> None:
        """Stop counting this request as in flight. `send` calls it just before the write that
        completes the response: the client may start its next request the moment that write
        lands, before this handler's thread runs again."""
        if not self._done:
            self._done = True
            self.server._leave()

    @property
    def stopped(self) -> threading.Event:
        return self.server.stopped

    def start(self, code: int, headers: dict[str, str] | None = None) -> None:
        """Send the status line and headers; without Content-Length the body is chunked."""
        headers = dict(headers or {})
        self._raw.send_response_only(code)
        lower = {k.lower() for k in headers}
        if "content-length" not in lower and code not in (204, 304) and code >= 200:
            headers["Transfer-Encoding"] = "chunked"
            self._chunked = True
        for name, value in headers.items():
            self._raw.send_header(name, value)
        self._raw.end_headers()
        self._raw.wfile.flush()

    def write(self, data: bytes) -> None:
        """Write body bytes (framed as one chunk when the response is chunked).

        The bytes are counted before they are written: the client may read them and send its
        next request before this thread runs again, and a test that then reads `body_bytes`
        must already see them. A write that fails takes its count back."""
        if self._chunked and not data:
            return
        self.server._count_body(self.route, len(data))
        try:
            if self._chunked:
                self._raw.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
            else:
                self._raw.wfile.write(data)
            self._raw.wfile.flush()
        except OSError:
            self.server._count_body(self.route, -len(data))
            raise

    def finish(self) -> None:
        if self._chunked:
            self._raw.wfile.write(b"0\r\n\r\n")
            self._raw.wfile.flush()

    def send(self, code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        headers = dict(headers or {})
        if code not in (204, 304):
            headers.setdefault("Content-Length", str(len(body)))
        has_body = bool(body) and code not in (204, 304) and self.method != "HEAD"
        if not has_body:
            self.mark_done()
        self.start(code, headers)
        if has_body:
            self.mark_done()
            self.write(body)

    def wait(self, seconds: float) -> bool:
        """Sleep, waking early when the server stops; True if the server stopped."""
        return self.server.stopped.wait(seconds)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.server.fixture._dispatch(self)

    do_HEAD = do_GET  # noqa: N815
    do_POST = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fixture: FixtureServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-body are expected in these tests


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class FixtureServer:
    """A threaded HTTP server with a route table, a request log and per-route counters."""

    def __init__(self, routes: dict[str, Handler] | None = None, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Handler] = dict(routes or {})
        self.host = host
        self.hits: Counter[str] = Counter()
        self.body_bytes: Counter[str] = Counter()
        self.log: list[Logged] = []
        self.peak_concurrency = 0
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        cls = _HTTPServer6 if ":" in host else _HTTPServer
        self._httpd = cls((host, 0), _RequestHandler)
        self._httpd.fixture = self
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, route: str) -> list[Logged]:
        return [entry for entry in self.log if entry.path.split("?")[0] == route]

    def _count_body(self, route: str, n: int) -> None:
        with self._lock:
            self.body_bytes[route] += n

    def _dispatch(self, raw: BaseHTTPRequestHandler) -> None:
        route = raw.path.split("?")[0]
        with self._lock:
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
            self.hits[route] += 1
            ex = Exchange(raw, self, route)
            self.log.append(
                Logged(time.monotonic(), raw.path, raw.command, ex.headers, self._in_flight)
            )
        try:
            handler = self.routes.get(route, status(404))
            handler(ex)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            raw.close_connection = True
        finally:
            ex.mark_done()

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


@pytest.fixture
def fixture_server() -> Iterator[FixtureServer]:
    with FixtureServer() as srv:
        yield srv


# --- handler factories ------------------------------------------------------------------------


def static(
    body: bytes,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    content_type: str = "application/xml",
    headers: dict[str, str] | None = None,
) -> Handler:
    """200 with the body, or 304 when the request's validators match (no body bytes written)."""
    base = {"Content-Type": content_type, **(headers or {})}
    if etag:
        base["ETag"] = etag
    if last_modified:
        base["Last-Modified"] = last_modified

    def handle(ex: Exchange) -> None:
        if _not_modified(ex.headers, etag, last_modified):
            ex.send(304, {k: v for k, v in base.items() if k != "Content-Type"})
        else:
            ex.send(200, base, body)

    return handle


def _not_modified(headers: dict[str, str], etag: str | None, last_modified: str | None) -> bool:
    if "if-none-match" in headers:
        wanted = [tag.strip() for tag in headers["if-none-match"].split(",")]
        return etag is not None and (etag in wanted or "*" in wanted)
    if "if-modified-since" in headers and last_modified:
        try:
            since = parsedate_to_datetime(headers["if-modified-since"])
            return parsedate_to_datetime(last_modified) <= since
        except (TypeError, ValueError):
            return False
    return False


def redirect(location: str, code: int = 302) -> Handler:
    def handle(ex: Exchange) -> None:
        ex.send(code, {"Location": location})

    return handle


def chain(srv: FixtureServer, prefix: str, hops: int, final: Handler, code: int = 302) -> str:
    """Install `hops` redirects prefix0 -> prefix1 -> ... -> prefix{hops} (answered by `final`);
    returns the first path."""
    for i in range(hops):
        srv.routes[f"{prefix}{i}"] = redirect(f"{prefix}{i + 1}", code)
    srv.routes[f"{prefix}{hops}"] = final
    return f"{prefix}0"


def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Handler:
    def handle(ex: Exchange) -> None:
        ex.send(code, headers, body)

    return handle


def drip(interval: float = 0.5, total: int = 120, byte: bytes = b"x") -> Handler:
    """Headers at once (Content-Length: total), then one byte every `interval` seconds."""

    def handle(ex: Exchange) -> None:
        ex.start(200, {"Content-Length": str(total), "Content-Type": "text/plain"})
        for _ in range(total):
            if ex.wait(interval):
                return
            ex.write(byte[:1])

    return handle


def never_answer() -> Handler:
    def handle(ex: Exchange) -> None:
        ex.stopped.wait()
        ex._raw.close_connection = True

    return handle


def header_delay(seconds: float, then: Handler | None = None) -> Handler:
    after = then or status(200, {"Content-Type": "text/plain"}, b"late")

    def handle(ex: Exchange) -> None:
        if ex.wait(seconds):
            ex._raw.close_connection = True
            return
        after(ex)

    return handle


@functools.cache
def compressed_zeros(size: int = GiB, wbits: int = 16 + zlib.MAX_WBITS) -> bytes:
    """`size` zero bytes compressed (gzip by default; wbits=MAX_WBITS gives a zlib stream).
    Built once per process in 1 MiB steps, so memory stays small."""
    comp = zlib.compressobj(6, zlib.DEFLATED, wbits)
    block = bytes(2**20)
    parts = [comp.compress(block) for _ in range(size // len(block))]
    parts.append(comp.compress(bytes(size % len(block))))
    parts.append(comp.flush())
    return b"".join(parts)


def _stream_bomb(encoding: str, payload: bytes) -> Handler:
    def handle(ex: Exchange) -> None:
        ex.start(200, {"Content-Type": "application/xml", "Content-Encoding": encoding})
        for i in range(0, len(payload), 16384):
            if ex.stopped.is_set():
                return
            ex.write(payload[i : i + 16384])
        ex.finish()

    return handle


def gzip_bomb(size: int = GiB) -> Handler:
    return _stream_bomb("gzip", compressed_zeros(size))


def deflate_bomb(size: int = GiB) -> Handler:
    return _stream_bomb("deflate", compressed_zeros(size, zlib.MAX_WBITS))


def endless(chunk: int = 65536, total: int | None = None) -> Handler:
    """A chunked body of zero bytes that never ends, or ends after `total` bytes."""
    block = bytes(chunk)

    def handle(ex: Exchange) -> None:
        ex.start(200, {"Content-Type": "application/octet-stream"})
        sent = 0
        while (total is None or sent < total) and not ex.stopped.is_set():
            ex.write(block)
            sent += len(block)
        ex.finish()

    return handle


def lying_length(claimed: int, actual: int) -> Handler:
    """Content-Length: `claimed`, then `actual` zero bytes (more or fewer than claimed)."""

    def handle(ex: Exchange) -> None:
        ex.start(200, {"Content-Length": str(claimed), "Content-Type": "text/plain"})
        block = bytes(65536)
        sent = 0
        while sent < actual and not ex.stopped.is_set():
            part = block[: min(len(block), actual - sent)]
            ex.write(part)
            sent += len(part)
        ex._raw.close_connection = True

    return handle
