"""The reading room's door into the library: pages' data, caches that follow the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from web_helpers import NOW, client_of, make_home, room_of

from paperfeed.digest.progress import week_of
from paperfeed.errors import NotFound
from paperfeed.records import Item
from paperfeed.web import cards
from paperfeed.web.pages import iso_week_window


def test_iso_week_window_is_monday_to_monday_utc() -> None:
    start, end = iso_week_window("2026-W48")
    assert start == datetime(2026, 11, 23, tzinfo=UTC) and end - start == timedelta(days=7)
    assert week_of(start) == "2026-W48" and week_of(end) == "2026-W49"
    for bad in ("2026-48", "2026-W54", "W48", "x-Wy"):
        with pytest.raises(NotFound):
            iso_week_window(bad)


def test_this_week_is_the_digest_and_is_rebuilt_after_a_mark(tmp_path: Path) -> None:
    room = room_of(make_home(tmp_path))
    first = room.week()
    assert {s.focus_area for s in first.digest.sections} == {"NLP", "Vision"}
    assert len(first.digest.entries) >= 5
    assert room.week().digest is first.digest  # nothing changed: the same digest
    room.mark_item(first.digest.entries[0].item.id, "read")
    assert room.week().digest is not first.digest  # a mark moves the ranking: built again


def test_a_paper_page_has_similar_items_areas_and_the_posts_that_link_to_it(
    tmp_path: Path,
) -> None:
    post = Item(
        title="A blog post explaining paper 1",
        url="https://blog.example/post",
        summary="Our take on it.",
        links=("https://arxiv.org/abs/2603.00001v1",),
        published=NOW,
    )
    room = room_of(make_home(tmp_path, extra=[("blog", [post])]))
    page = room.paper(1)
    assert len(page.similar) == 10 and all(h.id != 1 for h, _ in page.similar)
    assert [p.title for p in page.posts] == ["A blog post explaining paper 1"]
    assert [a.area for a in page.areas] == ["NLP", "Vision"]
    assert sum(a.best for a in page.areas) == 1
    assert page.areas[0].keywords == ("language model",)  # paper 1 is about language models
    with pytest.raises(NotFound):
        room.paper(999)


def test_reading_list_and_progress_count_what_was_marked(tmp_path: Path) -> None:
    room = room_of(make_home(tmp_path))
    for item_id in (1, 3, 5):  # language-model papers: area NLP by keyword
        room.mark_item(item_id, "read")
    room.mark_item(2, "save")
    saved, by_week, _ = room.reading()
    assert [i.id for i in saved] == [2]
    assert [(w, sorted(i.id for i in items)) for w, items in by_week] == [
        (week_of(datetime.now(UTC)), [1, 3, 5])
    ]
    progress = room.progress()
    assert len(progress.weeks) == 12 and progress.weeks[-1] == week_of(datetime.now(UTC))
    assert progress.read["NLP"][-1] == 3 and sum(progress.read["Vision"]) == 0
    assert progress.goals == {"NLP": 2, "Vision": 1}


def test_undo_buttons_follow_the_marks(tmp_path: Path) -> None:
    room = room_of(make_home(tmp_path))
    state = cards.MarkState.of(4, room.mark_item(4, "up").mark)
    assert [b.label for b in state.buttons] == ["Read", "Save", "Undo rating"]
    state = cards.MarkState.of(4, room.mark_item(4, "unrate").mark)
    assert [b.label for b in state.buttons] == ["Read", "Save", "Rate up", "Not for me"]


def test_chart_bars_scale_to_the_goal_and_the_tallest_week() -> None:
    chart = cards.chart("NLP", ["w1", "w2", "w3"], [0, 4, 2], goal=2)
    heights = [b.height for b in chart.bars]
    assert heights[0] == 0 and heights[1] == max(heights) and heights[1] == 2 * heights[2]
    assert chart.top == 4 and chart.goal_y is not None
    assert chart.bars[1].y == pytest.approx(cards.CHART_PAD)  # the tallest reaches the top


def test_the_week_page_names_the_window_s_last_day_as_the_markdown_does(tmp_path: Path) -> None:
    client, _policy = client_of(room_of(make_home(tmp_path)))
    page = client.get("/", params={"week": "2026-W48"})
    assert page.status_code == 200
    assert "2026-11-23 to 2026-11-29" in page.text  # Monday to Sunday, not the next Monday
