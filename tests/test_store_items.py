"""ItemRepo: canonical-key dedupe (RELIABILITY B5), rollback and rerun (D5), reads, resolve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperfeed.errors import NotFound
from paperfeed.records import Item
from paperfeed.store import Store
from paperfeed.store import items as items_module
from paperfeed.text import repair_unicode

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def store() -> Store:
    return Store.memory()


def paper(arxiv_id: str = "2104.12255", version: int = 1, summary: str = "An abstract.") -> Item:
    return Item(
        title="A paper",
        summary=summary,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        url=f"https://arxiv.org/abs/{arxiv_id}v{version}",
        kind="paper",
        published=T0 - timedelta(days=3),
        authors=("Ada", "Bob"),
        categories=("cs.LG",),
    )


def post(title: str, url: str | None, guid: str | None = None) -> Item:
    return Item(title=title, url=url, guid=guid, summary=f"About {title}.")


def link_rows(store: Store) -> int:
    row = store.conn.execute("SELECT count(*) FROM item_sources").fetchone()
    assert row is not None
    return int(row[0])


# ---------------------------------------------------------------- B5


def test_b5a_items_sharing_one_guid_with_different_links_are_three_rows(store: Store) -> None:
    batch = [post(f"Post {n}", f"https://blog.example/p/{n}", guid="same-guid") for n in range(3)]
    result = store.items.upsert(batch, "blog", now=T0)
    assert (result.new, store.items.count()) == (3, 3)


def test_b5b_guid_changing_every_fetch_with_stable_link_adds_nothing(store: Store) -> None:
    store.items.upsert([post("Stable", "https://blog.example/a", guid="g-1")], "blog", now=T0)
    for fetch in range(2, 6):
        item = post("Stable", "https://blog.example/a/?utm_source=rss", guid=f"g-{fetch}")
        result = store.items.upsert([item], "blog", now=T0 + timedelta(hours=fetch))
        assert result.new == 0
    assert store.items.count() == 1


def test_b5c_paper_blog_and_newsletter_are_one_row_with_three_sources(store: Store) -> None:
    store.items.upsert([paper()], "arxiv-cs-lg", now=T0)
    store.items.upsert([post("Blog on it", "https://arxiv.org/abs/2104.12255")], "blog", now=T0)
    store.items.upsert([post("Issue 12", "https://arxiv.org/pdf/2104.12255v2")], "news", now=T0)
    assert store.items.count() == 1
    stored = store.items.get(store.items.ids()[0])
    assert stored is not None
    assert stored.sources == ("arxiv-cs-lg", "blog", "news")
    assert (stored.kind, stored.title) == ("paper", "A paper")  # a post never overwrites a paper
    assert store.items.count_by_source() == {"arxiv-cs-lg": 1, "blog": 1, "news": 1}


def test_b5c_post_first_then_paper_upgrades_the_row(store: Store) -> None:
    store.items.upsert([post("Blog on it", "https://arxiv.org/abs/2104.12255")], "blog", now=T0)
    result = store.items.upsert([paper(version=2)], "arxiv-cs-lg", now=T0 + timedelta(1))
    stored = store.items.get(store.items.ids()[0])
    assert stored is not None
    assert result.updated == 1
    assert (store.items.count(), stored.kind, stored.arxiv_version) == (1, "paper", 2)


def test_b5d_v1_then_v2_updates_version_and_keeps_first_seen(store: Store) -> None:
    first = store.items.upsert([paper(version=1)], "arxiv", now=T0)
    later = T0 + timedelta(days=2)
    second = store.items.upsert([paper(version=2, summary="Revised.")], "arxiv", now=later)
    stored = store.items.get(first.new_ids[0])
    assert stored is not None
    assert second.changed_ids == first.new_ids
    assert (store.items.count(), stored.arxiv_version, stored.summary) == (1, 2, "Revised.")
    assert stored.first_seen_at == T0
    changed_at = store.conn.execute("SELECT changed_at FROM items").fetchone()
    assert changed_at is not None and changed_at[0] == later


def test_b5d_an_older_version_seen_later_is_not_a_downgrade(store: Store) -> None:
    store.items.upsert([paper(version=3, summary="v3")], "arxiv", now=T0)
    result = store.items.upsert([paper(version=1, summary="v1")], "news", now=T0)
    stored = store.items.get(store.items.ids()[0])
    assert stored is not None
    assert (result.updated, stored.arxiv_version, stored.summary) == (0, 3, "v3")


def test_b5e_same_batch_five_times_writes_nothing_after_the_first(store: Store) -> None:
    batch = [
        paper("2401.00001"),
        paper("2401.00002"),
        post("P", "https://b.example/p"),
        post("Q", None, guid="q-guid"),
        post("No link, no guid", None),
    ]
    store.items.upsert(batch, "feed", now=T0)
    before = (store.items.count(), link_rows(store))
    for run in range(2, 6):
        result = store.items.upsert(batch, "feed", now=T0 + timedelta(hours=run))
        assert (result.new, result.updated, result.unchanged) == (0, 0, 5)
    assert (store.items.count(), link_rows(store)) == before == (5, 5)


def test_duplicates_inside_one_batch_keep_the_highest_version(store: Store) -> None:
    result = store.items.upsert([paper(version=1), paper(version=3), paper(version=2)], "arxiv")
    stored = store.items.get(result.new_ids[0])
    assert stored is not None
    assert (result.new, stored.arxiv_version) == (1, 3)


def test_unchanged_link_rows_are_not_rewritten(store: Store) -> None:
    store.items.upsert([post("P", "https://b.example/p")], "feed", now=T0)
    store.items.upsert([post("P", "https://b.example/p")], "feed", now=T0 + timedelta(days=1))
    seen = store.conn.execute("SELECT first_seen_at, last_seen_at FROM item_sources").fetchall()
    assert seen == [(T0, T0)]


def test_lone_surrogates_are_repaired_before_insert(store: Store) -> None:
    result = store.items.upsert([post("Bad \ud800 title", "https://b.example/s")], "feed")
    stored = store.items.get(result.new_ids[0])
    assert stored is not None and stored.title == "Bad \ufffd title"


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text())
def test_repair_fast_path_is_exactly_repair_unicode(value: str) -> None:
    assert items_module._fix(value) == repair_unicode(value)


# ---------------------------------------------------------------- D5


def test_d5_failure_after_a_partial_insert_rolls_back_and_rerun_is_idempotent(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = [paper(f"2401.0000{n}") for n in range(5)]

    def fail_after_insert(*args: object, **kwargs: object) -> None:
        raise RuntimeError("injected between statements")

    with monkeypatch.context() as patch:
        patch.setattr(items_module.ItemRepo, "_link", fail_after_insert)
        with pytest.raises(RuntimeError, match="injected"):
            store.items.upsert(batch, "arxiv", now=T0)
    assert (store.items.count(), link_rows(store)) == (0, 0)
    store.items.upsert(batch, "arxiv", now=T0)
    after_first = (store.items.count(), link_rows(store))
    second = store.items.upsert(batch, "arxiv", now=T0 + timedelta(hours=1))
    assert after_first == (5, 5)
    assert second.new == 0 and (store.items.count(), link_rows(store)) == after_first


# ---------------------------------------------------------------- reads


def test_get_many_keeps_the_order_given_and_skips_missing(store: Store) -> None:
    ids = store.items.upsert([paper(f"2401.0000{n}") for n in range(3)], "arxiv").new_ids
    got = store.items.get_many([ids[2], 999_999, ids[0]])
    assert [item.id for item in got] == [ids[2], ids[0]]
    assert store.items.get(999_999) is None
    assert store.items.get_many([]) == []


def test_in_window_uses_published_then_first_seen(store: Store) -> None:
    dated = Item(title="Dated", url="https://b.example/d", published=T0 - timedelta(days=30))
    undated = Item(title="Undated", url="https://b.example/u")
    store.items.upsert([dated, undated], "feed", now=T0)
    week = store.items.in_window(T0 - timedelta(days=7), T0 + timedelta(seconds=1))
    month = store.items.in_window(T0 - timedelta(days=31), T0 - timedelta(days=29))
    assert [i.title for i in week] == ["Undated"]
    assert [i.title for i in month] == ["Dated"]
    assert store.items.in_window(T0, T0) == []


def test_stored_item_round_trips_fields(store: Store) -> None:
    new_id = store.items.upsert([paper()], "arxiv", now=T0).new_ids[0]
    stored = store.items.get(new_id)
    assert stored is not None
    assert stored.key == "arxiv:2104.12255"
    assert (stored.authors, stored.categories) == (("Ada", "Bob"), ("cs.LG",))
    assert stored.published_at == T0 - timedelta(days=3)
    assert stored.published_at is not None and stored.published_at.tzinfo is not None
    assert store.items.ids() == [new_id]


# ---------------------------------------------------------------- resolve


@pytest.fixture
def resolvable(store: Store) -> tuple[Store, int, int]:
    paper_id = store.items.upsert([paper()], "arxiv").new_ids[0]
    blog = post("A blog post", "https://blog.example/posts/hello/?utm_source=rss")
    blog_id = store.items.upsert([blog], "blog").new_ids[0]
    return store, paper_id, blog_id


@pytest.mark.parametrize(
    "ref",
    [
        "2104.12255",
        "2104.12255v2",
        "arXiv:2104.12255v1",
        "https://arxiv.org/abs/2104.12255",
        "http://arxiv.org/pdf/2104.12255v3.pdf",
        " 2104.12255 ",
    ],
)
def test_resolve_arxiv_forms(resolvable: tuple[Store, int, int], ref: str) -> None:
    store, paper_id, _ = resolvable
    assert store.items.resolve(ref) == paper_id


@pytest.mark.parametrize(
    "ref",
    [
        "https://blog.example/posts/hello",
        "https://www.blog.example/posts/hello/",
        "http://blog.example/posts/hello?utm_medium=email&fbclid=x#top",
    ],
)
def test_resolve_blog_urls(resolvable: tuple[Store, int, int], ref: str) -> None:
    store, _, blog_id = resolvable
    assert store.items.resolve(ref) == blog_id


def test_resolve_short_id(resolvable: tuple[Store, int, int]) -> None:
    store, paper_id, blog_id = resolvable
    assert store.items.resolve(str(blog_id)) == blog_id
    assert store.items.resolve(str(paper_id)) == paper_id


@pytest.mark.parametrize("ref", ["424242", "2301.99999", "https://nowhere.example/x", "hello"])
def test_resolve_unknown_raises_not_found_with_one_line(
    resolvable: tuple[Store, int, int], ref: str
) -> None:
    store, _, _ = resolvable
    with pytest.raises(NotFound) as caught:
        store.items.resolve(ref)
    message = str(caught.value)
    assert ref in message and "\n" not in message
