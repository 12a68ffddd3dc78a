"""HttpClient against a real server on 127.0.0.1 and httpx.MockTransport: redirects (A3, A8),
SSRF guard (A4), conditional GET (A5), Retry-After (A6), politeness (A7), User-Agent (C6)."""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from server import FixtureServer, chain, header_delay, redirect, static, status

from paperfeed.errors import (
    BlockedAddress,
    Deferred,
    Gone,
    HttpStatusError,
    TooManyRedirects,
    TransportError,
)
from paperfeed.http import HttpClient, HttpPolicy, is_public_address, literal_ip
from paperfeed.records import FetchResponse, Validators

UA = re.compile(r"^paperfeed/\d+\.\d+\.\d+\S* \(\+\S+\)$")
LAST_MODIFIED = "Mon, 02 Mar 2026 10:00:00 GMT"


def mock_client(handler, **kwargs) -> HttpClient:
    return HttpClient(transport=httpx.MockTransport(handler), **kwargs)


# --- A3: loops, long chains, downgrades ---------------------------------------------------------


def test_a3_self_loop_and_long_chain_end_in_too_many_redirects_20_runs():
    with FixtureServer() as srv, HttpClient(HttpPolicy(total_deadline=3.0)) as client:
        srv.routes["/loop"] = redirect("/loop")
        first = chain(srv, "/c", 11, static(b"end"))
        for _ in range(20):
            with pytest.raises(TooManyRedirects, match="loop"):
                client.fetch(srv.url("/loop"), allow_private=True)
            with pytest.raises(TooManyRedirects, match="more than 5"):
                client.fetch(srv.url(first), allow_private=True)
        assert srv.hits["/loop"] == 20
        assert srv.hits["/c5"] == 20  # hop 5 was followed ...
        assert srv.hits["/c6"] == 0  # ... hop 6 never was


def test_a3_five_hops_are_followed():
    with FixtureServer() as srv, HttpClient() as client:
        first = chain(srv, "/c", 5, static(b"end"))
        response = client.fetch(srv.url(first), allow_private=True)
        assert (response.body, response.url) == (b"end", srv.url("/c5"))


def test_a3_https_to_http_downgrade_is_refused():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.scheme == "https":
            return httpx.Response(302, headers={"Location": "http://feeds.example.org/rss"})
        return httpx.Response(200, content=b"plain")

    with mock_client(handler) as client, pytest.raises(TooManyRedirects, match="downgrade"):
        client.fetch("https://feeds.example.org/rss")
    assert seen == ["https://feeds.example.org/rss"]


# --- A4: SSRF guard -----------------------------------------------------------------------------

PUBLIC_TEST_IP = ipaddress.ip_address("127.0.0.2")  # stands in for a public address here


def treat_as_public(ip) -> bool:
    return ip == PUBLIC_TEST_IP or is_public_address(ip)


@pytest.fixture
def private_listeners():
    with FixtureServer({"/": static(b"secret")}) as v4, FixtureServer(host="::1") as v6:
        v6.routes["/"] = static(b"secret")
        yield v4, v6


def ssrf_targets(v4: FixtureServer, v6: FixtureServer) -> list[str]:
    return [
        v4.url("/"),
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        v6.url("/"),
        f"http://2130706433:{v4.port}/",
    ]


def test_a4_private_targets_direct_and_via_302_are_blocked(private_listeners):
    v4, v6 = private_listeners
    targets = ssrf_targets(v4, v6)
    cases = list(targets)
    with FixtureServer(host=str(PUBLIC_TEST_IP)) as public:
        for i, target in enumerate(targets):
            public.routes[f"/to{i}"] = redirect(target)
            cases.append(public.url(f"/to{i}"))
        cases += [
            "file:///etc/passwd",
            f"gopher://127.0.0.1:{v4.port}/",
            f"ftp://127.0.0.1:{v4.port}/",
        ]
        with HttpClient(HttpPolicy(total_deadline=3.0), is_public=treat_as_public) as client:
            for url in cases:
                with pytest.raises(BlockedAddress):
                    client.fetch(url)
        assert sum(public.hits.values()) == len(targets)  # the redirecting hop did happen
    assert len(cases) == 15
    assert v4.hits["/"] == 0
    assert v6.hits["/"] == 0


def test_a4_public_url_still_works_and_hostnames_connect_to_the_checked_ip():
    with FixtureServer({"/feed": static(b"<rss/>")}, host=str(PUBLIC_TEST_IP)) as public:
        resolver = {"feeds.example.org": [str(PUBLIC_TEST_IP)]}
        client = HttpClient(is_public=treat_as_public, resolver=lambda host, port: resolver[host])
        with client:
            response = client.fetch(f"http://feeds.example.org:{public.port}/feed")
        assert response.body == b"<rss/>"
        assert public.log[0].headers["host"] == f"feeds.example.org:{public.port}"


