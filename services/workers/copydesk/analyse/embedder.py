"""Embed sentences with the deployment's encoder, once per process: MiniLM or mpnet here, or
USE-m3.

``COPYDESK_SENTENCE_ENCODER`` names the model: ``minilm`` (all-MiniLM-L6-v2, English, this
module), ``mpnet`` (all-mpnet-base-v2, English, 768 dimensions, this module too, in windows of
384 tokens) or ``use-m3`` (16 languages, ``use_m3``). All give unit vectors through the same
interface (``encode``, ``total_tokens``, ``lead``, ``name``, ``dim``), and every vector,
head and fitted number downstream is tied to the encoder's ``name``.

The embedded analysers all build on these vectors, so loading happens here and only here.
Texts longer than the model's window are split into token windows and averaged rather than
truncated: nothing a client sent is silently dropped. Windows are sorted by length and cut
into buckets of similar length, so a batch pads little.

Backends (``COPYDESK_ENCODER``), chosen by bench/encoder.py and bench/quality_*:
- ``onnx-int8``: ONNX Runtime with dynamic int8 weights, the feed-forward output layers kept
  in fp32 (quantising them cost the most accuracy); no torch in the process;
- ``onnx-int8-blocks``: the same with MiniLM's last five feed-forward outputs in 8-bit blocks
  (``onnx_build``): about 10% less encoder time; not the default (docs/quality.md, Speed);
- ``onnx-fp32``: ONNX Runtime, numerically the torch model;
- ``torch-fp32``: the transformers model itself, the reference the others are held to.
The ONNX files are exported from the packaged weights by ``onnx_build`` (no download) and
found through ``model_files``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from copydesk.analyse.base import MODEL_LOAD_LOCK
from copydesk.analyse.model_files import (
    default_model_path,
    ensure_model,
    ensure_mpnet,
    model_file,
)
from copydesk.core.settings import Settings, get_settings

DEFAULT_NAME = "all-MiniLM-L6-v2"
MPNET_NAME = "all-mpnet-base-v2"
MPNET_MAX_TOKENS = 384  # its sentence-transformers max_seq_length
ENCODERS = ("onnx-int8", "onnx-int8-blocks", "onnx-fp32", "torch-fp32")
FAMILIES = ("minilm", "use-m3", "mpnet")
MAX_BATCH = 64
# Attention memory grows with batch x width^2, so a forward pass holds at most this many:
# one window of 256 tokens, 16 of 64, and news sentences of up to 32 tokens still go 64 at a
# time. On one thread, batching long windows saves nothing: 200 label examples of 256-token
# windows embedded in 17.6 s one at a time against 23.1 s eight at a time, and the process
# peaked 99 MB above its loaded RSS against 171 MB (news articles: the same ms either way).
BATCH_ATTENTION = 256 * 256
BUCKET_SLACK = 0.25  # a batch holds windows at most 25% (+4 tokens) longer than its shortest


def embedder_name(path: str | None, encoder: str = "torch-fp32") -> str:
    """Name the encoder as results report it: the model, and its backend unless the reference."""
    name = DEFAULT_NAME if path is None else str(path)
    return name if encoder == "torch-fp32" else f"{name}, {encoder}"


def vectors_tag(encoder: Any) -> str:
    """Name an encoder's vectors for a cache of them: its name and the file it runs, whose name
    holds the weights' digest and the export recipe (a new recipe keeps the encoder's name)."""
    weights = getattr(encoder, "weights", None)
    return f"{encoder.name}, {Path(weights).stem}" if weights is not None else encoder.name


class SentenceEncoder(Protocol):
    """What the analysers and the prepare stage need of an encoder, whichever it is."""

    family: str
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...
    def total_tokens(self, texts: Sequence[str]) -> int: ...
    def lead(self, text: str, max_tokens: int) -> str: ...


def encoder_name(settings: Settings, family: str | None = None) -> str:
    """Name a configured encoder (the first by default) as its vectors and results report
    it, without loading it."""
    family = family or settings.encoder_families[0]
    if family == "use-m3":
        from copydesk.analyse.use_m3 import UseM3Embedder

        return UseM3Embedder.name
    if family == "mpnet":
        return embedder_name(MPNET_NAME, settings.encoder)
    return embedder_name(settings.embedding_model, settings.encoder)


class Embedder:
    """Mean-pooled, L2-normalised sentence embeddings (sentence-transformers compatible).

    MiniLM by default; ``family="mpnet"`` reads all-mpnet-base-v2 (unpacked from its parts
    into the model cache) in windows of 384 tokens.
    """

    def __init__(
        self,
        *,
        path: str | None = None,
        encoder: str = "onnx-int8",
        max_tokens: int | None = None,
        family: str = "minilm",
    ) -> None:
        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r}; choose from {', '.join(ENCODERS)}")
        self.family = family
        if family == "mpnet":
            self.path = str(ensure_mpnet())
            self.name = embedder_name(MPNET_NAME, encoder)
        else:
            self.path = path or default_model_path()
            self.name = embedder_name(path, encoder)
        self.encoder = encoder
        self.max_tokens = max_tokens or (MPNET_MAX_TOKENS if family == "mpnet" else 256)
        self.tokenizer = _tokenizer(self.path)
        self._cls, self._sep = _special_ids(self.tokenizer)
        self._pad = self.tokenizer.token_to_id("<pad>") or 0  # MiniLM's [PAD] is 0
        self._forward = (
            _onnx_forward(self.path, encoder)
            if encoder.startswith("onnx")
            else _torch_forward(self.path)
        )
        self.dim = int(self._forward(np.array([[self._cls, self._sep]]), np.ones((1, 2))).shape[1])
        self._lock = threading.Lock()
        self._counted: tuple[tuple[str, ...], list[list[int]]] | None = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit vector per text, shape ``(len(texts), dim)``, float32."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        windows, owners = self._windows(texts)
        vectors = self._encode_windows(windows)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(out, owners, vectors)
        return _normalise(out)

    @property
    def weights(self) -> Path | None:
        """The file this encoder runs (its revision is that file's hash)."""
        if self.encoder.startswith("onnx"):
            return model_file(self.path, self.encoder.removeprefix("onnx-"))
        return next(iter(sorted(Path(self.path).glob("*.safetensors"))), None)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def lead(self, text: str, max_tokens: int) -> str:
        """The start of ``text`` that holds at most ``max_tokens`` tokens."""
        offsets = self.tokenizer.encode(text, add_special_tokens=False).offsets
        return text[: offsets[max_tokens][0]] if len(offsets) > max_tokens else text

    def total_tokens(self, texts: Sequence[str]) -> int:
        """Count the tokens of all ``texts`` together (Rust tokenizer: ~ms per article).

        The ids are kept for an ``encode`` of the same texts, which follows when the prepare
        stage has counted an article's tokens against its limit.
        """
        ids = self._token_ids(texts)
        self._counted = (tuple(texts), ids)
        return sum(map(len, ids))

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        counted = self._counted  # one read: another thread may replace it
        if counted is not None and counted[0] == tuple(texts):
            return counted[1]
        encoded = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [encoding.ids for encoding in encoded]

    def _windows(self, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:
        """Split every text into model-sized token windows; the mapping says whose each is."""
        body = self.max_tokens - 2
        windows, owners = [], []
        for owner, ids in enumerate(self._token_ids(texts)):
            for begin in range(0, max(len(ids), 1), body):
                windows.append([self._cls, *ids[begin : begin + body], self._sep])
                owners.append(owner)
        return windows, np.asarray(owners)

    def _encode_windows(self, windows: list[list[int]]) -> np.ndarray:
        lengths = [len(w) for w in windows]
        result = np.zeros((len(windows), self.dim), dtype=np.float32)
        with self._lock:
            for chunk in buckets(lengths):
                width = lengths[chunk[-1]]
                ids = np.full((len(chunk), width), self._pad, dtype=np.int64)
                mask = np.zeros((len(chunk), width), dtype=np.int64)
                for row, index in enumerate(chunk):
                    ids[row, : lengths[index]] = windows[index]
                    mask[row, : lengths[index]] = 1
                result[chunk] = self._forward(ids, mask)
        return _normalise(result)


def buckets(lengths: Sequence[int]) -> list[list[int]]:
    """Group indices by length (sorted), so each batch pads at most ~BUCKET_SLACK.

    A batch also stops at MAX_BATCH windows or BATCH_ATTENTION (windows x width^2), so the
    memory of one forward pass stays bounded whatever the input.
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    out: list[list[int]] = []
    current: list[int] = []
    for index in order:
        width = lengths[index]
        full = len(current) >= MAX_BATCH or (len(current) + 1) * width * width > BATCH_ATTENTION
        if current and (full or lengths[index] > lengths[current[0]] * (1 + BUCKET_SLACK) + 4):
            out.append(current)
            current = []
        current.append(index)
    if current:
        out.append(current)
    return out


def _tokenizer(path: str) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _special_ids(tokenizer: Any) -> tuple[int, int]:
    """The ids the tokenizer's own template puts around a text ([CLS]/[SEP] for MiniLM,
    <s>/</s> for mpnet, whose vocabulary holds [CLS] and [SEP] too, unused)."""
    ids = tokenizer.encode("", add_special_tokens=True).ids
    if len(ids) != 2:
        raise ValueError(f"the tokenizer wraps a text in {len(ids)} special tokens, not 2")
    return ids[0], ids[1]


def _onnx_forward(path: str, encoder: str) -> Any:
    """Return ids, mask -> pooled unit vectors on an ONNX Runtime session, one thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # ORT's arena keeps the largest batch it ever saw; with varying shapes that is RSS that
    # only grows. Plain malloc/free measured as fast here (bench/encoder.py).
    options.enable_cpu_mem_arena = False
    model = ensure_model(path, variant=encoder.removeprefix("onnx-"))
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)}
        return session.run(["sentence_embedding"], feeds)[0]

    return forward


