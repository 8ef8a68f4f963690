"""Score sentiment per sentence with a small trained head on the shared MiniLM embeddings.

The head (``data/sentiment_head_v1.npz``, built by ``training/train_sentiment.py``) predicts the
mean human rating of a sentence on VADER's -4..4 scale divided by 4, so a score reads the same
way everywhere: -1 extremely negative, 0 neutral, +1 extremely positive. Reusing the embedder
the summary and topics analysers load keeps a worker at one transformer. The training texts are
reviews and tweets, where war or crime is often just a film's plot; news readers judge the
events themselves, so the head file may blend in VADER's lexicon score (human-rated word
valences), with weights fitted on corpora the head had not seen. The document score aggregates
sentence scores, and the label is neutral inside the band that
``training/choose_neutral_band.py`` chose on dev data (labelled news articles and rated review
sentences; criterion and curve in the head file's ``thresholds``). Both live in the head file,
next to the weights they belong to, since another head needs its own. Each sentence encoder
has its own head (``HEADS``), and the analyser refuses a head fitted on another encoder.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from copydesk.analyse.base import Result, coverage, split_rows
from copydesk.analyse.embedded import EmbeddingAnalyser
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisError, AnalysisUnavailable
from copydesk.prepare.language import is_english

DEFAULT_HEAD = Path(__file__).parent / "data" / "sentiment_head_v1.npz"
HEADS = {
    "minilm": DEFAULT_HEAD,
    "use-m3": DEFAULT_HEAD.with_name("sentiment_head_use-m3_v1.npz"),
    "mpnet": DEFAULT_HEAD.with_name("sentiment_head_mpnet_v1.npz"),
}
"""The head fitted on each encoder's vectors (``training/train_sentiment.py --encoder``)."""


