"""Embed sentences with USE-m3 (Universal Sentence Encoder, multilingual v3), 16 languages.

The graph (``model_files.use_m3_files``) takes raw strings: SentencePiece runs inside it, as
an ``onnxruntime-extensions`` custom op, and it returns unit vectors of 512 dimensions. Its
vectors for a sentence and its translation lie close (an English news sentence and its
German and French versions: cosine 0.77 and 0.85; MiniLM gives ~0.1), so English labels
can classify articles in other languages. Its languages are listed where the intake can read
them too: ``copydesk.core.models_view.ENCODER_LANGUAGES``.

Each text runs alone. The graph quantises its activations per call over the whole batch, so
a batch would give a sentence a slightly different vector depending on its neighbours
(cosine down to 0.998); alone, a text always gets the same vector, and on one thread a batch
measured no faster (82 ms against 83 ms for 24 long sentences). The graph reads a text of
any length in time linear in it, so nothing is windowed: COPYDESK_MAX_SENTENCE_CHARS and
COPYDESK_MAX_TOKENS bound the work.

Tokens are counted as the graph's own SentencePiece model cuts the text (the op alone, in a
graph of its own), so ``COPYDESK_MAX_TOKENS`` bounds the same pieces the encoder reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from copydesk.analyse.model_files import ensure_use_m3

NAME = "universal-sentence-encoder-multilingual-3"
BACKEND = "onnx-int8"  # the graph as it ships: int8 weights, activations quantised per call
DIM = 512


class UseM3Embedder:
    """Unit sentence vectors from USE-m3's ONNX graph, with the Embedder interface."""

    family = "use-m3"
    encoder = BACKEND
    max_tokens = None  # no window: a text is read whole
    dim = DIM
    name = f"{NAME}, {BACKEND}"

    def __init__(self, *, threads: int = 1) -> None:
        graph, tokenizer = ensure_use_m3()
        self.path = str(graph)
        self.weights = graph
        self._session = _session(graph, threads=threads)
        self._tokenizer = _session(tokenizer, threads=1)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit vector per text, shape ``(len(texts), 512)``, float32."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self._session.run(None, {"inputs": np.array([text], dtype=object)})[0][0]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def count_tokens(self, text: str) -> int:
        return self.total_tokens([text])

    def total_tokens(self, texts: Sequence[str]) -> int:
        """Count the SentencePiece pieces of all ``texts`` together (one tokenizer call)."""
        if not texts:
            return 0
        pieces, _, _ = self._tokenize(texts)
        return len(pieces)

    def lead(self, text: str, max_tokens: int) -> str:
        """The start of ``text`` that holds at most ``max_tokens`` pieces."""
        if not text:
            return text
        _, _, offsets = self._tokenize([text])
        if len(offsets) <= max_tokens:
            return text
        cut = int(offsets[max_tokens])  # a byte offset into the UTF-8 text
        return text.encode("utf-8")[:cut].decode("utf-8", errors="ignore")

    def _tokenize(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        feeds = {"text": np.array(list(texts), dtype=object)}
        pieces, splits, offsets = self._tokenizer.run(None, feeds)
        return pieces, splits, offsets


def _session(path: Path, *, threads: int) -> Any:
    """An ONNX Runtime session with the extensions' custom ops (SentencePiece), on one thread."""
    import onnxruntime as ort
    from onnxruntime_extensions import get_library_path

    options = ort.SessionOptions()
    options.register_custom_ops_library(get_library_path())
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = False  # as for MiniLM: RSS that only grows otherwise
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
