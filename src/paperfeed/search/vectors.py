"""The vector index: exact (numpy) or HNSW (FAISS) nearest neighbours by inner product.

Pure: numpy arrays in, ids and scores out. The files it is saved to and loaded from belong to
`paperfeed.search.files`; the FAISS import happens only for an HNSW index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

HNSW_EF_SEARCH = 64  # recall@10 >= 0.95 on real MiniLM vectors: see benchmarks/bench_search.py


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the k highest finite scores, best first."""
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class VectorIndex:
    """Item ids and their vectors: exact inner product, or HNSW above the threshold."""

    def __init__(
        self,
        model: str,
        ids: np.ndarray,
        matrix: np.ndarray,
        hnsw: Any = None,
        ef_search: int = HNSW_EF_SEARCH,
    ) -> None:
        self.model = model
        self.ids = ids
        self.matrix = matrix
        self.hnsw = hnsw
        self.ef_search = ef_search

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def kind(self) -> str:
        return "exact" if self.hnsw is None else "hnsw"

    def rows(self, item_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Row numbers of the given ids that are in the index."""
        wanted = np.asarray(item_ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, wanted)
        pos = np.clip(pos, 0, max(len(self.ids) - 1, 0))
        found = (self.ids[pos] == wanted) if len(self.ids) else np.zeros(len(wanted), bool)
        return np.asarray(pos[found], dtype=np.int64)

    def vector(self, item_id: int) -> np.ndarray | None:
        rows = self.rows([item_id])
        return np.asarray(self.matrix[rows[0]]) if len(rows) else None

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Inner product with every vector (exact)."""
        return np.asarray(self.matrix @ np.asarray(query, dtype=np.float32).ravel())

    def search(
        self, query: np.ndarray, k: int, allow_ids: Sequence[int] | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest ids (and inner products), best first, limited to allow_ids if given."""
        if len(self.ids) == 0 or k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        if self.hnsw is not None:
            return self._search_hnsw(query, k, allow_ids)
        scores = self.scores(query)
        if allow_ids is not None:
            mask = np.full(len(scores), -np.inf, dtype=np.float32)
            rows = self.rows(allow_ids)
            mask[rows] = 0.0
            scores = scores + mask
        rows = top_k(scores, k)
        return self.ids[rows], scores[rows]

    def _search_hnsw(
        self, query: np.ndarray, k: int, allow_ids: Sequence[int] | np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        q = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if allow_ids is not None:
            rows = self.rows(allow_ids)
            if len(rows) <= 50_000:  # small allowlist: exact over the subset is fast and exact
                sub = np.asarray(self.matrix[np.sort(rows)]) @ q.ravel()
                best = top_k(sub, k)
                return self.ids[np.sort(rows)[best]], sub[best]
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                efSearch=max(self.ef_search, k), sel=faiss.IDSelectorBatch(rows)
            )
        else:
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                efSearch=max(self.ef_search, k)
            )
        dist, rows_found = self.hnsw.search(q, k, params=params)
        keep = rows_found[0] >= 0
        return self.ids[rows_found[0][keep]], dist[0][keep]
