"""Share what the embedded analysers have in common: English only, sentences in, vectors out.

Summary and topics both embed a document's sentence texts with MiniLM and then work on the
vectors; the forward pass and the cross-document batch live here once, so a later shared
per-article embedding cache has one place to plug in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from copydesk.analysis.base import Analyser, Result
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
        return inputs, self.embedder.encode(list(inputs.texts))

    def batch(
        self, docs: Sequence[Document], options: Sequence[Mapping[str, Any] | None]
    ) -> list[Result]:
        """Embed every document's sentences in one encode call, then finish each document.

        Options and languages are checked before anything is embedded; a bad document raises
        as it would alone, so a caller that needs the others isolates it by calling singly.
        """
        opts = [o or {} for o in options]
        if len(opts) != len(docs):
            raise ValueError("docs and options differ in length")
        prepared = [self.preprocess(doc, o) for doc, o in zip(docs, opts, strict=True)]
        vectors = self.embedder.encode([t for p in prepared for t in p.texts])
        results, offset = [], 0
        for doc, o, p in zip(docs, opts, prepared, strict=True):
            block = vectors[offset : offset + len(p.texts)]
            offset += len(p.texts)
            results.append(self.postprocess(doc, (p, block), o))
        return results
