"""The reading room in a real browser: Debian's Chromium driven by Playwright.

One home holds a real week of arXiv papers imported from ../shared's 65k snapshot (vectors from
the fake embedder: these tests are about the page, not about ranking quality); another holds the
XSS vectors of RELIABILITY B3/G4 ingested from a local feed. Screenshots of every page go to
$PAPERFEED_SCREENSHOTS (default build/screenshots/). Skips, with the reason, without a browser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import REPO, shared_path
from fakes import HashingEmbedder
from ingest_helpers import feed_source, run
from server import FixtureServer, static
from test_feed_security import XSS_VECTORS, _atom_with, _rss_with
from web_helpers import CONFIG, free_port, make_home, room_of

from paperfeed.cli import main
from paperfeed.ingest.bulk import import_arxiv_metadata
from paperfeed.settings import Settings
from paperfeed.store import Store
from paperfeed.web.pages import iso_week_window
from paperfeed.web.room import Room
from paperfeed.web.safety import Policy
from paperfeed.web.server import Running, serve_in_thread

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SNAPSHOT = "data/arxiv_bulk/arxiv_metadata_65k.jsonl.gz"
SHOTS = Path(os.environ.get("PAPERFEED_SCREENSHOTS", REPO / "build" / "screenshots"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium: apt-get install -y chromium chromium-driver (.ci/run does)")
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    opened.dialogs = []  # every alert/confirm/prompt a script opened
    opened.on("dialog", lambda d: (opened.dialogs.append(d.message), d.dismiss()))
    yield opened
    context.close()


def _serve(room: Room) -> Iterator[Running]:
    running = serve_in_thread(room, Policy("127.0.0.1", free_port()))
    yield running
    running.stop()


def _shot(page: Any, name: str, full_page: bool = True) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def _cli(settings: Settings, *args: str) -> Any:
    result = CliRunner().invoke(
        main, ["--home", str(settings.home), "--config", str(settings.config_path), *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# ---------------------------------------------------------------- a real week


def _embed_fake(store: Store, ids: list[int]) -> None:
    embedder = HashingEmbedder()
    items = store.items.get_many(ids)
    vectors = [(i.id, i.content_hash, embedder.query(f"{i.title} {i.summary}")) for i in items]
    store.vectors.put(embedder.model_name, vectors)


@pytest.fixture(scope="module")
def real_week(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str]:
    """All 65,538 real papers imported; the busiest ISO week embedded (fake 64-d vectors)."""
    snapshot = shared_path(SNAPSHOT)
    root = tmp_path_factory.mktemp("real-week")
    settings = Settings(home=root / "home", config_path=root / "sources.yaml")
    settings.config_path.write_text(CONFIG)
    with Store.open(settings.db_path) as store:
        import_arxiv_metadata(store, snapshot)
        week = max(store.browse.weeks(500), key=lambda pair: pair[1])[0]
        start, end = iso_week_window(week)
        _embed_fake(store, [i.id for i in store.items.in_window(start, end)])
    return settings, week


@pytest.fixture
def real_room(real_week: tuple[Settings, str]) -> Iterator[tuple[Running, Settings, str]]:
    settings, week = real_week
    for running in _serve(room_of(settings)):
        yield running, settings, week


@pytest.mark.slow
def test_this_week_read_click_marks_the_card_and_the_cli_agrees(real_room: Any, page: Any) -> None:
    running, settings, week = real_room
    page.goto(f"{running.url}?week={week}")
    cards = page.locator("article.card")
    assert cards.count() >= 5, "the real week's digest shows items"
    assert page.locator("section.area h2").count() >= 2  # grouped by focus area
    _shot(page, "week")
    page.evaluate("window.__notReloaded = true")
    card = cards.first
    item_id = int(card.get_attribute("data-item"))
    card.get_by_role("button", name="Read", exact=True).click()
    card.get_by_role("button", name="Undo read").wait_for()
    assert page.evaluate("window.__notReloaded") is True  # updated in place, no full reload
    assert "read" in card.locator(".state").all_inner_texts()
    listed = {row["id"]: row for row in _cli(settings, "list", "--json", "--limit", "1000")}
    assert listed[item_id]["read"] is True
    card.get_by_role("button", name="Save", exact=True).focus()
    page.keyboard.press("Enter")  # keyboard works too
    card.get_by_role("button", name="Undo save").wait_for()
    listed = {row["id"]: row for row in _cli(settings, "list", "--json", "--limit", "1000")}
    assert listed[item_id]["saved"] is True
    _shot(page, "week-after-marks")
    _shot(page, "week-first-screen", full_page=False)  # the README's picture


@pytest.mark.slow
def test_search_then_open_a_result_and_its_similar_items(real_room: Any, page: Any) -> None:
    running, _, _ = real_room
    page.goto(running.url + "search")
    page.get_by_label("Query").fill("neural network training")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?q="))
    results = page.locator("article.card h3 a")
    assert results.count() >= 10
    _shot(page, "search")
    title = results.first.inner_text()
    results.first.click()
    page.wait_for_url(re.compile(r"/paper/\d+$"))
    assert page.locator("h1").inner_text() == title
    assert page.locator("p.abstract").inner_text().strip()
    similar = page.locator("section.similar article.card")
    assert similar.count() == 10
    assert page.locator("section.areas tr.best").count() == 1
    _shot(page, "paper")
    similar.first.locator("h3 a").click()
    page.wait_for_url(re.compile(r"/paper/\d+$"))
    assert page.locator("section.similar article.card").count() == 10


@pytest.mark.slow
def test_progress_chart_is_drawn_and_matches_stats(real_room: Any, page: Any) -> None:
    running, settings, _ = real_room
    page.goto(running.url + "search?q=large+language+model")
    for card in page.locator("article.card").all()[:3]:  # read three NLP papers this week
        card.get_by_role("button", name="Read", exact=True).click()
        card.get_by_role("button", name="Undo read").wait_for()
    page.goto(running.url + "progress")
    charts = page.locator("svg.progress-chart")
    assert charts.count() == 2  # one per focus area in CONFIG
    assert all(c.locator("rect.bar").count() == 12 for c in charts.all())  # 12 weeks each
    assert page.locator("svg.progress-chart line.goal").count() == 2
    titles = page.locator("svg.progress-chart rect.bar title").evaluate_all(
        "els => els.map(e => e.textContent)"
    )
    drawn = sum(int(re.search(r": (\d+) read", t).group(1)) for t in titles)
    tall = page.locator("svg.progress-chart rect.bar").evaluate_all(
        "bars => bars.filter(b => b.getBBox().height > 0).length"
    )
    stats = _cli(settings, "stats", "--json")
    assert drawn >= 3 and tall >= 1
    assert drawn == sum(p["read"] for p in stats["progress"] if p["area"] != "(no area)")
    _shot(page, "progress")
    for name in ("reading", "sources"):
        page.goto(running.url + name)
        assert page.locator("h1").count() == 1
        _shot(page, name)


# ---------------------------------------------------------------- hostile content


@pytest.fixture
def hostile_room(tmp_path: Path) -> Iterator[tuple[Running, Settings]]:
    """The B3/G4 vectors in RSS and Atom, ingested for real from a feed on 127.0.0.1."""
    settings = make_home(tmp_path / "h")
    g4 = "x\n\n# Injected\n\n[ref]: https://evil.example \u202eevil\u200b ```unclosed"
    vectors = [*XSS_VECTORS, g4]
    routes = {f"/rss{n}": static(_rss_with(v)) for n, v in enumerate(vectors)}
    routes |= {f"/atom{n}": static(_atom_with(v)) for n, v in enumerate(vectors)}
    with FixtureServer(routes) as srv:
        config = tmp_path / "hostile.yaml"
        sources = [feed_source(p.strip("/"), srv.url(p)) for p in routes]
        config.write_text(json.dumps({"sources": sources}))
        run(Settings(home=settings.home, config_path=config), deadline=20)
    with Store.open(settings.db_path) as store:
        _embed_fake(store, store.items.ids())
        assert store.items.count() > len(vectors)
    for running in _serve(room_of(settings)):
        yield running, settings


def _audit(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => {
        const all = [...document.querySelectorAll('*')];
        const on = all.flatMap(e => [...e.attributes].filter(a => /^on/i.test(a.name))
                                    .map(a => e.tagName + ' ' + a.name));
        const hrefs = [...document.querySelectorAll('[href]')].map(e => e.href);
        const srcs = [...document.querySelectorAll('[src]')].map(e => e.src);
        const scripts = [...document.scripts].map(s => s.src);
        return {on, hrefs, srcs, scripts, frames: document.querySelectorAll('iframe').length};
    }"""
    )


