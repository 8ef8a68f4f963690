"""Share what the embedded analysers have in common: sentences in, vectors out.

Summary, topics and sentiment all work on the encoder's vectors of a document's sentences,
and read the languages it reads (``ENCODER_LANGUAGES``). In the service the prepare stage computes them once per article (``DocVectors``), so these
analysers run without loading a model; called alone (tests, notebooks) they embed for
themselves through the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from copydesk.analyse.base import Analyser, split_rows
from copydesk.analyse.embedder import SentenceEncoder, get_embedder
from copydesk.prepare.vectors import DocVectors
from copydesk.core.document import Document
from copydesk.core.errors import UnsupportedLanguage
from copydesk.core.models_view import ENCODER_LANGUAGES


class HasTexts(Protocol):
    @property
    def texts(self) -> Sequence[str]: ...


def require_language(doc: Document, *, analyser: str, family: str = "minilm") -> None:
    """Refuse text the encoder was not trained on, rather than return confident nonsense."""
    codes = ENCODER_LANGUAGES[family]
    if doc.language and doc.language.split("-")[0].lower() not in codes:
        reads = "English only" if codes == ("en",) else f"{', '.join(codes)} ({family})"
        raise UnsupportedLanguage(
            f"the embedded {analyser} reads {reads}; this article is {doc.language!r}",
            language=doc.language,
        )


def require_english(doc: Document, *, analyser: str) -> None:
    """Refuse what the English parse cannot read (entities, keyphrases), whatever the encoder."""
    require_language(doc, analyser=analyser, family="minilm")


class EmbeddingAnalyser(Analyser):
    """An analyser whose model input is the sentence texts that ``preprocess`` returns."""

    def __init__(self, *, embedder: SentenceEncoder | None = None) -> None:
        self._embedder = embedder

    @property
    def embedder(self) -> SentenceEncoder:
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    @classmethod
    def second_encoder(cls, family: str, families: Sequence[str]) -> str | None:
        """A second encoder, among the configured ``families``, that this analyser reads
        beside ``family`` (passed as ``second``); none by default (topics: the headline)."""
        return None

    def require_language(self, doc: Document, *, analyser: str) -> None:
        """Refuse a language this analyser's encoder does not read."""
        family = getattr(self.embedder, "family", "minilm")
        require_language(doc, analyser=analyser, family=family)

    def __call__(
        self,
        doc: Document,
        options: Any = None,
        *,
        vectors: DocVectors | None = None,
    ) -> dict[str, Any]:
        """Analyse one document, from ``vectors`` when they hold every text it needs."""
        opts = options or {}
        inputs = self.preprocess(doc, opts)
        vectors = self.own(vectors)
        found = vectors.lookup(inputs.texts) if vectors is not None else None
        if found is None:
            return self.postprocess(doc, self._forward(inputs), opts)
        assert vectors is not None
        return self.postprocess(doc, self._from_vectors(inputs, found, vectors), opts)

    def own(self, vectors: DocVectors | None) -> DocVectors | None:
        """The prepared vectors if this analyser's encoder made them, else None.

        While a deployment changes COPYDESK_SENTENCE_ENCODER, a job prepared by the old encoder
        may reach an analyser of the new one: it embeds for itself rather than mix the two
        encoders' vectors (or score one's with the other's head).
        """
        if vectors is None or vectors.model != self.embedder.name:
            return None
        return vectors

    def ready(self, inputs: Any) -> None:
        """Compute what ``inputs`` need besides the document's vectors, in the prepare stage,
        so that a bad option fails this analysis alone (topics: the label set)."""

    def _from_vectors(self, inputs: Any, found: np.ndarray, vectors: DocVectors) -> Any:
        """Shape precomputed rows like ``_forward``'s output; analysers with more override."""
        return inputs, found

    def _forward(self, inputs: HasTexts) -> tuple[Any, np.ndarray]:
        return self._forward_batch([inputs])[0]

    def _forward_batch(self, batch: Sequence[HasTexts]) -> list[tuple[Any, np.ndarray]]:
        """Embed every document's sentences in one encode call."""
        vectors = self.embedder.encode([t for inputs in batch for t in inputs.texts])
        blocks = split_rows(vectors, [len(inputs.texts) for inputs in batch])
        return list(zip(batch, blocks, strict=True))
