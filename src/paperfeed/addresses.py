"""Which addresses are private: pure, shared by the fetch guard (`paperfeed.http`, which checks
every resolved address) and the config check (which can only judge what a URL names literally,
without DNS)."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ODD_IPV4 = re.compile(r"[0-9a-fA-FxX.]+")


def is_public_address(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses; loopback, RFC1918, link-local, CGNAT,
    unspecified, multicast, reserved and IPv4-mapped IPv6 are not public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return False
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(embedded):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def literal_ip(host: str) -> IPAddress | None:
    """The address a host names literally, including odd IPv4 forms that resolvers accept
    (2130706433, 0x7f.1, 127.1, 0177.0.0.1); None for a real hostname."""
    host = host.strip("[]")
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host)
    if _ODD_IPV4.fullmatch(host) and any(c.isdigit() for c in host):
        with contextlib.suppress(OSError):
            return ipaddress.IPv4Address(socket.inet_aton(host))
    return None


def names_private_host(url: str) -> bool:
    """Whether a URL's host is literally local: `localhost` (or under `.localhost`) or a
    non-public IP address. Hostnames that resolve to private addresses are caught at fetch."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = literal_ip(host)
    return ip is not None and not is_public_address(ip)
