"""HttpClient: one fetch = the politeness gates, then up to `max_redirects` manually followed
hops, each checked by the address guard, under one total deadline; statuses become typed errors.
This is the only place paperfeed sends a request."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from paperfeed import __version__
from paperfeed.addresses import is_public_address
from paperfeed.errors import (
    DeadlineExceeded,
    Deferred,
    FetchError,
    Gone,
    HttpStatusError,
    TooManyRedirects,
    TransportError,
)
from paperfeed.records import FetchResponse, Validators

from ._body import ACCEPT_ENCODING, read_body
from ._guard import (
    AddressCheck,
    Deadline,
    FetchScope,
    Resolver,
    check_url,
    fetch_scope,
    guarded_transport,
    system_resolve,
)
from ._polite import GATES, HOST_SLOTS, uniform_jitter

REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
DEFERRING = frozenset({429, 503})
NO_VALIDATORS = Validators()
_SECONDS = re.compile(r"\s*([0-9]+)\s*")


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_deadline: float = 30.0  # enforced by us: httpx timeouts are per read
    max_body_bytes: int = 15 * 2**20  # decoded bytes
    max_redirects: int = 5
    per_host_connections: int = 1
    retry_after_cap: float = 24 * 3600
    default_retry_after: float = 3600  # 429/503 without a usable Retry-After
    user_agent: str = f"paperfeed/{__version__} (+https://github.com/paperfeed/paperfeed)"


def host_of(url: str) -> str:
    """The politeness key of a URL: its lower-case host, with the port when one is given."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port is not None else host


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if unusable."""
    if value is None:
        return None
    if match := _SECONDS.fullmatch(value):
        return float(match.group(1))
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - now).total_seconds()


def retry_until(value: str | None, now: datetime, policy: HttpPolicy) -> datetime:
    delay = parse_retry_after(value, now)
    if delay is None:
        delay = policy.default_retry_after
    return now + timedelta(seconds=min(max(delay, 0.0), policy.retry_after_cap))


@dataclass
class RedirectChain:
    """The URLs one fetch has visited; decides whether the next hop may be followed."""

    visited: list[str]
    limit: int
    moved_to: str | None = None
    permanent: bool = True  # every hop so far was a 301/308

    def follow(self, status: int, location: str) -> str:
        current = httpx.URL(self.visited[-1])
        target = current.join(location).copy_with(fragment=None)
        start = self.visited[0]
        if len(self.visited) > self.limit:
            raise TooManyRedirects(f"{start}: more than {self.limit} redirects")
        if str(target) in self.visited:
            raise TooManyRedirects(f"{start}: redirect loop at {target}")
        if current.scheme == "https" and target.scheme == "http":
            raise TooManyRedirects(f"{start}: refused https→http downgrade to {target}")
        self.permanent = self.permanent and status in PERMANENT
        if self.permanent:
            self.moved_to = str(target)
        self.visited.append(str(target))
        return str(target)


@dataclass(frozen=True, slots=True)
class _Redirect:
    status: int
    location: str


@dataclass(frozen=True, slots=True)
class _Request:
    """The per-fetch settings every hop needs."""

    validators: Validators
    allow_private: bool
    accept: str | None
    deadline: Deadline = field(compare=False)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HttpClient:
    """Fetches URLs politely and defensively; see the package docstring for the rules."""

    def __init__(
        self,
        policy: HttpPolicy = HttpPolicy(),
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utc_now,
        resolver: Resolver = system_resolve,
        is_public: AddressCheck = is_public_address,
        jitter: Callable[[], float] = uniform_jitter,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._is_public = is_public
        self._jitter = jitter
        self._client = httpx.Client(
            transport=transport or guarded_transport(resolver, is_public),
            follow_redirects=False,
            trust_env=False,  # proxies from the environment would bypass the address guard
            headers={"User-Agent": policy.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(
        self,
        url: str,
        *,
        validators: Validators = NO_VALIDATORS,
        allow_private: bool = False,
        min_interval: float = 0.0,
        gate: str | None = None,
        accept: str | None = None,
    ) -> FetchResponse:
        """GET `url`: a 200 (body read and decoded) or a 304 (no body read), else a FetchError."""
        deadline = Deadline(self._clock, self.policy.total_deadline)
        request = _Request(validators, allow_private, accept, deadline)
        chain = RedirectChain([url], self.policy.max_redirects)
        with self._gate(gate) as pace:
            current = url
            while True:
                pace(min_interval)
                outcome = self._hop(current, request)
                if isinstance(outcome, FetchResponse):
                    left = max(deadline.remaining(), 0.0)
                    return replace(outcome, moved_to=chain.moved_to, seconds_left=left)
                current = chain.follow(outcome.status, outcome.location)

    @contextlib.contextmanager
    def _gate(self, name: str | None) -> Iterator[Callable[[float], None]]:
        if name is None:
            yield lambda interval: None
            return
        gate = GATES.get(name)
        with gate.lock:
            yield lambda interval: gate.pace(interval, self._clock, self._sleep, self._jitter)

    def _hop(self, url: str, request: _Request) -> FetchResponse | _Redirect:
        parsed = _parse_url(url)
        check_url(parsed, request.allow_private, self._is_public)
        deadline = request.deadline
        slot_wait = deadline.remaining() if deadline.started else None
        with HOST_SLOTS.hold(host_of(url), self.policy.per_host_connections, slot_wait):
            deadline.start()
            scope = FetchScope(deadline, request.allow_private)
            with fetch_scope(scope), _mapped_errors(url, deadline):
                response = self._client.send(self._build(parsed, request), stream=True)
                try:
                    return self._interpret(response, url, request)
                finally:
                    response.close()

    def _build(self, url: httpx.URL, request: _Request) -> httpx.Request:
        headers = {}
        if request.validators.etag:
            headers["If-None-Match"] = request.validators.etag
        if request.validators.last_modified:
            headers["If-Modified-Since"] = request.validators.last_modified
        if request.accept:
            headers["Accept"] = request.accept
        if request.allow_private:
            headers["Connection"] = "close"  # never leave a private connection in the pool
        left = max(request.deadline.remaining(), 0.001)
        policy = self.policy
        timeout = httpx.Timeout(
            connect=min(policy.connect_timeout, left),
            read=min(policy.read_timeout, left),
            write=min(policy.read_timeout, left),
            pool=left,
        )
        return self._client.build_request("GET", url, headers=headers, timeout=timeout)

    def _interpret(
        self, response: httpx.Response, url: str, request: _Request
    ) -> FetchResponse | _Redirect:
        status = response.status_code
        if status in REDIRECTS and response.headers.get("location"):
            return _Redirect(status, response.headers["location"])
        content_type = response.headers.get("content-type")
        if status == 304:
            found = _validators(response, fallback=request.validators)
            return FetchResponse(url, 304, b"", content_type, found)
        if 200 <= status < 300:
            body = read_body(response, self.policy.max_body_bytes, request.deadline, url)
            return FetchResponse(url, status, body, content_type, _validators(response))
        if status == 410:
            raise Gone(url)
        if status in DEFERRING:
            until = retry_until(response.headers.get("retry-after"), self._now(), self.policy)
            raise Deferred(f"HTTP {status} from {url}: retry after {until.isoformat()}", until)
        raise HttpStatusError(status, url)


def _parse_url(url: str) -> httpx.URL:
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}") from exc


def _validators(response: httpx.Response, fallback: Validators = NO_VALIDATORS) -> Validators:
    return Validators(
        etag=response.headers.get("etag") or fallback.etag,
        last_modified=response.headers.get("last-modified") or fallback.last_modified,
    )


@contextlib.contextmanager
def _mapped_errors(url: str, deadline: Deadline) -> Iterator[None]:
    """httpx's exceptions become paperfeed's; a timeout past the total deadline is a deadline."""
    try:
        yield
    except httpx.ConnectTimeout as exc:
        if deadline.passed():
            raise DeadlineExceeded(f"{url}: no complete answer within the total deadline") from exc
        raise TransportError(f"{url}: timed out connecting") from exc
    except httpx.TimeoutException as exc:
        # Connected, then silence: the server accepted and stalled. That is the same final
        # failure as the total deadline (A1), never a transient retry that would cost the
        # read timeout again on every attempt.
        if deadline.passed():
            raise DeadlineExceeded(f"{url}: no complete answer within the total deadline") from exc
        raise DeadlineExceeded(f"{url}: the server accepted and then stopped answering") from exc
    except httpx.ProtocolError as exc:
        # the server answered, but not in valid HTTP (a hostile Location, a broken header):
        # asking again will not help, and it says nothing about this machine being offline
        raise FetchError(f"{url}: invalid HTTP from the server: {exc}") from exc
    except httpx.TransportError as exc:
        if deadline.passed():
            raise DeadlineExceeded(f"{url}: no complete answer within the total deadline") from exc
        raise TransportError(f"{url}: {type(exc).__name__}: {exc}") from exc
