"""The digest pipeline over an in-memory store with the fake embedder (no model, no network)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fakes import HashingEmbedder
from markdown_it import MarkdownIt
from test_render import BIDI, HOSTILE, flatten

from paperfeed.config import Config, FocusArea, SourceConfig
from paperfeed.digest.build import code_link, estimate_minutes, period_of, snippet
from paperfeed.digest.markdown import headings_expected, safe_url
from paperfeed.digest.model import DigestOptions
from paperfeed.digest.run import run_digest
from paperfeed.records import Item
from paperfeed.store import Store

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
TOPICS = [
    "language models translation text",
    "image segmentation pixels camera",
    "retrieval ranking search queries",
    "graph neural networks molecules",
]


def config(model: str) -> Config:
    return Config(
        path=Path("sources.yaml"),
        model=model,
        focus_areas=(
            FocusArea("NLP", "language models and text", ("language model",), 1.0, 3),
            FocusArea("Vision", "images, segmentation", ("segmentation",)),
            FocusArea("Search", "retrieval and ranking", ("retrieval",)),
        ),
        sources=(SourceConfig("arxiv", "arxiv"), SourceConfig("blog", "feed", weight=2.0)),
    )


def paper(n: int, topic: str, days: float = 1.0, **extra: object) -> Item:
    words = " ".join(random.Random(n).sample(topic.split() * 3, 6))
    return Item(
        title=f"Paper {n}: {words}",
        summary=f"We study {words} {n}. Second sentence. Third sentence.",
        arxiv_id=f"2603.{n:05d}",
        kind="paper",
        authors=("A. B",),
        published=NOW - timedelta(days=days),
        **extra,
    )  # type: ignore[arg-type]


def fill(store: Store, embedder: HashingEmbedder, items: list[Item], source: str) -> None:
    store.items.upsert(items, source)
    stored = store.items.get_many(store.items.ids())
    store.vectors.put(
        embedder.model_name,
        [(i.id, i.content_hash, embedder.query(f"{i.title} {i.summary}")) for i in stored],
    )


@pytest.fixture
def world() -> tuple[Store, HashingEmbedder, Config]:
    store, embedder = Store.memory(), HashingEmbedder()
    fill(store, embedder, [paper(n, TOPICS[n % 4]) for n in range(60)], "arxiv")
    return store, embedder, config(embedder.model_name)


def options(**kw: object) -> DigestOptions:
    return DigestOptions(NOW - timedelta(days=7), NOW, **kw)  # type: ignore[arg-type]


def test_second_run_over_the_same_window_sends_nothing_again(world, tmp_path: Path) -> None:
    store, embedder, cfg = world
    first = run_digest(store, cfg, embedder.query, options(), folder=tmp_path)
    second = run_digest(store, cfg, embedder.query, options(), folder=tmp_path)
    ids_first = {e.item.id for e in first.digest.entries}
    ids_second = {e.item.id for e in second.digest.entries}
    assert ids_first and not ids_first & ids_second
    assert first.path == tmp_path / "2026-W11.md" and second.path == tmp_path / "2026-W11-2.md"
    assert first.path.read_text() == first.markdown  # the first file was not overwritten


def test_dry_run_records_and_writes_nothing(world, tmp_path: Path) -> None:
    store, embedder, cfg = world
    dry = run_digest(store, cfg, embedder.query, options(), folder=tmp_path, dry_run=True)
    assert dry.path is None and not list(tmp_path.iterdir())
    assert store.digests.sent_ids() == set() and store.digests.history() == []
    real = run_digest(store, cfg, embedder.query, options(), folder=tmp_path)
    assert [e.item.id for e in real.digest.entries] == [e.item.id for e in dry.digest.entries]


def test_sections_follow_config_one_area_per_item_and_per_area_cap(world, tmp_path) -> None:
    store, embedder, cfg = world
    digest = run_digest(
        store, cfg, embedder.query, options(per_area=4), folder=tmp_path, dry_run=True
    ).digest
    assert [s.focus_area for s in digest.sections] == ["NLP", "Vision", "Search"]
    ids = [e.item.id for e in digest.entries]
    assert len(ids) == len(set(ids)) and all(len(s.entries) <= 4 for s in digest.sections)
    assert all(e.area == s.focus_area for s in digest.sections for e in s.entries)
    assert any("retrieval" in e.item.title for e in digest.sections[2].entries)


def test_budget_stops_when_the_minutes_are_spent_and_covers_the_goal_area(world, tmp_path) -> None:
    store, embedder, cfg = world
    full = run_digest(store, cfg, embedder.query, options(), folder=tmp_path, dry_run=True)
    capped = run_digest(
        store, cfg, embedder.query, options(budget_minutes=40), folder=tmp_path, dry_run=True
    )
    minutes = sum(e.minutes for e in capped.digest.entries)
    assert 0 < minutes <= 40 < sum(e.minutes for e in full.digest.entries)
    nlp = capped.digest.sections[0]  # the one area with a weekly goal gets the minutes first
    assert nlp.focus_area == "NLP" and nlp.entries
    best_nlp = max(full.digest.sections[0].entries, key=lambda e: e.score)
    assert best_nlp.item.id in {e.item.id for e in nlp.entries}


def test_posts_explain_linked_papers_and_fill_highlights(world, tmp_path: Path) -> None:
    store, embedder, cfg = world
    target = store.items.get_many(store.items.ids())[0]
    post = Item(
        title="Blog: the paper explained",
        url="https://blog.example/explained",
        summary="An easy read about something else entirely.",
        published=NOW - timedelta(days=2),
        links=(f"https://arxiv.org/abs/{target.arxiv_id}v2",),
    )
    fill(store, embedder, [post], "blog")
    digest = run_digest(
        store, cfg, embedder.query, options(per_area=30), folder=tmp_path, dry_run=True
    ).digest
    entry = next(e for e in digest.entries if e.item.id == target.id)
    assert entry.explained_in == (("Blog: the paper explained", "https://blog.example/explained"),)
    assert [e.item.title for e in digest.highlights] == ["Blog: the paper explained"]


def test_progress_counts_reads_of_the_week_under_the_area_they_were_sent(world, tmp_path) -> None:
    store, embedder, cfg = world
    sent = run_digest(store, cfg, embedder.query, options(), folder=tmp_path).digest
    for entry in sent.sections[0].entries[:2]:
        store.reading.apply(entry.item.id, "read", NOW - timedelta(hours=1))
    store.reading.apply(sent.sections[1].entries[0].item.id, "read", NOW - timedelta(days=9))
    digest = run_digest(store, cfg, embedder.query, options(), folder=tmp_path, dry_run=True).digest
    assert [(p.area, p.read, p.goal) for p in digest.progress] == [
        ("NLP", 2, 3),
        ("Vision", 0, None),  # read two weeks ago: not this week
        ("Search", 0, None),
    ]


def test_needs_attention_lists_disabled_failing_and_moved_sources(world, tmp_path) -> None:
    store, embedder, cfg = world
    store.sources.record_failure("blog", kind="HttpStatusError", message="HTTP 500", now=NOW)
    store.sources.disable("dead", reason="3 failures in a row", now=NOW)
    markdown = run_digest(
        store, cfg, embedder.query, options(), folder=tmp_path, dry_run=True
    ).markdown
    section = markdown.split("## Needs attention")[1]
    assert "blog" in section and "HTTP 500" in section and "dead" in section


def test_front_matter_is_yaml_and_json_has_the_documented_shape(world, tmp_path) -> None:
    store, embedder, cfg = world
    run = run_digest(store, cfg, embedder.query, options(), folder=tmp_path)
    meta = yaml.safe_load(run.markdown.split("---\n")[1])
    assert meta["period"] == "2026-W11" and meta["focus_areas"] == ["NLP", "Vision", "Search"]
    data = run.digest.as_json()
    assert set(data["window"]) >= {"start", "end"}
    item = data["sections"][0]["items"][0]
    assert set(item) >= {"id", "arxiv_id", "title", "url", "score", "why", "minutes"}
    assert set(item) >= {"snippet", "source", "categories", "date", "code_url", "explained_in"}
    assert [row["area"] for row in data["progress"]] == ["NLP", "Vision", "Search"]


def hostile(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(HOSTILE) for _ in range(rng.randint(0, n)))


def test_garbage_and_xss_items_render_with_exactly_the_configured_sections(tmp_path) -> None:
    rng, store, embedder = random.Random(3), Store.memory(), HashingEmbedder()
    items = [
        Item(
            title=hostile(rng, 12) or "t",
            summary=hostile(rng, 40),
            url=rng.choice(["https://e.example/", "javascript:alert"]) + hostile(rng, 4),
            kind=rng.choice(["paper", "post"]),
            authors=(hostile(rng, 5),),
            published=NOW - timedelta(days=1),
            guid=str(n),
        )
        for n in range(300)
    ]
    fill(store, embedder, items, "evil")
    store.sources.record_failure("evil", kind="ParseError", message=hostile(rng, 30), now=NOW)
    cfg = config(embedder.model_name)
    run = run_digest(
        store, cfg, embedder.query, options(per_area=20), folder=tmp_path, dry_run=True
    )
    body = run.markdown.split("---\n", 2)[2]
    assert not BIDI.search(run.markdown)
    for md in (
        MarkdownIt("commonmark", {"html": False}),
        MarkdownIt("gfm-like", {"linkify": False}),
    ):
        tokens = flatten(md.parse(body))
        types = [t.type for t in tokens]
        assert types.count("heading_open") == headings_expected(run.digest)
        assert not {"image", "html_inline", "html_block"} & set(types)
        hrefs = [t.attrGet("href") for t in tokens if t.type == "link_open"]
        assert all(safe_url(str(h)) == h for h in hrefs)


def test_small_pure_helpers() -> None:
    assert code_link("code: https://github.com/org/repo.git.") == "https://github.com/org/repo"
    assert code_link("see https://huggingface.co/org/model") == "https://huggingface.co/org/model"
    assert code_link("javascript:github.com/x/y") is None
    assert period_of(datetime(2026, 1, 5, tzinfo=UTC)) == "2026-W01"  # end is exclusive
    fake = Store.memory()
    fake.items.upsert([paper(1, TOPICS[0])], "arxiv")
    assert 15 <= estimate_minutes(fake.items.get_many(fake.items.ids())[0]) <= 30


def test_older_posts_explain_but_only_the_window_is_ranked(world, tmp_path: Path) -> None:
    store, embedder, cfg = world
    target = store.items.get_many(store.items.ids())[0]
    old_post = Item(
        title="Blog: a month-old explainer",
        url="https://blog.example/old",
        summary="Background reading.",
        published=NOW - timedelta(days=30),
        links=(f"https://arxiv.org/abs/{target.arxiv_id}",),
    )
    fill(store, embedder, [old_post, paper(900, TOPICS[0], days=20)], "blog")
    digest = run_digest(
        store, cfg, embedder.query, options(per_area=60), folder=tmp_path, dry_run=True
    ).digest
    titles = {e.item.title for e in digest.entries}
    assert "Blog: a month-old explainer" not in titles
    assert not any(t.startswith("Paper 900:") for t in titles)
    entry = next(e for e in digest.entries if e.item.id == target.id)
    assert entry.explained_in == (("Blog: a month-old explainer", "https://blog.example/old"),)


def test_snippet_of_a_long_abstract_is_its_first_two_sentences() -> None:
    summary = "First  finding\nhere. Second one! " + "Third sentence goes on. " * 500
    assert snippet(summary) == "First finding here. Second one!"
    assert len(snippet("word " * 5000)) <= 400
