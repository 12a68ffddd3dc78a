"""Address guard and deadline plumbing below httpx: which hosts may be contacted, and a network
backend that resolves a host, checks every address and connects to the checked IP (so a DNS
answer cannot change between the check and the connect), with every socket read and write
bounded by the current fetch's total deadline."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import typing
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import httpcore
import httpx

from paperfeed.addresses import IPAddress, literal_ip
from paperfeed.errors import BlockedAddress, DeadlineExceeded, TransportError

Resolver = Callable[[str, int], list[str]]
AddressCheck = Callable[[IPAddress], bool]

ALLOWED_SCHEMES = ("http", "https")


class Deadline:
    """The total time budget of one fetch; it starts when the first request goes out."""

    def __init__(self, clock: Callable[[], float], seconds: float) -> None:
        self._clock = clock
        self._seconds = seconds
        self._expires: float | None = None

    def start(self) -> None:
        if self._expires is None:
            self._expires = self._clock() + self._seconds

    @property
    def started(self) -> bool:
        return self._expires is not None

    def remaining(self) -> float:
        return self._seconds if self._expires is None else self._expires - self._clock()

    def passed(self) -> bool:
        return self.started and self.remaining() <= 0.01

    def check(self, url: str) -> None:
        if self.passed():
            raise DeadlineExceeded(f"{url}: no complete answer within {self._seconds:g} s")


@dataclass(frozen=True, slots=True)
class FetchScope:
    """What the network backend needs to know about the fetch running in this thread."""

    deadline: Deadline
    allow_private: bool


# httpx sync I/O runs in the calling thread, so a context variable carries the fetch's scope
# down to the shared connection pool's sockets without a global.
_SCOPE: ContextVar[FetchScope | None] = ContextVar("paperfeed_http_scope", default=None)


@contextlib.contextmanager
def fetch_scope(scope: FetchScope) -> Iterator[None]:
    token = _SCOPE.set(scope)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def check_url(url: httpx.URL, allow_private: bool, is_public: AddressCheck) -> None:
    """Refuse non-http(s) schemes and, unless allowed, hosts that literally name a private IP."""
    if url.scheme not in ALLOWED_SCHEMES:
        raise BlockedAddress(f"{url}: only http and https URLs are fetched")
    if not url.host:
        raise BlockedAddress(f"{url}: no host")
    ip = literal_ip(url.host)
    if ip is not None and not allow_private and not is_public(ip):
        raise BlockedAddress(f"{url}: {ip} is not a public address (allow_private is off)")


def system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _bounded(timeout: float | None) -> float | None:
    """The socket timeout for one operation: never past the fetch's total deadline."""
    scope = _SCOPE.get()
    if scope is None or not scope.deadline.started:
        return timeout
    left = scope.deadline.remaining()
    if left <= 0:
        raise httpcore.ReadTimeout("total deadline passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write stops at the fetch's total deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout))
        return DeadlineStream(tls)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves, checks every address, then connects to a checked IP; TLS still uses the
    hostname for SNI and certificate checks (httpcore passes it to start_tls)."""

    def __init__(self, resolve: Resolver, is_public: AddressCheck) -> None:
        self._resolve = resolve
        self._is_public = is_public
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        scope = _SCOPE.get()
        addresses = self.checked_addresses(host, port, scope is not None and scope.allow_private)
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address, port, _bounded(timeout), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            return DeadlineStream(stream)
        raise error

    def checked_addresses(self, host: str, port: int, allow_private: bool) -> list[str]:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in self._resolve(host, port)]
        except (OSError, UnicodeError) as exc:
            failure = TransportError(f"cannot resolve {host}: {exc}")
            failure.transient = False  # no network here: retrying in this run will not help
            raise failure from exc
        refused = [ip for ip in addresses if not self._is_public(ip)]
        if refused and not allow_private:
            raise BlockedAddress(f"{host} resolves to {refused[0]}, not a public address")
        return [str(ip) for ip in addresses]

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_transport(resolve: Resolver, is_public: AddressCheck) -> httpx.HTTPTransport:
    """httpx's own transport over a connection pool that uses the guarded backend."""
    ssl_context = httpx.create_ssl_context(trust_env=False)
    transport = httpx.HTTPTransport(verify=ssl_context, trust_env=False, retries=0)
    # httpx has no public hook for a network backend; its transport is a thin wrapper around
    # this pool, so swapping the pool keeps httpx's response and exception mapping.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        network_backend=GuardedBackend(resolve, is_public),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        retries=0,
    )
    return transport
