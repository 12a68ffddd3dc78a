"""A fake arXiv API for the adapter tests: answers `HttpClient.fetch` calls from an in-memory
corpus, honouring the query's submittedDate window, start and max_results, with injectable
faults. It builds Atom the way the 2026 API serialises it; it never touches the network."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from paperfeed.records import FetchResponse

WINDOW = re.compile(r"submittedDate:\[(\d{12}) TO (\d{12})\]")
EPOCH = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Paper:
    arxiv_id: str
    submitted: datetime


@dataclass
class Request:
    url: str
    start: int
    max_results: int
    query: str
    kwargs: dict[str, Any]


# A fault hook sees the request and the true page; it may return a replacement body or raise.
Fault = Callable[["Request", list[Paper], int], bytes | None]


@dataclass
class FakeArxiv:
    papers: list[Paper] = field(default_factory=list)
    fault: Fault | None = None
    max_page: int | None = None  # answer at most this many entries (arXiv sometimes does)
    requests: list[Request] = field(default_factory=list)

    def fetch(self, url: str, **kwargs: Any) -> FetchResponse:
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        request = Request(
            url, int(params["start"]), int(params["max_results"]), params["search_query"], kwargs
        )
        self.requests.append(request)
        matching = self.matching(request.query)
        size = min(request.max_results, self.max_page or request.max_results)
        page = matching[request.start : request.start + size]
        body = self.fault(request, page, len(matching)) if self.fault else None
        if body is None:
            body = atom(page, total=len(matching), start=request.start, per_page=size)
        return FetchResponse(url=url, status=200, body=body)

    def matching(self, query: str) -> list[Paper]:
        window = WINDOW.search(query)
        assert window, f"every arXiv query carries a submittedDate window: {query}"
        low, high = (
            datetime.strptime(w, "%Y%m%d%H%M").replace(tzinfo=UTC) for w in window.groups()
        )
        inside = [p for p in self.papers if low <= p.submitted.replace(second=0) <= high]
        return sorted(inside, key=lambda p: (p.submitted, p.arxiv_id))


def corpus(
    count: int,
    start: datetime = EPOCH,
    step: timedelta = timedelta(minutes=7),
    prefix: str = "2603",
) -> list[Paper]:
    return [Paper(f"{prefix}.{n:05d}", start + n * step) for n in range(count)]


def atom(papers: list[Paper], *, total: int, start: int, per_page: int) -> bytes:
    entries = "".join(
        f"<entry><id>http://arxiv.org/abs/{p.arxiv_id}v1</id>"
        f"<updated>{p.submitted:%Y-%m-%dT%H:%M:%SZ}</updated>"
        f"<published>{p.submitted:%Y-%m-%dT%H:%M:%SZ}</published>"
        f"<title>Paper {escape(p.arxiv_id)}</title><summary>About $a&lt;b$.</summary>"
        "<author><name>A. Author</name></author>"
        '<arxiv:primary_category term="cs.LG"/><category term="cs.LG"/></entry>'
        for p in papers
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">'
        "<id>https://arxiv.org/api/fake</id><title>arXiv Query</title>"
        f"<opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>"
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>{entries}</feed>"
    ).encode()


def empty_page(total: int, start: int, per_page: int) -> bytes:
    return atom([], total=total, start=start, per_page=per_page)


def test_the_fake_honours_window_and_paging() -> None:
    papers = corpus(30, step=timedelta(hours=1))
    fake = FakeArxiv(papers)
    query = "cat:cs.LG AND submittedDate:[202603020500 TO 202603021400]"
    url = f"http://127.0.0.1/api?search_query={query}&start=2&max_results=3"
    body = fake.fetch(url).body.decode()
    assert "<opensearch:totalResults>10</opensearch:totalResults>" in body
    assert re.findall(r"abs/(\S+?)v1<", body) == ["2603.00007", "2603.00008", "2603.00009"]
