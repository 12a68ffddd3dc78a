"""RELIABILITY B1: a seeded mutation fuzzer over real feeds; nothing but ParseError leaves parse.

PAPERFEED_FUZZ_N sets the number of inputs (default 5,000; nightly runs use 100,000) and
PAPERFEED_FUZZ_SEED the seed, so a failure can be replayed exactly.
"""

from __future__ import annotations

import os
import random
import re

import pytest
from conftest import shared_path

from paperfeed.config import SourceConfig
from paperfeed.errors import ParseError
from paperfeed.sources import feed

SEED_BYTES = 6_000  # a window of each feed: mutations matter, not size, and it keeps the run short
TOKENS = [
    b"&#xD800;", b"&#x110000;", b"&#xFFFFFFFF;", b"&#0;", b"<", b">", b"&", b"]]>",
    b"<![CDATA[", b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"</item>", b"<item>",
    b"<entry>", b"&amp;", b"&bogus;", b"javascript:", b"<script>", b"xml:base='javascript:x'",
    b'<!DOCTYPE rss [<!ENTITY a "\\\\">]>', b"<?xml version='1.0' encoding='\xff'?>",
    b"<pubDate>Fri, 31 Dec 9999 23:59:60 GMT</pubDate>", b"<updated>0000-00-00</updated>",
]  # fmt: skip
FORBIDDEN = re.compile("[\ud800-\udfff\x00-\x08\x0b-\x1f]")


def _seeds() -> list[bytes]:
    folder = shared_path("fixtures/feeds/ml_org_feeds_scraped")
    paths = sorted(folder.glob("*/*.xml"))
    paths += sorted(shared_path("fixtures/feeds/ml_blogs_official").glob("*.xml"))
    return [body[:SEED_BYTES] for body in (p.read_bytes() for p in paths) if body]


def mutate(rng: random.Random, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data) + 1)
        op = rng.randrange(5)
        if op == 0 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif op == 1:
            data[at:at] = rng.choice(TOKENS)
        elif op == 2:
            del data[at : at + rng.randint(1, 200)]
        elif op == 3:
            start = rng.randrange(len(data) + 1)
            data[at:at] = data[start : start + rng.randint(1, 300)]
        else:
            del data[at:]
    return bytes(data)


@pytest.mark.slow
def test_mutated_feeds_raise_only_parse_error() -> None:
    count = int(os.environ.get("PAPERFEED_FUZZ_N", "5000"))
    rng = random.Random(int(os.environ.get("PAPERFEED_FUZZ_SEED", "20261123")))
    seeds = _seeds()
    source = SourceConfig(name="fuzz", type="feed")
    parsed = rejected = 0
    for _ in range(count):
        body = mutate(rng, rng.choice(seeds))
        try:
            items = feed.parse(body, source)
        except ParseError:
            rejected += 1
            continue
        parsed += 1
        for item in items:
            assert not FORBIDDEN.search(item.title + item.summary)
            assert item.url is None or item.url.lower().startswith(("http://", "https://"))
    assert parsed + rejected == count
    assert parsed > rejected  # most mutants still parse: the fuzzer reaches past the prolog
