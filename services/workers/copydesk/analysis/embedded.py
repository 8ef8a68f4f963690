"""Share what the embedded analysers have in common: English only, sentences in, vectors out.

Summary, topics and sentiment all embed a document's sentence texts with MiniLM and then work
on the vectors; the embedder and the English check live here once, so a later shared
per-article embedding cache has one place to plug in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from copydesk.analysis.base import Analyser, split_rows
from copydesk.analysis.embedder import Embedder, get_embedder
from copydesk.core.document import Document
from copydesk.core.errors import UnsupportedLanguage


class HasTexts(Protocol):
    @property
    def texts(self) -> Sequence[str]: ...


def require_english(doc: Document, *, analyser: str) -> None:
    """Refuse text MiniLM was not trained on, rather than return confident nonsense."""
    if doc.language and doc.language.split("-")[0].lower() != "en":
        raise UnsupportedLanguage(
            f"the embedded {analyser} reads English only; this article is {doc.language!r}",
            language=doc.language,
        )


class EmbeddingAnalyser(Analyser):
    """An analyser whose model input is the sentence texts that ``preprocess`` returns."""

    def __init__(self, *, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    def _forward(self, inputs: HasTexts) -> tuple[Any, np.ndarray]:
        return self._forward_batch([inputs])[0]

    def _forward_batch(self, batch: Sequence[HasTexts]) -> list[tuple[Any, np.ndarray]]:
        """Embed every document's sentences in one encode call."""
        vectors = self.embedder.encode([t for inputs in batch for t in inputs.texts])
        blocks = split_rows(vectors, [len(inputs.texts) for inputs in batch])
        return list(zip(batch, blocks, strict=True))
