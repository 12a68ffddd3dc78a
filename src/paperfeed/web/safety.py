"""What stands between the reading room and every other page or host a browser can reach.

One ASGI middleware, `Guard`, checks every HTTP request before any route sees it:
- the `Host` header must name the address served (a DNS-rebinding page gets 403);
- with a token (required off loopback), the request must carry it: `Authorization: Bearer`, the
  cookie set by a first visit to `/?token=...`, or that query itself;
- any method but GET/HEAD must carry the per-process CSRF token (form field `csrf` or header
  `X-CSRF-Token`), else 403, and its body is capped;
- every response gets a Content-Security-Policy with no inline script and no other origin.
GET never changes state: the routes that do are POST-only (a GET gets 405 from the router).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from paperfeed.errors import PaperfeedError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_COOKIE = "paperfeed_token"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_BODY = 64 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD"})
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


class UnsafeBind(PaperfeedError):
    """Serving on a non-loopback address without a token."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise UnsafeBind(
            f"refusing to serve on {host} without --token: any machine that reaches it could "
            "read and change your marks (use --token SECRET, or the default 127.0.0.1)"
        )


@dataclass(frozen=True)
class Policy:
    host: str
    port: int
    token: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def allowed_hosts(self) -> frozenset[str]:
        names = {self.host, f"[{self.host}]"} if ":" in self.host else {self.host}
        if is_loopback(self.host):
            names |= {"localhost", "127.0.0.1", "[::1]"}
        return frozenset(f"{n}:{self.port}" for n in names) | (
            frozenset(names) if self.port == 80 else frozenset()
        )

    def host_ok(self, host: str | None) -> bool:
        return host is not None and host.lower() in self.allowed_hosts

    def token_ok(self, presented: str | None) -> bool:
        if self.token is None:
            return True
        return presented is not None and hmac.compare_digest(presented, self.token)

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented, self.csrf)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookie(headers: dict[str, str], name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def presented_token(scope: Scope, headers: dict[str, str]) -> tuple[str | None, bool]:
    """(token, came in the query string)."""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    cookie = _cookie(headers, TOKEN_COOKIE)
    if cookie is not None:
        return cookie, False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return (query["token"][0], True) if "token" in query else (None, False)


async def _plain(send: Send, status: int, text: str, extra: list[Any] | None = None) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *SECURITY_HEADERS, *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text.encode()})


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when it is larger than MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _form_csrf(body: bytes, headers: dict[str, str]) -> str | None:
    if CSRF_HEADER in headers:
        return headers[CSRF_HEADER]
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD)
        return values[0] if values else None
    return None


class Guard:
    def __init__(self, app: ASGIApp, policy: Policy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if not self.policy.host_ok(headers.get("host")):
            await _plain(send, 403, "forbidden: unknown Host (only the served address answers)")
            return
        token, in_query = presented_token(scope, headers)
        if not self.policy.token_ok(token):
            await _plain(send, 403, "forbidden: this reading room needs its token")
            return
        if in_query and self.policy.token:
            await self._set_token_cookie(scope, send)
            return
        if scope["method"] not in SAFE_METHODS:
            body = await _read_body(receive)
            if body is None:
                await _plain(send, 413, "request body too large")
                return
            if not self.policy.csrf_ok(_form_csrf(body, headers)):
                await _plain(send, 403, "forbidden: missing or wrong CSRF token; reload the page")
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, _with_headers(send))

    async def _set_token_cookie(self, scope: Scope, send: Send) -> None:
        cookie = f"{TOKEN_COOKIE}={self.policy.token}; HttpOnly; SameSite=Strict; Path=/"
        extra = [(b"set-cookie", cookie.encode()), (b"location", scope["path"].encode())]
        await _plain(send, 303, "token accepted", extra)


def _replay(body: bytes, original: Receive) -> Receive:
    """The body already read, then whatever the client sends next (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
        await send(message)

    return wrapped
