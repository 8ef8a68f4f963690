"""Classify an article into topics zero-shot by comparing MiniLM embeddings.

The article is the lead-weighted mean of all its sentence vectors (every sentence counts;
``coverage`` is the share of the text they hold); each label is the mean of texts that
describe it. IPTC topics bring a definition and prototype sentences (``iptc.py``); a custom label is put into a few templates,
and one that names a common news section ("business", "tech") also borrows that section's
IPTC description. Cosine similarities become scores by a softmax whose temperature (one per
taxonomy: 17 IPTC topics spread wider than a few custom labels) was fitted on development
articles of two corpora (bench/topics_select.py), so scores are comparable
across articles; bench/quality_topics.py reports accuracy on publishers no choice looked at.
Label vectors are cached per label set: most requests reuse the same few sets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from copydesk.analysis import iptc
from copydesk.analysis.base import Result, coverage
from copydesk.analysis.embedded import EmbeddingAnalyser, require_english
from copydesk.analysis.embedder import Embedder
from copydesk.analysis.vectors import DocVectors
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisError

DEFAULT_TOP_K = 3
CUSTOM = "custom"
# softmax over cosines, per taxonomy: best dev log-likelihood (bench/topics_select.py)
TEMPERATURE = {CUSTOM: 0.045, iptc.TAXONOMY: 0.06}
LEAD_BOOST = 1.0  # the first sentence weighs 1 + LEAD_BOOST, fading with LEAD_DECAY
LEAD_DECAY = 3.0
TEMPLATE_SHARE = 0.3  # for a label that names a known section: templates vs IPTC description
TEMPLATES = (
    "This news article is about {}.",
    "{} news",
    "The article discusses {}.",
    "Latest {} headlines.",
    "A story about {}.",
)


@dataclass(frozen=True, slots=True)
class TopicInputs:
    """What one document contributes: its texts in reading order and the label set."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    taxonomy: str
    top_k: int
    spans: tuple[Span, ...] = ()  # the sentences among ``texts``, for coverage


class EmbeddingTopicClassifier(EmbeddingAnalyser):
    """Score IPTC Media Topics, or the client's own labels, against an article."""

    name = "topics"

    def __init__(self, *, embedder: Embedder | None = None, cache_size: int = 64) -> None:
        super().__init__(embedder=embedder)
        self._cache: OrderedDict[tuple[str, ...], np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return f"copydesk-zeroshot/1 ({self.embedder.name})"

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> TopicInputs:
        labels, taxonomy = _labels(options)
        top_k = _top_k(options, len(labels))
        require_english(doc, analyser="topic classifier")
        spans = [s for s in doc.sentences if doc.text[s.start : s.end].strip()]
        texts = [doc.text[s.start : s.end].strip() for s in spans]
        if not texts:
            raise AnalysisError("the article has no sentences to classify")
        title = (doc.title or "").strip()
        if title and title != texts[0]:
            texts.insert(0, title)
        return TopicInputs(tuple(texts), labels, taxonomy, top_k, tuple(spans))

    def _from_vectors(
        self, inputs: TopicInputs, found: np.ndarray, vectors: DocVectors
    ) -> tuple[TopicInputs, np.ndarray, np.ndarray | None]:
        return inputs, found, vectors.labels_for(inputs.labels)

    def postprocess(
        self,
        doc: Document,
        outputs: tuple[TopicInputs, np.ndarray] | tuple[TopicInputs, np.ndarray, np.ndarray | None],
        options: Mapping[str, Any],
    ) -> Result:
        inputs, vectors, *given = outputs
        labels = given[0] if given and given[0] is not None else self.label_matrix(inputs.labels)
        scores = label_scores(labels, vectors, taxonomy=inputs.taxonomy)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[: inputs.top_k]
        return {
            "labels": [
                {"label": inputs.labels[i], "score": round(float(scores[i]), 4)} for i in order
            ],
            "model": self.model_name,
            "taxonomy": inputs.taxonomy,
            "coverage": coverage(doc.text, inputs.spans),
        }

    def label_matrix(self, labels: tuple[str, ...]) -> np.ndarray:
        """Return one unit vector per label, embedding a label set only the first time."""
        with self._lock:
            cached = self._cache.get(labels)
            if cached is not None:
                self._cache.move_to_end(labels)
                return cached
        matrix = _embed_labels(self.embedder, labels)
        with self._lock:
            self._cache[labels] = matrix
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return matrix


def document_vector(vectors: np.ndarray) -> np.ndarray:
    """Average the sentence vectors, leaning on the lead as news writing does."""
    weights = 1.0 + LEAD_BOOST * np.exp(-np.arange(len(vectors)) / LEAD_DECAY)
    return _unit(weights @ vectors)


def label_scores(labels: np.ndarray, vectors: np.ndarray, *, taxonomy: str) -> np.ndarray:
    """Return one probability per label row for a document's text vectors (title first)."""
    return _softmax(labels @ document_vector(vectors) / TEMPERATURE[taxonomy])


def label_texts(label: str, *, taxonomy: str) -> tuple[list[str], list[str]]:
    """Return (template texts, description texts) that stand for one label."""
    topic = iptc.lookup(label)
    described = list(topic.texts()) if topic else []
    if taxonomy == iptc.TAXONOMY:
        return [], described
    return [t.format(label) for t in TEMPLATES], described


def _embed_labels(embedder: Embedder, labels: tuple[str, ...]) -> np.ndarray:
    taxonomy = iptc.TAXONOMY if list(labels) == iptc.topic_names() else CUSTOM
    parts = [label_texts(label, taxonomy=taxonomy) for label in labels]
    flat = [text for templates, described in parts for text in (*templates, *described)]
    vectors = embedder.encode(flat)
    rows, offset = [], 0
    for templates, described in parts:
        a = vectors[offset : offset + len(templates)]
        b = vectors[offset + len(templates) : offset + len(templates) + len(described)]
        offset += len(templates) + len(described)
        if len(a) and len(b):
            rows.append(TEMPLATE_SHARE * _unit(a.mean(0)) + (1 - TEMPLATE_SHARE) * _unit(b.mean(0)))
        else:
            rows.append((a if len(a) else b).mean(0))
    return np.stack([_unit(row) for row in rows])


def _labels(options: Mapping[str, Any]) -> tuple[tuple[str, ...], str]:
    raw = options.get("labels")
    if raw is None:
        return tuple(iptc.topic_names()), iptc.TAXONOMY
    if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
        raise AnalysisError("labels must be a non-empty list of strings")
    labels = tuple(str(label).strip() if isinstance(label, str) else "" for label in raw)
    if not all(labels):
        raise AnalysisError("every label must be a non-empty string")
    if len({label.casefold() for label in labels}) != len(labels):
        raise AnalysisError("labels must be unique")
    return labels, CUSTOM


def _top_k(options: Mapping[str, Any], count: int) -> int:
    value = options.get("top_k", DEFAULT_TOP_K)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AnalysisError("top_k must be a positive integer")
    return min(value, count)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.exp(z - z.max())
    return z / z.sum()


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
