"""Embed sentences with USE-m3 (Universal Sentence Encoder, multilingual v3), 16 languages.

The graph (``model_files.use_m3_files``) takes raw strings: SentencePiece runs inside it, as
an ``onnxruntime-extensions`` custom op (its library registered by path), and it returns unit vectors of 512 dimensions. Its
vectors for a sentence and its translation lie close (an English news sentence and its
German and French versions: cosine 0.77 and 0.85; MiniLM gives ~0.1), so English labels
can classify articles in other languages. Its languages are listed where the intake can read
them too: ``copydesk.core.models_view.ENCODER_LANGUAGES``.

Texts run in batches of similar length (an article's sentences: 1.4-2.7x faster than one
call per sentence on one thread). The graph quantises its activations per call over the whole
batch, so a text's vector moves slightly with its neighbours (cosine to the text alone 0.998
or more), as MiniLM's int8 graph does with its batches. The graph reads a text of any length
in time linear in it, so nothing is windowed: COPYDESK_MAX_SENTENCE_CHARS and
COPYDESK_MAX_TOKENS bound the work, and a batch holds at most MAX_BATCH_CHARS characters.

Tokens are counted as the graph's own SentencePiece model cuts the text (the op alone, in a
graph of its own), so ``COPYDESK_MAX_TOKENS`` bounds the same pieces the encoder reads.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from copydesk.analyse.model_files import ensure_use_m3

NAME = "universal-sentence-encoder-multilingual-3"
BACKEND = "onnx-int8"  # the graph as it ships: int8 weights, activations quantised per call
DIM = 512
MAX_BATCH = 64
MAX_BATCH_CHARS = 32_000  # bounds one call's memory whatever the texts
BUCKET_SLACK = 0.25  # a batch holds texts at most 25% (+16 characters) longer than its shortest


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
        for chunk in buckets([len(text) for text in texts]):
            batch = np.array([texts[i] for i in chunk], dtype=object)
            out[chunk] = self._session.run(None, {"inputs": batch})[0]
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


def buckets(lengths: Sequence[int]) -> list[list[int]]:
    """Group text indices by length (sorted), so each call pads little and stays bounded."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    out: list[list[int]] = []
    current: list[int] = []
    chars = 0
    for index in order:
        size = lengths[index]
        full = len(current) >= MAX_BATCH or chars + size > MAX_BATCH_CHARS
        if current and (full or size > lengths[current[0]] * (1 + BUCKET_SLACK) + 16):
            out.append(current)
            current, chars = [], 0
        current.append(index)
        chars += size
    if current:
        out.append(current)
    return out


def custom_ops_library() -> str:
    """The file of ``onnxruntime-extensions``' custom ops, found without importing the package.

    ``import onnxruntime_extensions`` imports torch and transformers (its converters), 240 MB
    that a prepare worker never needs; ``get_library_path()`` only names this file.
    """
    spec = importlib.util.find_spec("onnxruntime_extensions")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("USE-m3 needs onnxruntime-extensions installed")
    folder = Path(next(iter(spec.submodule_search_locations)))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        library = folder / f"_extensions_pydll{suffix}"
        if library.exists():
            return str(library)
    raise FileNotFoundError(f"no custom ops library in {folder}")


def _session(path: Path, *, threads: int) -> Any:
    """An ONNX Runtime session with the extensions' custom ops (SentencePiece), on one thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.register_custom_ops_library(custom_ops_library())
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = False  # as for MiniLM: RSS that only grows otherwise
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
