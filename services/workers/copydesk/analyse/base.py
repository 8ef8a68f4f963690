"""Define the shape every analyser has, after Hugging Face pipelines.

``preprocess`` turns a document into model inputs, ``_forward`` is the only place that touches
the model, ``postprocess`` returns the JSON-ready result; ``__call__`` and ``batch`` chain the
three. Analysers know nothing of Celery or Redis, so the CLI, benchmarks and tests call them
in-process.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisUnavailable

Result = dict[str, Any]

# transformers builds models under a process-global "meta device" context that is not
# thread-safe: every model load in a process takes this lock, so threads never load at once.
MODEL_LOAD_LOCK = threading.RLock()


class Analyser(ABC):
    """Base for summary, sentiment and topics analysers."""

    name: ClassVar[str]

    @property
    @abstractmethod
    def model_name(self) -> str:
        """Name (and version) of the model that produces results; reported in each result."""

    def warm_up(self) -> None:
        """Load what the first call would (weights, lexicons), so the first job is not slower."""

    def close(self) -> None:
        """Close what the analyser holds open (connections) as its process ends; a later call
        opens them again."""

    @abstractmethod
    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> Any: ...

    @abstractmethod
    def _forward(self, inputs: Any) -> Any: ...

    @abstractmethod
    def postprocess(self, doc: Document, outputs: Any, options: Mapping[str, Any]) -> Result: ...

    def __call__(
        self, doc: Document, options: Mapping[str, Any] | None = None, *, vectors: Any = None
    ) -> Result:
        """Analyse one document; ``vectors`` (precomputed embeddings) serve embedded analysers."""
        opts = options or {}
        return self.postprocess(doc, self._forward(self.preprocess(doc, opts)), opts)

    def _forward_batch(self, batch: Sequence[Any]) -> list[Any]:
        """Run the model over several documents' inputs; override to share forward passes."""
        return [self._forward(inputs) for inputs in batch]

    def batch(
        self, docs: Sequence[Document], options: Sequence[Mapping[str, Any] | None]
    ) -> list[Result]:
        """Analyse several documents: every input is checked before the model runs once.

        A bad document raises as it would alone, so a caller that needs the others isolates
        it by calling singly.
        """
        opts = [o or {} for o in options]
        inputs = [self.preprocess(doc, o) for doc, o in zip(docs, opts, strict=True)]
        outputs = self._forward_batch(inputs)
        return [
            self.postprocess(doc, out, o) for doc, out, o in zip(docs, outputs, opts, strict=True)
        ]


def split_rows(values: Any, sizes: Sequence[int]) -> list[Any]:
    """Cut one array computed for many documents back into each document's rows."""
    bounds = [0]
    for size in sizes:
        bounds.append(bounds[-1] + size)
    return [values[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def coverage(text: str, spans: Sequence[Span]) -> float:
    """Return the share of the text's non-blank characters that lie inside ``spans``.

    Each analyser reports it for the spans that really reached its model, so a client sees
    when part of an article was left out instead of trusting a constant.
    """
    total = _nonblank(text)
    if not total:
        return 1.0
    covered, reach = 0, 0
    for span in sorted(spans, key=lambda s: s.start):
        start = max(span.start, reach)
        if span.end > start:
            covered += _nonblank(text[start : span.end])
            reach = span.end
    return round(covered / total, 4)


def _nonblank(text: str) -> int:
    return len("".join(text.split()))


def require_parse(doc: Document, *, analysis: str) -> None:
    """Refuse a document the prepare stage did not parse (the analysis reads only its parse)."""
    if doc.parse is None:
        raise AnalysisUnavailable(
            f"{analysis} read the prepare stage's parse, and this document has none"
        )