def test_a4_hostname_with_any_private_address_is_blocked_before_connecting(private_listeners):
    v4, _ = private_listeners
    answers = ["127.0.0.2", "127.0.0.1"]  # a rebinding-style answer mixing public and private
    client = HttpClient(is_public=treat_as_public, resolver=lambda host, port: answers)
    with client, pytest.raises(BlockedAddress, match="127.0.0.1"):
        client.fetch(f"http://rebind.example:{v4.port}/")
    assert v4.hits["/"] == 0


def test_a4_allow_private_reaches_a_private_listener(private_listeners):
    v4, v6 = private_listeners
    with HttpClient() as client:
        assert client.fetch(v4.url("/"), allow_private=True).body == b"secret"
        assert client.fetch(v6.url("/"), allow_private=True).body == b"secret"
    assert v4.log[0].headers["connection"] == "close"  # private connections are not pooled


def test_a4_dns_failure_is_a_transport_error_that_is_not_transient():
    def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with HttpClient(resolver=fail) as client, pytest.raises(TransportError) as caught:
        client.fetch("https://export.arxiv.org/api/query")
    assert caught.value.transient is False


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("10.0.0.1", "10.0.0.1"),
        ("example.org", None),
        ("deadbeef", None),
    ],
)
def test_literal_ip_reads_odd_ipv4_forms(host, expected):
    found = literal_ip(host)
    assert (str(found) if found else None) == expected


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", False),
        ("2002:a00:1::1", False),
        ("64:ff9b::a00:1", False),
        ("ff02::1", False),
    ],
)
def test_is_public_address(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


# --- A5: conditional GET ------------------------------------------------------------------------


def test_a5_validators_are_sent_and_a_304_reads_no_body():
    body = b"<rss>" + b"x" * 5000 + b"</rss>"
    route = static(body, etag='"v1"', last_modified=LAST_MODIFIED)
    with FixtureServer({"/feed": route}) as srv, HttpClient() as client:
        first = client.fetch(srv.url("/feed"), allow_private=True)
        written_after_200 = srv.body_bytes["/feed"]
        second = client.fetch(srv.url("/feed"), validators=first.validators, allow_private=True)
        by_lm = Validators(last_modified=LAST_MODIFIED)
        third = client.fetch(srv.url("/feed"), validators=by_lm, allow_private=True)
        assert srv.body_bytes["/feed"] == written_after_200 == len(body)
    assert (first.status, first.body) == (200, body)
    assert first.validators == Validators('"v1"', LAST_MODIFIED)
    assert (second.status, second.body, second.not_modified) == (304, b"", True)
    assert (third.status, third.validators.last_modified) == (304, LAST_MODIFIED)
    conditional = srv.log[1:]
    assert conditional[0].headers["if-none-match"] == '"v1"'
    assert conditional[0].headers["if-modified-since"] == LAST_MODIFIED
    assert conditional[1].headers["if-modified-since"] == LAST_MODIFIED
    assert "if-none-match" not in srv.log[0].headers


class RecordingStream(httpx.SyncByteStream):
    def __init__(self) -> None:
        self.read = False

    def __iter__(self):
        self.read = True
        yield b"should never be read"


def test_a5_a_304_with_a_body_attached_is_not_read():
    stream = RecordingStream()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(304, headers={"ETag": '"v2"'}, stream=stream)

    with mock_client(handler) as client:
        response = client.fetch("https://blog.example.org/feed", validators=Validators('"v1"'))
    assert response.not_modified and response.validators.etag == '"v2"'
    assert stream.read is False


# --- A6: Retry-After ----------------------------------------------------------------------------

ARXIV_URLS = [f"https://export.arxiv.org/api/query?start={i}" for i in range(50)]
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "headers", "wait"),
    [
        (429, {"Retry-After": "120"}, timedelta(seconds=120)),
        (503, {"Retry-After": format_datetime(NOW + timedelta(hours=2), usegmt=True)}, None),
        (429, {}, timedelta(hours=1)),
        (429, {"Retry-After": "999999"}, timedelta(hours=24)),
        (503, {"Retry-After": "soon"}, timedelta(hours=1)),
    ],
    ids=["seconds", "http-date", "absent", "capped-at-24h", "unparsable"],
)
def test_a6_429_and_503_defer_until_retry_after(code, headers, wait):
    expected = NOW + (wait or timedelta(hours=2))
    with (
        mock_client(lambda request: httpx.Response(code, headers=headers), now=lambda: NOW) as c,
        pytest.raises(Deferred) as caught,
    ):
        c.fetch("https://export.arxiv.org/api/query")
    assert caught.value.until == expected
    assert not isinstance(caught.value, HttpStatusError)


# --- A7: per-host politeness and gates ----------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 3])
def test_a7_per_host_in_flight_requests_stay_within_the_limit(limit):
    with FixtureServer() as srv:
        for i in range(30):
            srv.routes[f"/s{i}"] = header_delay(0.05, static(b"ok"))
        with (
            HttpClient(HttpPolicy(per_host_connections=limit)) as client,
            ThreadPoolExecutor(8) as pool,
        ):
            urls = [srv.url(f"/s{i}") for i in range(30)]
            bodies = list(pool.map(lambda u: client.fetch(u, allow_private=True).body, urls))
    assert bodies == [b"ok"] * 30
    assert max(entry.concurrency for entry in srv.log) == srv.peak_concurrency
    if limit == 1:
        assert srv.peak_concurrency == 1
    else:
        assert 1 < srv.peak_concurrency <= limit  # the server does see overlap when allowed


