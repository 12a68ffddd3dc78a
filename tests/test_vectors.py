"""VectorRepo: pending detection, upserts, ordered fast load, stats that match load."""

from __future__ import annotations

import numpy as np
import pytest

from paperfeed.records import Item
from paperfeed.store import Store
from paperfeed.store.vectors import id_checksum


@pytest.fixture
def store() -> Store:
    s = Store.memory()
    yield s
    s.close()


def add_items(store: Store, n: int, summary: str = "abstract") -> list[int]:
    items = [
        Item(
            title=f"paper {i}",
            url=f"https://example.org/{i}",
            summary=f"{summary} {i}",
            kind="paper",
        )
        for i in range(n)
    ]
    return store.items.upsert(items, "test").new_ids


def unit(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def hashes(store: Store) -> dict[int, str]:
    return dict(store.conn.execute("SELECT id, content_hash FROM items").fetchall())


def test_pending_lists_items_without_a_vector(store: Store) -> None:
    ids = add_items(store, 3)
    pending = store.vectors.pending("m")
    assert [row[0] for row in pending] == sorted(ids)
    assert pending[0][2] == "paper 0" and pending[0][3] == "abstract 0"
    assert store.vectors.pending("m", limit=2) == pending[:2]
    assert store.vectors.count_pending("m") == 3


def test_put_then_nothing_pending_for_that_model_only(store: Store) -> None:
    ids = add_items(store, 3)
    h = hashes(store)
    store.vectors.put("m", [(i, h[i], unit(i)) for i in ids])
    assert store.vectors.pending("m") == []
    assert store.vectors.current_count("m") == 3
    assert len(store.vectors.pending("other")) == 3


def test_changed_content_hash_is_pending_again(store: Store) -> None:
    ids = add_items(store, 3)
    h = hashes(store)
    store.vectors.put("m", [(i, h[i], unit(i)) for i in ids])
    changed = Item(title="paper 1", url="https://example.org/1", summary="rewritten", kind="paper")
    store.items.upsert([changed], "test")
    assert [row[0] for row in store.vectors.pending("m")] == [ids[1]]
    assert store.vectors.current_count("m") == 2


def test_load_round_trips_and_orders_by_id(store: Store) -> None:
    ids = add_items(store, 5)
    h = hashes(store)
    shuffled = [ids[i] for i in (3, 0, 4, 1, 2)]
    store.vectors.put("m", [(i, h[i], unit(i)) for i in shuffled])
    got_ids, matrix = store.vectors.load("m")
    assert got_ids.dtype == np.int64 and matrix.dtype == np.float32
    assert got_ids.tolist() == sorted(ids)
    expected = np.stack([unit(i) for i in sorted(ids)])
    assert np.array_equal(matrix, expected)


def test_put_upserts_and_last_duplicate_wins(store: Store) -> None:
    (item,) = add_items(store, 1)
    h = hashes(store)[item]
    store.vectors.put("m", [(item, h, unit(1))])
    store.vectors.put("m", [(item, h, unit(2)), (item, h, unit(3))])
    assert np.array_equal(store.vectors.get("m", [item])[item], unit(3))
    assert store.vectors.stats("m").count == 1


def test_get_leaves_out_missing_ids(store: Store) -> None:
    ids = add_items(store, 2)
    h = hashes(store)
    store.vectors.put("m", [(ids[0], h[ids[0]], unit(0))])
    got = store.vectors.get("m", [ids[0], ids[1], 999])
    assert list(got) == [ids[0]]
    assert store.vectors.get("m", []) == {}


def test_stats_match_load_and_ignore_deleted_items(store: Store) -> None:
    ids = add_items(store, 4)
    h = hashes(store)
    store.vectors.put("m", [(i, h[i], unit(i, dim=16)) for i in ids])
    store.conn.execute("DELETE FROM items WHERE id = ?", [ids[2]])
    got_ids, matrix = store.vectors.load("m")
    stats = store.vectors.stats("m")
    assert ids[2] not in got_ids.tolist()
    assert (stats.count, stats.max_id, stats.dim) == (3, max(got_ids), 16)
    assert stats.id_checksum == id_checksum(got_ids)
    assert id_checksum([ids[0], ids[1], ids[3]]) == stats.id_checksum
    assert id_checksum([ids[0], ids[1], ids[2]]) != stats.id_checksum


def test_empty_model(store: Store) -> None:
    ids, matrix = store.vectors.load("nothing")
    assert ids.shape == (0,) and matrix.size == 0
    stats = store.vectors.stats("nothing")
    assert (stats.count, stats.max_id, stats.dim, stats.id_checksum) == (0, 0, None, 0)


def test_rolled_back_put_stores_nothing(store: Store) -> None:
    ids = add_items(store, 2)
    h = hashes(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.vectors.put("m", [(i, h[i], unit(i)) for i in ids])
        raise RuntimeError("crash mid-batch")
    assert store.vectors.stats("m").count == 0
    assert store.vectors.models() == {}


def test_content_checksum_follows_text_and_reembedding_but_not_ids(store: Store) -> None:
    ids = add_items(store, 3)
    store.vectors.put("m", [(i, h, unit(i)) for i, h in hashes(store).items()])
    before = store.vectors.stats("m")
    assert store.vectors.stats("m") == before  # stable while nothing changes
    add_items(store, 3, summary="a rewritten abstract")  # same urls: same ids, new text
    text_changed = store.vectors.stats("m")
    assert text_changed.id_checksum == before.id_checksum and text_changed.count == 3
    assert text_changed.content_checksum != before.content_checksum
    h = hashes(store)
    store.vectors.put("m", [(ids[0], h[ids[0]], unit(99))])  # re-embedded under the same id
    reembedded = store.vectors.stats("m")
    assert reembedded.id_checksum == before.id_checksum
    assert reembedded.content_checksum not in (
        before.content_checksum,
        text_changed.content_checksum,
    )
