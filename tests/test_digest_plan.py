"""The digest as a weekly reading plan (issue 11): task lines that render as checkboxes, sync from
the note, honest "why this", the budget across goals, one progress count everywhere, undo."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from fakes import HashingEmbedder
from markdown_it import MarkdownIt
from mdit_py_plugins.tasklists import tasklists_plugin

from paperfeed.cli import main
from paperfeed.config import Config, FocusArea, SourceConfig
from paperfeed.digest.model import DigestOptions
from paperfeed.digest.run import run_digest
from paperfeed.digest.sync import sync_digests, task_states
from paperfeed.records import Item
from paperfeed.settings import Settings
from paperfeed.store import Store

NOW = datetime(2026, 3, 8, 20, tzinfo=UTC)  # a Sunday: ISO week 2026-W10
AREAS = {
    "Language": ("language models translation text", ("language model",), 3),
    "Vision": ("image segmentation pixels camera", ("segmentation",), 2),
    "Search": ("retrieval ranking search queries", ("retrieval",), 2),
    "Graphs": ("graph neural networks molecules", ("graph",), 1),
}
CONFIG = """
sources:
  - {name: arxiv, type: arxiv, categories: [cs.LG]}
focus_areas:
""" + "".join(
    f"  - {{name: {name}, description: {topic}, keywords: [{kw[0]}], weekly_goal: {goal}}}\n"
    for name, (topic, kw, goal) in AREAS.items()
)


def paper(n: int, topic: str, pages: int | None = None) -> Item:
    words = " ".join(random.Random(n).sample(topic.split() * 3, 6))
    return Item(
        title=f"Paper {n}: {words}",
        summary=f"We study {words} {n}. Second sentence. Third sentence.",
        arxiv_id=f"2603.{n:05d}",
        kind="paper",
        categories=("cs.LG", "cs.CL"),
        published=NOW - timedelta(days=1 + n % 5),
        pages=pages,
    )


def fill(store: Store, embedder: HashingEmbedder, items: list[Item]) -> None:
    store.items.upsert(items, "arxiv", now=NOW)
    stored = store.items.get_many(store.items.ids())
    store.vectors.put(
        embedder.model_name,
        [(i.id, i.content_hash, embedder.query(f"{i.title} {i.summary}")) for i in stored],
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Settings:
    settings = Settings.resolve(tmp_path / "home", tmp_path / "sources.yaml")
    settings.config_path.write_text(CONFIG)
    embedder = HashingEmbedder()
    topics = [t for t, _, _ in AREAS.values()]
    with Store.open(settings.db_path) as store:
        fill(store, embedder, [paper(n, topics[n % 4], pages=4 + n % 20) for n in range(48)])
    monkeypatch.setattr(
        "paperfeed.embed.embedder.load_query_encoder", lambda model: HashingEmbedder(model).query
    )
    return settings


def cli(settings: Settings, *args: str):
    result = CliRunner().invoke(
        main, ["--home", str(settings.home), "--config", str(settings.config_path), *args]
    )
    assert result.exit_code == 0, result.output
    return result


WEEK = ("--since", "2026-03-02", "--until", "2026-03-08")


def test_each_item_renders_as_a_checkbox_with_link_meta_snippet_and_why_on_their_own_lines(
    home,
) -> None:
    markdown = cli(home, "digest", "--dry-run", *WEEK).output
    html = MarkdownIt("commonmark").use(tasklists_plugin).render(markdown)
    soup = BeautifulSoup(html, "html.parser")
    items = [li for li in soup.find_all("li") if li.find("input", recursive=False)]
    assert len(items) == 4 * 5
    for li in items:
        assert li.input["type"] == "checkbox" and not li.input.has_attr("checked")
        link = li.find("a", recursive=False)
        assert link and link["href"].startswith("https://arxiv.org/abs/2603.")
        meta = "".join(t for t in li.find_all(string=True, recursive=False)).strip()
        assert re.fullmatch(r"· cs\.LG \(also cs\.CL\) · 2026-03-0\d · \d+ min · id \d+", meta)
        pieces = [sub.get_text() for sub in li.find("ul").find_all("li", recursive=False)]
        assert pieces[0].startswith("We study ") and pieces[1].startswith("Why this: ")


def test_sync_ticks_become_read_marks_moves_and_notes_are_fine_and_the_file_is_untouched(
    home, tmp_path: Path
) -> None:
    written = Path(cli(home, "digest", *WEEK).output.split()[1])
    copy = tmp_path / "vault" / "digest.md"
    copy.parent.mkdir()
    lines = written.read_text().splitlines(keepends=True)
    tasks = [i for i, line in enumerate(lines) if line.startswith("- [ ] ")]
    for i in tasks[:3]:
        lines[i] = lines[i].replace("- [ ] ", "- [x] ", 1)
    ticked = {int(lines[i].rsplit("id ", 1)[1]) for i in tasks[:3]}
    moved = [lines.pop(tasks[-1]), lines.pop(tasks[-2])]  # two items moved to the top
    lines[6:6] = [*moved, "My note: read the Vision ones first, id 99999 is not an item\n"]
    copy.write_text("".join(lines))
    before = copy.read_bytes()

    first = json.loads(cli(home, "sync", str(copy), "--json").output)
    assert sorted(first["read"]) == sorted(ticked) and first["unread"] == []
    assert json.loads(cli(home, "sync", str(copy), "--json").output)["read"] == []
    assert copy.read_bytes() == before
    with Store.open(home.db_path, read_only=True) as store:
        assert store.reading.read_ids() == ticked

    copy.write_text(before.decode().replace("- [x] ", "- [ ] ", 1))
    again = json.loads(cli(home, "sync", str(copy), "--json").output)
    assert len(again["unread"]) == 1 and again["read"] == []
    # the original digest never had those boxes ticked: syncing it takes nothing back
    assert json.loads(cli(home, "sync", "--json").output)["unread"] == []


def test_an_unticked_box_never_seen_ticked_leaves_a_read_mark_alone(home) -> None:
    written = Path(cli(home, "digest", *WEEK).output.split()[1])
    first_id = next(iter(task_states(written.read_text())))
    cli(home, "read", str(first_id))
    assert json.loads(cli(home, "sync", "--json").output)["unread"] == []
    with Store.open(home.db_path, read_only=True) as store:
        assert first_id in store.reading.read_ids()


def test_task_states_find_ids_anywhere_and_ignore_lines_that_are_not_tasks() -> None:
    text = "- [x] [T](u) · id 7\n  - [X] nested · id 8\n* [ ] id 9\nid 10 plain\n- [ ] no id\n"
    assert task_states(text) == {7: True, 8: True, 9: False}


def world(tmp_path: Path) -> tuple[Store, HashingEmbedder, Config]:
    store, embedder = Store.memory(), HashingEmbedder()
    topics = [t for t, _, _ in AREAS.values()]
    fill(store, embedder, [paper(n, topics[n % 4], pages=4 + n % 20) for n in range(48)])
    areas = tuple(
        FocusArea(name, topic, kw, 1.0, goal) for name, (topic, kw, goal) in AREAS.items()
    )
    cfg = Config(tmp_path / "s.yaml", (SourceConfig("arxiv", "arxiv"),), areas, embedder.model_name)
    return store, embedder, cfg


def options(**kw) -> DigestOptions:
    return DigestOptions(NOW - timedelta(days=7), NOW, **kw)


def test_why_this_cites_only_items_of_the_same_area_with_the_verb_of_the_mark(tmp_path) -> None:
    store, embedder, cfg = world(tmp_path)
    first = run_digest(store, cfg, embedder.query, options(per_area=3), folder=tmp_path).digest
    language, vision = first.sections[0].entries, first.sections[1].entries
    verbs = {}
    for entry, action, verb in [
        (language[0], "read", "read"),
        (language[1], "save", "saved"),
        (vision[0], "up", "rated up"),
        (vision[1], "save", "saved"),
    ]:
        store.reading.apply(entry.item.id, action, NOW - timedelta(days=1))
        verbs[entry.item.title] = (verb, entry.area)
    digest = run_digest(store, cfg, embedder.query, options(), folder=tmp_path).digest
    cited = 0
    for section in digest.sections:
        whys = [e.why for e in section.entries]
        assert len(set(whys)) == len(whys)
        for line in whys:
            for title, (verb, area) in verbs.items():
                if f"“{title}”" in line:
                    cited += 1
                    assert area == section.focus_area and line.split(", which you ")[1].startswith(
                        verb
                    )
    assert cited > 0  # the test can fail: some lines do cite a mark


def test_without_marks_why_this_names_the_description_words_the_item_matches() -> None:
    from paperfeed.digest import rank, why

    area = rank.Area("Vision", __import__("numpy").zeros(4), (), 1.0, "image segmentation, camera")
    line = why.why_line("Segmentation of camera frames", "We segment.", area.vector, area, None)
    assert line == "about segmentation, camera, as the Vision description asks"
    assert why.distinct(["a", "b", "a"]) == ["a; ranked 1st here", "b", "a; ranked 3rd here"]


def test_a_keyword_fires_on_the_whole_word_only() -> None:
    from paperfeed.digest import rank

    assert rank.matched_keywords("Reserving GPUs", "observing", ["serving"]) == []
    assert rank.matched_keywords("Model serving at scale", "", ["serving"]) == ["serving"]


def test_budget_90_gives_every_area_with_a_goal_an_item_within_the_minutes(tmp_path) -> None:
    store, embedder, cfg = world(tmp_path)
    digest = run_digest(
        store, cfg, embedder.query, options(budget_minutes=90), folder=tmp_path, dry_run=True
    ).digest
    assert all(section.entries for section in digest.sections)
    assert sum(e.minutes for e in digest.entries) <= 90
    # minutes come from the page count: 4 + n % 20 pages at 1.5 minutes a page
    assert {e.minutes for e in digest.entries} == {
        round(e.item.pages * 1.5) for e in digest.entries if e.item.pages
    }


def test_budget_shares_follow_what_each_goal_still_needs(tmp_path) -> None:
    store, embedder, cfg = world(tmp_path)
    sent = run_digest(store, cfg, embedder.query, options(per_area=3), folder=tmp_path).digest
    for entry in sent.sections[0].entries:  # Language (goal 3) is met this week
        store.reading.apply(entry.item.id, "read", NOW - timedelta(hours=2))
    digest = run_digest(
        store, cfg, embedder.query, options(budget_minutes=120), folder=tmp_path, dry_run=True
    ).digest
    spent = {s.focus_area: sum(e.minutes for e in s.entries) for s in digest.sections}
    assert digest.progress[0].met and spent["Language"] <= min(spent["Vision"], spent["Search"])


def test_digest_progress_equals_stats_and_json_over_marks_of_two_weeks(home) -> None:
    with Store.open(home.db_path) as store:
        sent = run_digest(
            store,
            Config(
                home.config_path,
                focus_areas=tuple(FocusArea(n, t, k, 1.0, g) for n, (t, k, g) in AREAS.items()),
                model=HashingEmbedder().model_name,
            ),
            HashingEmbedder().query,
            options(per_area=4),
            folder=home.home / "digests",
        ).digest
        this_week, last_week = NOW - timedelta(days=2), NOW - timedelta(days=8)
        for n, entry in enumerate(e for s in sent.sections for e in s.entries[:3]):
            store.reading.apply(entry.item.id, "read", this_week if n % 2 else last_week)
    markdown = cli(home, "digest", "--dry-run", *WEEK).output
    table = markdown.split("## Progress")[1].split("## Needs attention")[0]
    rows = re.findall(r"^\| (?!Focus|---)(.+?) \| (\d+) / (\d+)( ✓ goal met)? \|$", table, re.M)
    from_markdown = [(a, int(r), int(g), bool(m)) for a, r, g, m in rows]
    as_json = json.loads(cli(home, "digest", "--dry-run", "--json", *WEEK).output)["progress"]
    from_json = [(p["area"], p["read"], p["goal"], p["met"]) for p in as_json]
    stats = json.loads(cli(home, "stats", "--week", "2026-W10", "--json").output)["progress"]
    from_stats = [(p["area"], p["read"], p["goal"], p["met"]) for p in stats]
    assert from_markdown == from_json == from_stats
    assert [a for a, *_ in from_stats] == list(AREAS)  # every area, read or not
    assert sum(r for _, r, _, _ in from_stats) == 6  # last week's six reads are not counted
    last = json.loads(cli(home, "stats", "--week", "2026-W09", "--json").output)["progress"]
    assert sum(p["read"] for p in last) == 6


def test_forget_returns_the_items_to_the_pool_and_keeps_the_file(home) -> None:
    def ids(output: str) -> set[int]:
        return {i["id"] for s in json.loads(output)["sections"] for i in s["items"]}

    written = Path(cli(home, "digest", *WEEK).output.split()[1])
    sent = set(task_states(written.read_text()))
    assert (
        len(sent) == 20 and not ids(cli(home, "digest", "--dry-run", "--json", *WEEK).output) & sent
    )
    assert "forgot 2026-W10: 20 items" in cli(home, "digest", "--forget", "2026-W10").output
    assert written.exists()
    assert ids(cli(home, "digest", "--dry-run", "--json", *WEEK).output) == sent
    args = ["--home", str(home.home), "--config", str(home.config_path)]
    result = CliRunner().invoke(main, [*args, "digest", "--forget", "2026-W10"])
    assert result.exit_code != 0 and "no digest recorded" in result.output


def test_sync_of_a_store_without_those_items_reports_them_unknown(tmp_path: Path) -> None:
    store, settings = Store.memory(), Settings.resolve(tmp_path / "h", tmp_path / "s.yaml")
    note = tmp_path / "d.md"
    note.write_text("- [x] [T](https://x.example/) · id 42\n")
    result = sync_digests(store, settings, [note])
    assert result.unknown == [42] and result.read == []


def test_implausible_dates_use_first_seen_and_weak_posts_go_to_the_highlights(tmp_path) -> None:
    store, embedder, cfg = world(tmp_path)
    posts = [
        Item(title="FAQ", url="https://b.example/faq", summary="Questions.", published=None),
        Item(
            title="Paper 1: language models translation text",
            url="https://b.example/lm",
            summary="We study language models translation text 1. Second sentence.",
            published=NOW - timedelta(days=1),
        ),
    ]
    store.items.upsert(posts, "blog", now=NOW - timedelta(days=2))
    stored = [i for i in store.items.get_many(store.items.ids()) if i.kind == "post"]
    store.vectors.put(
        embedder.model_name,
        [(i.id, i.content_hash, embedder.query(f"{i.title} {i.summary}")) for i in stored],
    )
    digest = run_digest(store, cfg, embedder.query, options(per_area=20), folder=tmp_path).digest
    faq = next(e for e in digest.entries if e.item.title == "FAQ")
    assert faq.dated_by == "first_seen" and faq.date == (NOW - timedelta(days=2)).date()
    assert faq in digest.highlights  # matches no area
    close = next(e for e in digest.entries if e.item.url == "https://b.example/lm")
    assert close in digest.sections[0].entries  # a post that close goes under its area


@pytest.mark.parametrize(
    ("published", "dated_by"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "first_seen"),
        (datetime(1989, 12, 31, tzinfo=UTC), "first_seen"),
        (NOW + timedelta(days=30), "first_seen"),
        (NOW - timedelta(days=3), "published"),
    ],
)
def test_dated_takes_first_seen_for_implausible_published_dates(published, dated_by) -> None:
    from paperfeed.digest.build import dated
    from paperfeed.store.items import StoredItem

    item = StoredItem(
        1, "k", "post", "t", "", None, None, None, None, (), (), (), published, NOW, "h", ()
    )
    assert dated(item, NOW)[1] == dated_by


def test_ingest_and_digest_sync_the_digest_folder_first(home) -> None:
    from paperfeed.ingest.record import store_results

    written = Path(cli(home, "digest", *WEEK).output.split()[1])
    first, second = list(task_states(written.read_text()))[:2]
    text = written.read_text()
    written.write_text(text.replace("- [ ] ", "- [x] ", 1))
    store_results(home, [], NOW, digest_folder=written.parent)
    with Store.open(home.db_path, read_only=True) as store:
        assert store.reading.read_ids() == {first}
    ticked_second = re.sub(
        rf"- \[ \] (.*id {second})$", r"- [x] \1", written.read_text(), flags=re.M
    )
    written.write_text(ticked_second)
    cli(home, "digest", "--since", "2026-03-09", "--until", "2026-03-15")
    with Store.open(home.db_path, read_only=True) as store:
        assert store.reading.read_ids() == {first, second}


def test_front_matter_has_tags_per_area_and_dates_without_microseconds(tmp_path) -> None:
    import yaml

    store, embedder, cfg = world(tmp_path)
    run = run_digest(store, cfg, embedder.query, options(), folder=tmp_path, dry_run=True)
    meta = yaml.safe_load(run.markdown.split("---\n")[1])
    assert meta["tags"] == ["paperfeed", "language", "vision", "search", "graphs"]
    assert all(re.fullmatch(r"[\d-]+T[\d:]+\+00:00", meta[k]) for k in ("created", "window_end"))


def test_plan_budget_covers_every_goal_within_a_fair_share_first() -> None:
    from paperfeed.digest.plan import AreaNeed, Candidate, plan_budget

    long_first = [Candidate(1, "A", 0.9, 60), Candidate(2, "A", 0.5, 20)]
    others = [Candidate(3, "B", 0.8, 30), Candidate(4, "C", 0.7, 25)]
    needs = [AreaNeed("A", 3, 0), AreaNeed("B", 1, 0), AreaNeed("C", 1, 1)]
    assert plan_budget(long_first + others, needs, 90) == {2, 3, 4}  # not the 60-minute one
    assert plan_budget(long_first + others, needs, None) == {1, 2, 3, 4}
    assert plan_budget(long_first + others, needs, 10) == set()
