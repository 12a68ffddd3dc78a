"""The real all-MiniLM-L6-v2: the fast path and the torch-free query encoder agree with plain
sentence-transformers fp32 on real abstracts."""

from __future__ import annotations

import gzip
import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import shared_path

from paperfeed.embed.embedder import (
    DEFAULT_MODEL,
    load_embedder,
    load_query_encoder,
    model_location,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def abstracts() -> list[str]:
    path = shared_path("data/arxiv_bulk/arxiv_metadata_65k.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in itertools.islice(fh, 0, 6000, 250)]
    return [row["title"] + "\n" + row["abstract"] for row in rows] + ["graph neural networks"]


@pytest.fixture(scope="module")
def reference(abstracts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_location(DEFAULT_MODEL), device="cpu")
    return np.asarray(model.encode(abstracts, normalize_embeddings=True))


def test_query_encoder_agrees_with_full_fp32_model(
    abstracts: list[str], reference: np.ndarray
) -> None:
    encode = load_query_encoder()
    light = np.stack([encode(text) for text in abstracts])
    assert light.dtype == np.float32 and light.shape == reference.shape
    assert (light * reference).sum(axis=1).min() >= 0.999


def test_fast_embedder_agrees_with_fp32(abstracts: list[str], reference: np.ndarray) -> None:
    embedder = load_embedder()
    vectors = embedder.encode(abstracts)
    assert vectors.shape == (len(abstracts), embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * reference).sum(axis=1).min() >= 0.99


def test_query_encoder_imports_no_torch() -> None:
    code = (
        "import sys; from paperfeed.embed.embedder import load_query_encoder; "
        "v = load_query_encoder()('attention is all you need'); "
        "print(v.shape, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["(384,)", "False", "False"]
