"""Reading a response body under a strict bound: raw bytes come from `iter_raw()` and are
decoded here (gzip, deflate) with `decompressobj.decompress(data, max_length)`, so no more than
the cap plus one byte is ever decoded, and the fetch's deadline is checked between chunks."""

from __future__ import annotations

import zlib

import httpx

from paperfeed.errors import FetchError, TooLarge

from ._guard import Deadline

ACCEPT_ENCODING = "gzip, deflate"  # brotli is not installed, so br is never advertised


class _Decoder:
    """Identity, gzip or deflate (zlib-wrapped or raw, decided from the first bytes)."""

    def __init__(self, encoding: str, url: str) -> None:
        self.encoding = encoding
        self.url = url
        self._zlib: zlib._Decompress | None = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, data: bytes, max_length: int) -> bytes:
        if self.encoding in ("", "identity"):
            return data
        if self._zlib is None:
            self._zlib = zlib.decompressobj(_deflate_wbits(data))
        if self._zlib.eof:
            return b""  # trailing bytes after the compressed stream are ignored, as httpx does
        try:
            return self._zlib.decompress(data, max_length)
        except zlib.error as exc:
            raise FetchError(f"{self.url}: corrupt {self.encoding} body: {exc}") from exc


def _deflate_wbits(head: bytes) -> int:
    """'deflate' is meant to be zlib-wrapped, but some servers send a raw deflate stream."""
    is_zlib = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
    return zlib.MAX_WBITS if is_zlib else -zlib.MAX_WBITS


def decoder_for(response: httpx.Response, url: str) -> _Decoder:
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise FetchError(f"{url}: unsupported Content-Encoding {encoding!r}")
    return _Decoder(encoding, url)


def declared_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


def read_body(response: httpx.Response, cap: int, deadline: Deadline, url: str) -> bytes:
    """The decoded body; TooLarge past `cap` decoded (or raw) bytes, checked as bytes arrive."""
    length = declared_length(response)
    if length is not None and length > cap:
        raise TooLarge(f"{url}: Content-Length {length} is over the {cap}-byte cap")
    if response.is_stream_consumed:  # an in-memory response (MockTransport): httpx decoded it
        _check_cap(response.content, cap, url)
        return response.content
    decoder = decoder_for(response, url)
    body = bytearray()
    raw = 0
    for chunk in response.iter_raw():
        deadline.check(url)
        raw += len(chunk)
        body += decoder.feed(chunk, cap - len(body) + 1)
        if raw > cap:
            raise TooLarge(f"{url}: raw body is over the {cap}-byte cap")
        _check_cap(body, cap, url)
    return bytes(body)


def _check_cap(body: bytes | bytearray, cap: int, url: str) -> None:
    if len(body) > cap:
        raise TooLarge(f"{url}: body is over the {cap}-byte cap")
