"""Canonical identity of an item, so the same paper or post is stored once.

Order: arXiv id (without version) → DOI → normalised URL → (source, GUID) → hash of title and
content. The URL comes before the GUID on purpose: some feeds mint a new GUID on every fetch
while the link stays put, and some reuse one GUID for different entries (RELIABILITY B5).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from paperfeed.records import Item

_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}"
ARXIV_ID = re.compile(rf"(?P<id>{_NEW_ID}|{_OLD_ID})(?:v(?P<version>\d+))?")
_ARXIV_URL = re.compile(
    rf"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<id>{_NEW_ID}|{_OLD_ID})"
    r"(?:v(?P<version>\d+))?(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(?P<doi>10\.\d{4,9}/\S+)$", re.IGNORECASE)
_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|source|rss)$", re.IGNORECASE
)


def parse_arxiv_id(value: str) -> tuple[str, int | None] | None:
    """'2104.12255v2', 'arXiv:2104.12255' or an arxiv.org URL → ('2104.12255', 2)."""
    value = value.strip()
    match = _ARXIV_URL.match(value)
    if match is None:
        bare = value[6:] if value.lower().startswith("arxiv:") else value
        match = ARXIV_ID.fullmatch(bare)
    if match is None:
        return None
    version = match.group("version")
    return match.group("id"), int(version) if version else None


def parse_doi(value: str) -> str | None:
    match = _DOI.match(value.strip())
    return match.group("doi").lower() if match else None


def normalize_url(url: str) -> str:
    """Scheme and host lower-cased, http folded into https, default port, fragment, tracking
    parameters and a trailing slash dropped, remaining query parameters sorted."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = _port(parts)
    netloc = f"{host}:{port}" if port else host
    path = parts.path.rstrip("/") or "/"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        )
    )
    return urlunsplit(("https", netloc, path, query, ""))


def _port(parts: SplitResult) -> int | None:
    """The explicit, non-default port; a malformed one (hostile feeds have them) is dropped."""
    try:
        port = parts.port
    except ValueError:
        return None
    return port if port not in (None, 80, 443) else None


def content_hash(title: str, summary: str) -> str:
    """What the embedding sees; a change re-embeds the item."""
    return hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()[:24]


def item_key(item: Item, source: str) -> str:
    if item.arxiv_id:
        return f"arxiv:{item.arxiv_id}"
    if item.doi:
        return f"doi:{item.doi.lower()}"
    if item.url:
        from_url = parse_arxiv_id(item.url)
        if from_url:
            return f"arxiv:{from_url[0]}"
        return f"url:{normalize_url(item.url)}"
    return _fallback_key(item, source)


def _fallback_key(item: Item, source: str) -> str:
    if item.guid:
        return f"guid:{source}:{item.guid.strip()}"
    return f"hash:{content_hash(item.title, item.summary)}"


def assign_keys(items: Sequence[Item], source: str) -> list[str]:
    """Keys for one fetched batch. A link shared by entries that differ (a feed whose every
    entry points at its home page) is not an identity: those entries fall back to GUID or hash."""
    keys = [item_key(item, source) for item in items]
    counts = Counter(keys)
    return [
        _fallback_key(item, source) if counts[key] > 1 and key.startswith("url:") else key
        for item, key in zip(items, keys, strict=True)
    ]
