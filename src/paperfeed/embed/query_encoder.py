"""The light query path: all-MiniLM-L6-v2 as a numpy forward pass, without torch.

`import sentence_transformers` alone costs ~4 s here, more than a whole search should. A query is
one short text, so a plain numpy BERT (tokenizers + the weights read from model.safetensors)
is fast and agrees with the full fp32 model to cosine ≥ 0.999.

I/O rule: reads the model folder once, in `NumpyBert.load`; encoding is pure numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

# Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): exact-erf GELU as BERT uses, without scipy.
_AS_P = 0.3275911
_AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x: np.ndarray) -> np.ndarray:
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + _AS_P * a)
    poly = t * (_AS_A[0] + t * (_AS_A[1] + t * (_AS_A[2] + t * (_AS_A[3] + t * _AS_A[4]))))
    return cast(np.ndarray, sign * (1.0 - poly * np.exp(-a * a)))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return cast(np.ndarray, (x - mean) / np.sqrt(var + eps) * weight + bias)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return cast(np.ndarray, e / e.sum(axis=-1, keepdims=True))


@dataclass(frozen=True, slots=True)
class BertShape:
    layers: int
    heads: int
    eps: float
    max_tokens: int


class NumpyBert:
    """A BERT encoder with mean pooling and L2 normalisation (the sentence-transformers recipe)."""

    def __init__(self, weights: dict[str, np.ndarray], shape: BertShape, tokenizer: object) -> None:
        self.w = weights
        self.shape = shape
        self.tokenizer = tokenizer
        self.dim = int(weights["embeddings.word_embeddings.weight"].shape[1])

    @classmethod
    def load(cls, folder: Path) -> NumpyBert:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        max_tokens = _max_seq_length(folder, int(config["max_position_embeddings"]))
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.no_padding()
        raw = load_file(str(folder / "model.safetensors"))
        weights = {_strip_prefix(name): value.astype(np.float32) for name, value in raw.items()}
        shape = BertShape(
            layers=int(config["num_hidden_layers"]),
            heads=int(config["num_attention_heads"]),
            eps=float(config["layer_norm_eps"]),
            max_tokens=max_tokens,
        )
        return cls(weights, shape, tokenizer)

    def __call__(self, text: str) -> np.ndarray:
        """One L2-normalised float32 vector (dim,) for `text`."""
        encoding = self.tokenizer.encode(text)  # type: ignore[attr-defined]
        ids = np.asarray(encoding.ids, dtype=np.int64)
        types = np.asarray(encoding.type_ids, dtype=np.int64)
        hidden = self._embed(ids, types)
        for layer in range(self.shape.layers):
            hidden = self._layer(hidden, f"encoder.layer.{layer}.")
        pooled = hidden.mean(axis=0)  # one text, no padding: every token counts
        return cast(
            np.ndarray, (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)
        )

    def _embed(self, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        return _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.shape.eps
        )

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return cast(np.ndarray, x @ self.w[name + ".weight"].T + self.w[name + ".bias"])

    def _layer(self, x: np.ndarray, p: str) -> np.ndarray:
        eps = self.shape.eps
        attended = self._dense(self._attention(x, p), p + "attention.output.dense")
        x = _layer_norm(
            x + attended,
            self.w[p + "attention.output.LayerNorm.weight"],
            self.w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        inner = _gelu(self._dense(x, p + "intermediate.dense"))
        out = self._dense(inner, p + "output.dense")
        return _layer_norm(
            x + out, self.w[p + "output.LayerNorm.weight"], self.w[p + "output.LayerNorm.bias"], eps
        )

    def _attention(self, x: np.ndarray, p: str) -> np.ndarray:
        n, width = x.shape
        heads = self.shape.heads
        head_dim = width // heads

        def split(name: str) -> np.ndarray:  # (heads, n, head_dim)
            return self._dense(x, p + name).reshape(n, heads, head_dim).transpose(1, 0, 2)

        q, k, v = (
            split("attention.self.query"),
            split("attention.self.key"),
            split("attention.self.value"),
        )
        scores = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(head_dim))
        context = _softmax(scores) @ v
        return cast(np.ndarray, context.transpose(1, 0, 2).reshape(n, width))


def _strip_prefix(name: str) -> str:
    return name.removeprefix("bert.").removeprefix("0.auto_model.")


def _max_seq_length(folder: Path, fallback: int) -> int:
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", fallback))
    return fallback