def test_hostile_titles_summaries_and_links_render_as_text(hostile_room: Any, page: Any) -> None:
    running, _ = hostile_room
    origin = running.url.rstrip("/")
    urls = [running.url, running.url + "search?q=alert+script", running.url + "reading"]
    page.goto(running.url)
    ids = [
        int(i)
        for i in page.locator("article.card").evaluate_all(
            "cards => cards.map(c => c.dataset.item)"
        )
    ]
    assert len(ids) >= 10
    page.goto(running.url + "search?q=alert+onerror+javascript")
    ids += [
        int(i)
        for i in page.locator("article.card").evaluate_all(
            "cards => cards.map(c => c.dataset.item)"
        )
    ]
    urls += [f"{running.url}paper/{i}" for i in sorted(set(ids))[:40]]
    checked = 0
    for url in urls:
        page.goto(url)
        found = _audit(page)
        assert found["on"] == [], url
        assert found["frames"] == 0, url
        bad = [h for h in found["hrefs"] if not re.match(r"https?://", h)]
        assert bad == [], url
        assert all(s.startswith(origin + "/static/") for s in found["scripts"]), url
        assert all(s.startswith(origin + "/static/") for s in found["srcs"]), url
        checked += 1
    page.goto(running.url + "search?q=alert")
    _shot(page, "hostile-search")
    assert page.dialogs == [], f"{len(page.dialogs)} script executions"
    assert checked == len(urls) and len(urls) > 10
