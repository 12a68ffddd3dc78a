"""Deterministic test doubles shared by the test suite (no model, no network).

`HashingEmbedder` follows the `paperfeed.embed.embedder.Embedder` protocol: each lower-cased word is
hashed (blake2b, so stable across processes) into one of `dim` buckets with a sign, the counts
are L2-normalised. Texts that share words get similar vectors, so ranking and search tests see
meaningful neighbours. It counts calls and texts so tests can assert that nothing was embedded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paperfeed.records import FetchResponse

FAKE_MODEL = "fake-hashing-64"


@dataclass
class FakeHttp:
    """An `HttpClient` stand-in that answers every fetch with one response and records calls."""

    response: FetchResponse
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def fetch(self, url: str, **kwargs: Any) -> FetchResponse:
        self.calls.append((url, kwargs))
        return self.response


_WORD = re.compile(r"[a-z0-9]+")


def _bucket(word: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, (1.0 if (value >> 63) & 1 else -1.0)


def hash_vector(text: str, dim: int = 64) -> np.ndarray:
    """One L2-normalised float32 vector for `text` (a fixed unit vector when it has no words)."""
    vector = np.zeros(dim, dtype=np.float32)
    for word in _WORD.findall(text.lower()):
        index, sign = _bucket(word, dim)
        vector[index] += sign
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return vector / norm


class HashingEmbedder:
    """A fake `Embedder`: deterministic, fast, similar texts → similar vectors; counts its use."""

    def __init__(self, model_name: str = FAKE_MODEL, dim: int = 64) -> None:
        self.model_name = model_name
        self.dim = dim
        self.calls = 0
        self.texts_seen = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts_seen += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([hash_vector(text, self.dim) for text in texts])

    def query(self, text: str) -> np.ndarray:
        """The query-encoder shape (`Callable[[str], np.ndarray]`): one (dim,) vector."""
        return self.encode([text])[0]


class EmbedderFactory:
    """Stands in for `paperfeed.embed.embedder.load_embedder`; records each model asked for."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.loaded: list[str] = []
        self.embedders: list[HashingEmbedder] = []

    def __call__(self, model_name: str = FAKE_MODEL) -> HashingEmbedder:
        self.loaded.append(model_name)
        embedder = HashingEmbedder(model_name, self.dim)
        self.embedders.append(embedder)
        return embedder


@dataclass
class Recorder:
    """A `paperfeed.progress.Progress` that remembers every call, for tests of what is reported."""

    phases: list[tuple[str, int | None]] = field(default_factory=list)
    done: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)

    def start(self, phase: str, total: int | None = None, unit: str = "items") -> None:
        self.phases.append((phase, total))

    def advance(self, done: int, total: int | None = None, note: str = "") -> None:
        self.done.append(done)
        if note:
            self.notes.append(note)

    def finish(self, summary: str) -> None:
        self.summaries.append(summary)