@dataclass(frozen=True)
class SentimentHead:
    """Weights and metadata of a trained head: ridge (``w``, ``b``) or one-hidden-layer MLP."""

    arrays: Mapping[str, np.ndarray]
    meta: Mapping[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> SentimentHead:
        """Read a head file without pickle (metadata is a JSON string array)."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files if key != "meta"}
            meta = json.loads(str(data["meta"]))
        return cls(arrays=arrays, meta=meta)

    @property
    def model_name(self) -> str:
        return self.name_for(lexicon=True)

    def name_for(self, *, lexicon: bool) -> str:
        """The model's name; ``lexicon=False``: as it scores text VADER cannot read."""
        meta = self.meta
        blend = meta.get("blend") if lexicon else None
        parts = meta["embedder"] + (f" + VADER {blend['vader_version']}" if blend else "")
        return f"{meta['name']}/{meta['version']} ({parts})"

    @property
    def dim(self) -> int:
        return int(self.meta["embedding_dim"])

    @property
    def family(self) -> str:
        """The encoder the head was fitted on (heads before USE-m3 name none: MiniLM's)."""
        return str(self.meta.get("encoder_family", "minilm"))

    @property
    def thresholds(self) -> tuple[float, float]:
        """Scores at or below the first are negative, at or above the second positive."""
        cuts = self.meta["thresholds"]
        return float(cuts["negative"]), float(cuts["positive"])

    @property
    def blend(self) -> Mapping[str, float] | None:
        return self.meta.get("blend")

    def score(
        self, embeddings: np.ndarray, texts: Sequence[str], *, lexicon: bool = True
    ) -> np.ndarray:
        """Map sentences (unit embeddings ``(n, dim)`` and their texts) to scores in [-1, 1].

        ``lexicon=False`` for text VADER cannot read (its lexicon is English): VADER would
        score it 0, and the blend, fitted where VADER carries half the signal, would then
        shrink every score towards neutral; the head alone (itself fitted to the ratings)
        scores it instead.
        """
        compound = vader_compound(texts) if self.blend and lexicon else None
        return self.combine(self.raw(embeddings), compound)

    def raw(self, embeddings: np.ndarray) -> np.ndarray:
        """Return the embedding head's own prediction, before blending and clipping."""
        x = np.asarray(embeddings, dtype=np.float32)
        if "w1" in self.arrays:
            hidden = gelu_tanh(x @ self.arrays["w1"] + self.arrays["b1"])
            out = hidden @ self.arrays["w2"] + self.arrays["b2"]
        else:
            out = x @ self.arrays["w"] + self.arrays["b"]
        return out.astype(np.float64)

    def combine(self, raw: np.ndarray, compound: np.ndarray | None) -> np.ndarray:
        """Blend head output with VADER compound scores as the head file says, then clip."""
        blend = self.blend
        if blend and compound is not None:
            raw = blend["head"] * raw + blend["vader"] * np.asarray(compound) + blend["bias"]
        return np.clip(raw, -1.0, 1.0)

    def aggregate(self, scores: np.ndarray, lengths: np.ndarray) -> float:
        """Weight sentences by length**a * (|score| + eps)**b, as stored in the head file."""
        agg = self.meta.get("aggregation", {})
        return aggregate(
            scores,
            lengths=lengths,
            length_power=float(agg.get("length_power", 0.0)),
            polar_power=float(agg.get("polar_power", 0.0)),
        )

    def label(self, score: float) -> str:
        negative, positive = self.thresholds
        if score <= negative:
            return "negative"
        if score >= positive:
            return "positive"
        return "neutral"


def vader_compound(texts: Sequence[str]) -> np.ndarray:
    """Return VADER's compound score (-1..1) per text; its lexicon loads once per process."""
    analyser = _vader()
    return np.array([analyser.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)


@functools.cache
def _vader() -> Any:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as exc:
        raise AnalysisUnavailable("the sentiment head needs vaderSentiment installed") from exc
    return SentimentIntensityAnalyzer()


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (the one the MLP head was trained with)."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))


def aggregate(
    scores: np.ndarray,
    *,
    lengths: np.ndarray,
    length_power: float = 0.0,
    polar_power: float = 0.0,
    eps: float = 0.05,
) -> float:
    """Return the weighted mean of sentence scores; (0, 0) powers give the plain mean."""
    scores = np.asarray(scores, dtype=np.float64)
    lengths = np.maximum(np.asarray(lengths, dtype=np.float64), 1.0)
    weights = lengths**length_power * (np.abs(scores) + eps) ** polar_power
    return float(np.clip((weights * scores).sum() / weights.sum(), -1.0, 1.0))


@dataclass(frozen=True, slots=True)
class Prepared:
    """The sentences of one document that carry text, with their spans."""

    texts: list[str]
    spans: list[Span]
    lexicon: bool = True  # English: VADER reads it (see SentimentHead.score)


def reads_lexicon(language: str | None) -> bool:
    """Whether VADER's English lexicon can read text in ``language`` (undetected: yes)."""
    return is_english(language)


@dataclass(frozen=True, slots=True)
class Scored:
    """Prepared sentences with the head's score for each."""

    prepared: Prepared
    scores: np.ndarray


class EmbeddingSentimentAnalyser(EmbeddingAnalyser):
    """Sentence and document sentiment from MiniLM embeddings and a trained head."""

    name = "sentiment"

    def __init__(self, *, embedder: Any = None, head_path: str | Path | None = None) -> None:
        super().__init__(embedder=embedder)
        self._head_path = Path(head_path) if head_path else None
        self._head: SentimentHead | None = None
        self._lock = threading.Lock()

    @property
    def head(self) -> SentimentHead:
        """Return the head, reading the file on first use (thread-safe, once)."""
        if self._head is None:
            with self._lock:
                if self._head is None:
                    self._head = self._load_head()
        return self._head

    def warm_up(self) -> None:
        """Read the head now, so a worker with a mismatched head fails at start."""
        if self.head.blend:
            _vader()

    @property
    def head_path(self) -> Path:
        """The head given, or the one fitted on this analyser's encoder."""
        return self._head_path or HEADS[getattr(self.embedder, "family", "minilm")]

    def _load_head(self) -> SentimentHead:
        """Read the head; refuse one fitted on another encoder (a worker then fails to start)."""
        try:
            head = SentimentHead.load(self.head_path)
        except (OSError, KeyError, ValueError) as exc:
            raise AnalysisUnavailable(f"sentiment head {self.head_path} unreadable: {exc}") from exc
        family = getattr(self.embedder, "family", "minilm")
        if head.family != family:
            raise AnalysisUnavailable(
                f"sentiment head {self.head_path.name} was fitted on {head.family} vectors; "
                f"this deployment's encoder is {family} (COPYDESK_SENTENCE_ENCODER)"
            )
        return head

    @property
    def model_name(self) -> str:
        return self.head.model_name

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> Prepared:
        self.require_language(doc, analyser="sentiment model")
        spans = [s for s in doc.sentences if doc.text[s.start : s.end].strip()]
        if not spans:
            raise AnalysisError("document has no sentences to score")
        texts = [doc.text[s.start : s.end] for s in spans]
        return Prepared(texts=texts, spans=spans, lexicon=reads_lexicon(doc.language))

    def _forward(self, inputs: Prepared) -> Scored:
        return self._forward_batch([inputs])[0]

    def _forward_batch(self, batch: Sequence[Prepared]) -> list[Scored]:
        """Score all documents' sentences in one embedding call."""
        embeddings = self.embedder.encode([t for p in batch for t in p.texts])
        blocks = split_rows(embeddings, [len(p.texts) for p in batch])
        return [
            Scored(p, self._score(p.texts, embeddings=block, lexicon=p.lexicon))
            for p, block in zip(batch, blocks, strict=True)
        ]

    def _from_vectors(self, inputs: Prepared, found: np.ndarray, vectors: Any) -> Scored:
        return Scored(inputs, self._score(inputs.texts, embeddings=found, lexicon=inputs.lexicon))

    def sentence_scores(
        self,
        texts: Sequence[str],
        *,
        embeddings: np.ndarray | None = None,
        language: str | None = None,
    ) -> np.ndarray:
        """Score sentences as this analysis does (entities score their sentences with it)."""
        return self._score(texts, embeddings=embeddings, lexicon=reads_lexicon(language))

    def _score(
        self,
        texts: Sequence[str],
        *,
        embeddings: np.ndarray | None = None,
        lexicon: bool = True,
    ) -> np.ndarray:
        head = self.head
        if embeddings is None:
            embeddings = self.embedder.encode(list(texts))
        if embeddings.shape[1] != head.dim:
            raise AnalysisUnavailable(
                f"embedder gives {embeddings.shape[1]}-d vectors; head expects {head.dim}"
            )
        return head.score(embeddings, texts, lexicon=lexicon)

    def postprocess(self, doc: Document, outputs: Scored, options: Mapping[str, Any]) -> Result:
        head, prepared = self.head, outputs.prepared
        lengths = np.array([len(t) for t in prepared.texts])
        score = head.aggregate(outputs.scores, lengths)
        return {
            "label": head.label(score),
            "score": round(score, 4),
            "sentences": [
                {"text": text, "start": span.start, "end": span.end, "score": round(float(s), 4)}
                for text, span, s in zip(
                    prepared.texts, prepared.spans, outputs.scores, strict=True
                )
            ],
            "model": head.name_for(lexicon=prepared.lexicon),
            "coverage": coverage(doc.text, prepared.spans),
        }