class FakeClock:
    """A thread-safe clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 0.0)


class GatedApi:
    """A MockTransport handler recording fake-clock arrival times and real overlap."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.arrivals: list[float] = []
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.arrivals.append(self.clock())
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(0.002)  # long enough for an overlapping request to show up
        with self._lock:
            self.in_flight -= 1
        return httpx.Response(200, content=b"<feed/>")

    def gaps(self) -> list[float]:
        times = sorted(self.arrivals)
        return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_a7_gate_spaces_50_requests_from_8_threads_by_the_minimum_interval():
    clock = FakeClock()
    api = GatedApi(clock)
    gate = f"arxiv-{uuid.uuid4()}"
    client = mock_client(api, clock=clock, sleep=clock.sleep)
    with client, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda url: client.fetch(url, gate=gate, min_interval=3.0), ARXIV_URLS))
    assert len(api.arrivals) == 50
    assert min(api.gaps()) >= 3.0
    assert max(api.gaps()) <= 4.0  # jitter is 0-1 s, so no request waits longer than needed
    assert api.peak == 1


def test_a7_two_clients_in_two_threads_share_the_gate():
    clock = FakeClock()
    api = GatedApi(clock)
    gate = f"arxiv-{uuid.uuid4()}"
    clients = [mock_client(api, clock=clock, sleep=clock.sleep) for _ in range(2)]

    def run(client: HttpClient) -> None:
        for i in range(10):
            client.fetch(
                f"https://export.arxiv.org/api/query?start={i}", gate=gate, min_interval=3.0
            )

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(api.arrivals) == 20
    assert min(api.gaps()) >= 3.0
    assert api.peak == 1


def test_a7_without_a_gate_requests_are_not_spaced():
    clock = FakeClock()
    api = GatedApi(clock)
    with mock_client(api, clock=clock, sleep=clock.sleep) as client:
        for i in range(5):
            client.fetch(f"https://blog.example.org/{i}")
    assert api.gaps() == [0.0] * 4


# --- A8: moved, temporary, gone; other statuses -------------------------------------------------


def test_a8_301_sets_moved_to_302_does_not_410_is_gone():
    with FixtureServer({"/new": static(b"feed"), "/tmp-target": static(b"feed")}) as srv:
        srv.routes["/old"] = redirect("/new", 301)
        srv.routes["/perm308"] = redirect("/new", 308)
        srv.routes["/tmp"] = redirect("/tmp-target", 302)
        srv.routes["/tmp307"] = redirect("/tmp-target", 307)
        srv.routes["/mixed"] = redirect("/tmp", 301)  # 301 then 302: remember only the 301 part
        srv.routes["/late301"] = redirect("/old", 302)  # 302 then 301: remember nothing
        srv.routes["/gone"] = status(410)
        with HttpClient() as client:

            def fetch(path: str) -> FetchResponse:
                return client.fetch(srv.url(path), allow_private=True)

            assert fetch("/old").moved_to == srv.url("/new")
            assert fetch("/perm308").moved_to == srv.url("/new")
            assert fetch("/tmp").moved_to is None
            assert fetch("/tmp307").moved_to is None
            assert fetch("/mixed").moved_to == srv.url("/tmp")
            assert fetch("/late301").moved_to is None
            with pytest.raises(Gone) as gone:
                fetch("/gone")
    assert gone.value.status == 410 and gone.value.url == srv.url("/gone")


@pytest.mark.parametrize(("code", "transient"), [(404, False), (403, False), (500, True)])
def test_other_statuses_are_http_status_errors(code, transient):
    client = mock_client(lambda request: httpx.Response(code))
    with client, pytest.raises(HttpStatusError) as caught:
        client.fetch("https://blog.example.org/feed")
    assert (caught.value.status, caught.value.transient) == (code, transient)


def test_connection_refused_is_a_transient_transport_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        with HttpClient() as client, pytest.raises(TransportError) as caught:
            client.fetch(f"http://127.0.0.1:{port}/", allow_private=True)
    assert caught.value.transient is True


# --- C6: identification -------------------------------------------------------------------------


def test_c6_every_request_carries_the_paperfeed_user_agent():
    with FixtureServer({"/feed": static(b"x", etag='"1"')}) as srv:
        first = chain(srv, "/hop", 3, static(b"y"))
        with HttpClient() as client:
            client.fetch(srv.url(first), allow_private=True)
            client.fetch(srv.url("/feed"), allow_private=True, accept="application/atom+xml")
            client.fetch(srv.url("/feed"), validators=Validators('"1"'), allow_private=True)
    assert len(srv.log) == 6
    assert all(UA.match(entry.headers["user-agent"]) for entry in srv.log)
    assert srv.log[4].headers["accept"] == "application/atom+xml"