def _torch_forward(path: str) -> Any:
    """Return ids, mask -> pooled vectors on the transformers model (the reference)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(path).eval()

    def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            ids_t, mask_t = (
                torch.from_numpy(ids.astype(np.int64)),
                torch.from_numpy(mask.astype(np.int64)),
            )
            hidden = model(input_ids=ids_t, attention_mask=mask_t).last_hidden_state
            weights = mask_t.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return pooled.float().numpy()

    return forward


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


_EMBEDDERS: dict[tuple[str, str | None, str], SentenceEncoder] = {}


def get_embedder(
    path: str | None = None, *, encoder: str | None = None, family: str | None = None
) -> SentenceEncoder:
    """Return this process's encoder, loading it once on first use.

    ``family`` defaults to the configured model (``COPYDESK_SENTENCE_ENCODER``), ``encoder``
    to the configured backend (``COPYDESK_ENCODER``, MiniLM's and mpnet's); ``path`` (MiniLM
    only) to the package's weights. The result is an ``Embedder`` (MiniLM, mpnet) or a
    ``UseM3Embedder`` (both ``SentenceEncoder``).
    """
    settings = get_settings() if family is None or encoder is None else None
    family = family or settings.encoder_families[0]  # type: ignore[union-attr]
    encoder = encoder or settings.encoder  # type: ignore[union-attr]
    if family not in FAMILIES:
        raise ValueError(f"unknown sentence encoder {family!r}; choose from {', '.join(FAMILIES)}")
    if family == "use-m3":  # one form only: the graph as it ships
        path, encoder = None, "onnx-int8"
    if family == "mpnet":  # its own weights, from its parts
        path = None
    with MODEL_LOAD_LOCK:
        key = (family, path, encoder)
        if key not in _EMBEDDERS:
            if family == "use-m3":
                from copydesk.analyse.use_m3 import UseM3Embedder

                _EMBEDDERS[key] = UseM3Embedder()
            elif family == "mpnet":
                _EMBEDDERS[key] = Embedder(encoder=encoder, family="mpnet")
            else:
                _EMBEDDERS[key] = Embedder(path=path, encoder=encoder)
        return _EMBEDDERS[key]
