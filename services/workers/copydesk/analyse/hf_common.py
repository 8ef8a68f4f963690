"""Load any Hugging Face model by configuration and cut documents into model-sized chunks.

The configurable analysers share three needs: load a model lazily once per instance (so a
worker pays for it on first use, never per task, and never at import), know how many tokens
the model really accepts, and split a long article at sentence boundaries so nothing is
silently truncated. ``coverage`` reports honestly when something was left out anyway.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from copydesk.analyse.base import MODEL_LOAD_LOCK, Analyser
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisError, AnalysisUnavailable, UnsupportedLanguage

# Tokenizers without a configured limit report a huge sentinel; anything above this is "unset".
_UNSET_LIMIT = 1_000_000
_FALLBACK_LIMIT = 512
# RoBERTa-style position tables reserve ``pad_token_id + 1`` slots before the first position.
_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "longformer"}


@dataclass(frozen=True, slots=True)
class Loaded:
    """A tokenizer and model pair, ready for inference."""

    tokenizer: Any
    model: Any
    max_tokens: int


class HFAnalyser(Analyser):
    """Common base: lazy, once-per-instance loading and the language/emptiness checks."""

    auto_class: ClassVar[str]

    def __init__(
        self,
        *,
        model: str,
        device: str = "cpu",
        languages: frozenset[str] | None = None,
        batch_size: int = 16,
    ) -> None:
        self.model_id = str(model)
        self.device = device
        self.languages = languages
        self.batch_size = batch_size
        self._loaded: Loaded | None = None
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return self.model_id

    def warm_up(self) -> None:
        self.load()

    def load(self) -> Loaded:
        """Return the loaded model, loading it on first use (thread-safe, once)."""
        if self._loaded is None:
            with self._lock, MODEL_LOAD_LOCK:
                if self._loaded is None:
                    loaded = load_pretrained(self.model_id, self.auto_class, device=self.device)
                    self._check_model(loaded)
                    self._loaded = loaded
        return self._loaded

    def _check_model(self, loaded: Loaded) -> None:
        """Refuse a model this analyser cannot interpret; subclasses raise AnalysisUnavailable."""

    def check(self, doc: Document) -> None:
        """Refuse empty documents and, when configured, languages the model does not know."""
        if not doc.text.strip():
            raise AnalysisError("document has no text to analyse")
        if self.languages is not None and doc.language and doc.language not in self.languages:
            raise UnsupportedLanguage(
                f"model {self.model_id} is configured for {sorted(self.languages)}, "
                f"not {doc.language!r}",
                language=doc.language,
            )


def load_pretrained(model_id: str, auto_class: str, *, device: str) -> Loaded:
    """Load tokenizer and model from a hub id or local path, in eval mode on ``device``."""
    import torch
    import transformers

    kwargs = {"local_files_only": True} if Path(model_id).exists() else {}
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_id, **kwargs)
        model = getattr(transformers, auto_class).from_pretrained(model_id, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        raise AnalysisUnavailable(f"cannot load model {model_id!r}: {exc}") from exc
    if device == "cpu" and next(model.parameters()).dtype in (torch.float16, torch.bfloat16):
        model = model.float()  # half precision on CPU is slow or unsupported
    model.to(device)
    model.eval()
    return Loaded(tokenizer, model, max_input_tokens(tokenizer, model.config))


def max_input_tokens(tokenizer: Any, config: Any) -> int:
    """Return the longest input (specials included) both tokenizer and model accept."""
    limits = []
    declared = getattr(tokenizer, "model_max_length", None)
    if isinstance(declared, int) and 0 < declared < _UNSET_LIMIT:
        limits.append(declared)
    encoder = getattr(config, "encoder", None)
    for cfg in (config, encoder if hasattr(encoder, "model_type") else None):
        if cfg is None:
            continue
        for attr in ("max_position_embeddings", "n_positions"):
            value = getattr(cfg, attr, None)
            if isinstance(value, int) and value > 0:
                if getattr(cfg, "model_type", "") in _OFFSET_POSITIONS:
                    pad = getattr(cfg, "pad_token_id", None)
                    value -= (1 if pad is None else pad) + 1
                limits.append(value)
    return min(limits) if limits else _FALLBACK_LIMIT


def special_tokens(tokenizer: Any, *, pair: bool = False) -> int:
    """Count the special tokens the tokenizer adds to one input (or a pair)."""
    try:
        return int(tokenizer.num_special_tokens_to_add(pair=pair))
    except (AttributeError, NotImplementedError):
        args = ("", "") if pair else ("",)
        return len(tokenizer(*args)["input_ids"])


def token_counts(tokenizer: Any, texts: Sequence[str]) -> list[int]:
    """Count each text's tokens, specials excluded."""
    if not texts:
        return []
    ids = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
    return [len(x) for x in ids]


def sentence_spans(doc: Document) -> list[Span]:
    """Return the document's non-blank sentences, or the whole stripped text as one."""
    spans = [s for s in doc.sentences if doc.text[s.start : s.end].strip()]
    if spans:
        return spans
    stripped = doc.text.strip()
    start = doc.text.index(stripped)
    return [Span(start, start + len(stripped))]


def chunk_spans(*, tokenizer: Any, text: str, spans: Sequence[Span], budget: int) -> list[Span]:
    """Pack consecutive sentences into chunks of at most ``budget`` tokens.

    A sentence longer than the budget is cut into token windows first, so every character
    of every sentence lands in some chunk.
    """
    units: list[tuple[Span, int]] = []
    counts = token_counts(tokenizer, [text[s.start : s.end] for s in spans])
    for span, count in zip(spans, counts, strict=True):
        if count <= budget:
            units.append((span, count))
        else:
            units.extend(_split_long(tokenizer=tokenizer, text=text, span=span, budget=budget))
    chunks: list[Span] = []
    start, end, used = None, 0, 0
    for span, count in units:
        if start is not None and used + count > budget:
            chunks.append(Span(start, end))
            start, used = None, 0
        if start is None:
            start = span.start
        end, used = span.end, used + count
    if start is not None:
        chunks.append(Span(start, end))
    return chunks


def _split_long(*, tokenizer: Any, text: str, span: Span, budget: int) -> list[tuple[Span, int]]:
    """Cut one over-long sentence into windows of ``budget`` tokens at token boundaries."""
    piece = text[span.start : span.end]
    try:
        offsets = tokenizer(piece, add_special_tokens=False, return_offsets_mapping=True)[
            "offset_mapping"
        ]
    except (NotImplementedError, KeyError, ValueError):
        offsets = None
    if offsets:
        out = []
        for i in range(0, len(offsets), budget):
            window = offsets[i : i + budget]
            out.append((Span(span.start + window[0][0], span.start + window[-1][1]), len(window)))
        return out
    # Tokenizers without offsets: cut by characters, assuming tokens spread evenly.
    (count,) = token_counts(tokenizer, [piece])
    parts = math.ceil(count * 1.25 / budget)
    step = math.ceil(len(piece) / parts)
    return [
        (Span(span.start + i, span.start + min(i + step, len(piece))), budget)
        for i in range(0, len(piece), step)
    ]
