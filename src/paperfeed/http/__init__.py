"""The only module that talks to the network. I/O rule: every request paperfeed makes goes
through `HttpClient.fetch`, which returns bytes (a `FetchResponse`) or raises a typed
`FetchError`; nothing else builds requests, and parsing never happens here.

What one fetch guarantees:
- a total deadline over connect, headers, body and every redirect hop (socket reads and writes
  are bounded by the time left, and checked while the body streams); name resolution uses the
  system resolver, bounded by its own timeout rather than ours;
- at most `max_body_bytes` decoded bytes (Content-Length checked first; gzip/deflate decoded
  here from raw bytes with a bounded `decompress`);
- at most `max_redirects` hops, followed manually, each hop's URL and every resolved address
  checked (loopback, private, link-local, CGNAT, odd IPv4 forms and non-http(s) schemes are
  refused unless the source says `allow_private`); loops and https→http downgrades refused;
- conditional GET from the given validators; a 304 reads no body;
- 429/503 → `Deferred(until)` from Retry-After (capped), 410 → `Gone`, 301/308 → `moved_to`;
- process-wide politeness: `per_host_connections` in flight per host, and named gates
  (`gate="arxiv", min_interval=3.0`) that pass one request at a time, spaced with jitter.
"""

from paperfeed.addresses import is_public_address, literal_ip

from ._client import HttpClient, HttpPolicy, RedirectChain, host_of, parse_retry_after, retry_until

__all__ = [
    "HttpClient",
    "HttpPolicy",
    "RedirectChain",
    "host_of",
    "is_public_address",
    "literal_ip",
    "parse_retry_after",
    "retry_until",
]
