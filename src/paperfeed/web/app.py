"""The reading room's pages and its one state-changing route family (marks, enable a source).

Thin handlers: parse the request, call one `Room` method, render a template. Marks are POST
only; with htmx (`HX-Request`) the answer is the item's new mark controls, without JavaScript a
303 back to the page the form came from.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from paperfeed.digest.markdown import safe_url
from paperfeed.errors import NotFound, PaperfeedError, StoreBusy
from paperfeed.search.hybrid import Filters
from paperfeed.text import plain
from paperfeed.web import cards
from paperfeed.web.room import Room
from paperfeed.web.safety import CSRF_FIELD, Guard, Policy

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("paperfeed.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


class _Pages:
    def __init__(self, room: Room, policy: Policy) -> None:
        self.room = room
        self.policy = policy

    def render(self, request: Request, name: str, status: int = 200, **values: Any) -> Response:
        values.setdefault("next", _here(request))
        html = _TEMPLATES.get_template(name).render(
            csrf=self.policy.csrf, csrf_field=CSRF_FIELD, page=name, **values
        )
        return HTMLResponse(html, status_code=status)

    # ------------------------------------------------------------ reading

    def week(self, request: Request) -> Response:
        period = request.query_params.get("week") or None
        page = self.room.week(period)
        marks = page.marks
        sections = [
            (s.focus_area, [_entry_card(e, marks) for e in s.entries]) for s in page.digest.sections
        ]
        highlights = [_entry_card(e, marks) for e in page.digest.highlights]
        return self.render(
            request,
            "week.html",
            digest=page.digest,
            sections=sections,
            highlights=highlights,
            weeks=page.weeks,
            period=period,
        )

    def search(self, request: Request) -> Response:
        params = request.query_params
        query = params.get("q", "").strip()
        filters = Filters(
            source=params.get("source") or None,
            tag=params.get("tag") or None,
            since=_day(params.get("since")),
            unread=params.get("unread") == "1",
        )
        area = params.get("area") or None
        found: list[cards.Card] = []
        if query:
            hits, items, marks = self.room.search_page(query, filters, area)
            found = [cards.card(items[h.id], marks.get(h.id), score=h.score) for h in hits]
        return self.render(
            request,
            "search.html",
            query=query,
            filters=filters,
            area=area,
            results=found,
            areas=[a.name for a in self.room.config.focus_areas] if self.room.has_config else [],
            sources=[s.name for s in self.room.config.sources] if self.room.has_config else [],
        )

    def paper(self, request: Request) -> Response:
        page = self.room.paper(int(request.path_params["item_id"]))
        item = page.item
        return self.render(
            request,
            "paper.html",
            item=item,
            card=cards.card(item, page.mark),
            abstract=plain(item.summary),
            authors=[plain(a, 100) for a in item.authors],
            pdf=cards.pdf_url(item),
            similar=[cards.card(i, page.marks.get(i.id), score=h.score) for h, i in page.similar],
            posts=[cards.Link(plain(p.title, 200), safe_url(p.url)) for p in page.posts],
            areas=page.areas,
        )

    def reading(self, request: Request) -> Response:
        saved, by_week, marks = self.room.reading()
        return self.render(
            request,
            "reading.html",
            saved=[cards.card(i, marks.get(i.id)) for i in saved],
            by_week=[(w, [cards.card(i, marks.get(i.id)) for i in items]) for w, items in by_week],
        )

    def progress(self, request: Request) -> Response:
        progress = self.room.progress()
        charts = [
            cards.chart(area, progress.weeks, read, progress.goals.get(area))
            for area, read in progress.read.items()
        ]
        return self.render(request, "progress.html", charts=charts, digests=progress.digests)

    def sources(self, request: Request) -> Response:
        return self.render(request, "sources.html", rows=self.room.sources())

    # ------------------------------------------------------------ changes

    async def mark(self, request: Request) -> Response:
        action = request.path_params["action"]
        if action not in cards.MARK_ACTIONS:
            raise HTTPException(404, f"no mark action {action!r}")
        item_id = int(request.path_params["item_id"])
        form = await _form(request)
        outcome = await _in_thread(self.room.mark_item, item_id, action)
        if request.headers.get("hx-request") != "true":
            return RedirectResponse(_back(str(form.get("next", ""))), status_code=303)
        state = cards.MarkState.of(item_id, outcome.mark)
        if outcome.queued:
            state = cards.MarkState(item_id, queued=action)
        return self.render(request, "_marks.html", marks=state, next=str(form.get("next", "/")))

    async def enable(self, request: Request) -> Response:
        form = await _form(request)
        await _in_thread(self.room.enable_source, str(form.get("name", "")))
        return RedirectResponse("/sources", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form's fields, first value each (no multipart: the pages never send it)."""
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    return {name: values[0] for name, values in fields.items()}


async def _in_thread(func: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(func, *args)


def _entry_card(entry: Any, marks: dict[int, Any]) -> cards.Card:
    return cards.card(
        entry.item,
        marks.get(entry.item.id),
        why=entry.why,
        explained_in=entry.explained_in,
        score=entry.score,
    )


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"not a date: {text!r} (expected YYYY-MM-DD)") from None


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _back(target: str) -> str:
    """Only a path on this server: never `//host` or a scheme (no open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _error_handlers(pages: _Pages) -> dict[Any, Any]:
    def page(request: Request, status: int, message: str) -> Response:
        return pages.render(request, "error.html", status, code=status, message=message)

    async def not_found(request: Request, exc: Exception) -> Response:
        return page(request, 404, str(exc))

    async def busy(request: Request, exc: Exception) -> Response:
        response = page(request, 503, str(exc))
        response.headers["retry-after"] = "5"
        return response

    async def refused(request: Request, exc: Exception) -> Response:
        return page(request, 400, str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            return Response("method not allowed: marks are POST only", 405, {"allow": "POST"})
        return page(request, exc.status_code, str(exc.detail))

    return {
        NotFound: not_found,
        StoreBusy: busy,
        PaperfeedError: refused,
        HTTPException: http_error,
    }


def create_app(room: Room, policy: Policy) -> Guard:
    pages = _Pages(room, policy)
    static = StaticFiles(packages=[("paperfeed.web", "static")])
    routes = [
        Route("/", pages.week, methods=["GET"]),
        Route("/search", pages.search, methods=["GET"]),
        Route("/paper/{item_id:int}", pages.paper, methods=["GET"]),
        Route("/reading", pages.reading, methods=["GET"]),
        Route("/progress", pages.progress, methods=["GET"]),
        Route("/sources", pages.sources, methods=["GET"]),
        Route("/sources/enable", pages.enable, methods=["POST"]),
        Route("/items/{item_id:int}/{action}", pages.mark, methods=["POST"]),
        Mount("/static", static, name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers=_error_handlers(pages))
    return Guard(app, policy)
