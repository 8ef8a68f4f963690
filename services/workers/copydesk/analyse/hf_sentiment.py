"""Score sentiment with any sequence-classification model named by configuration.

Hub models name their classes in many ways (negative/neutral/positive, NEG/NEU/POS, LABEL_0..2,
"1 star".."5 stars", POSITIVE/NEGATIVE); each class is given a polarity weight in [-1, 1] and a
sentence's score is the probability-weighted sum, which is P(pos) - P(neg) for three classes.
A model whose classes cannot be read as sentiment is refused at load time rather than
producing numbers nobody can interpret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from copydesk.analyse.base import Result, coverage, split_rows
from copydesk.analyse.hf_common import HFAnalyser, Loaded, sentence_spans
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisUnavailable

# P(pos) - P(neg) of a configured Hub model, not the embedded head's rating scale: the head's
# band (training/choose_neutral_band.py) does not carry over, and a Hub model's own classes
# already hold its neutral; this cut only turns the expected polarity into a label.
POSITIVE_ABOVE = 0.15
NEGATIVE_BELOW = -0.15

_NAMED = {"negative": -1.0, "neg": -1.0, "neutral": 0.0, "neu": 0.0, "positive": 1.0, "pos": 1.0}
_VERY = {"very negative": -1.0, "very positive": 1.0}
_STARS = re.compile(r"^([1-5]) stars?$")
_INDEXED = re.compile(r"^label (\d+)$")
_BY_COUNT = {2: (-1.0, 1.0), 3: (-1.0, 0.0, 1.0)}  # cardiffnlp / SST-2 conventions


def polarity_weights(id2label: Mapping[int, str]) -> list[float]:
    """Give each class index its polarity in [-1, 1], or refuse a model that isn't sentiment."""
    names = {
        int(i): " ".join(str(v).lower().replace("_", " ").replace("-", " ").split())
        for i, v in id2label.items()
    }
    if sorted(names) != list(range(len(names))):
        raise AnalysisUnavailable(f"class ids are not 0..n-1: {sorted(names)}")
    indexed = [_INDEXED.match(names[i]) for i in range(len(names))]
    if all(indexed):
        order = _BY_COUNT.get(len(names))
        ks = [int(m.group(1)) for m in indexed if m]
        if order is None or sorted(ks) != list(range(len(names))):
            raise AnalysisUnavailable(f"cannot read {dict(id2label)} as sentiment classes")
        return [order[k] for k in ks]
    scale = 0.5 if any(n in _VERY for n in names.values()) else 1.0
    weights = []
    for i in range(len(names)):
        name = names[i]
        if name in _VERY:
            weights.append(_VERY[name])
        elif name in _NAMED:
            weights.append(_NAMED[name] * scale)
        elif star := _STARS.match(name):
            weights.append((int(star.group(1)) - 3) / 2)
        else:
            raise AnalysisUnavailable(
                f"cannot read class {name!r} as sentiment; labels: {dict(id2label)}"
            )
    if min(weights) >= 0 or max(weights) <= 0:
        raise AnalysisUnavailable(f"model has no opposite polarities: {dict(id2label)}")
    return weights


def label_for(score: float) -> str:
    if score > POSITIVE_ABOVE:
        return "positive"
    if score < NEGATIVE_BELOW:
        return "negative"
    return "neutral"


@dataclass(frozen=True, slots=True)
class SentimentInputs:
    spans: tuple[Span, ...]
    texts: tuple[str, ...]


class HFSentimentClassifier(HFAnalyser):
    """Sentence-level sentiment from an ``AutoModelForSequenceClassification``."""

    name = "sentiment"
    auto_class = "AutoModelForSequenceClassification"

    def _check_model(self, loaded: Loaded) -> None:
        self._weights = np.asarray(polarity_weights(loaded.model.config.id2label), np.float32)

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> SentimentInputs:
        self.check(doc)
        spans = sentence_spans(doc)
        return SentimentInputs(tuple(spans), tuple(doc.text[s.start : s.end] for s in spans))

    def _forward(self, inputs: SentimentInputs) -> np.ndarray:
        return self.score_texts(inputs.texts)

    def _forward_batch(self, batch: Sequence[SentimentInputs]) -> list[np.ndarray]:
        """Score every sentence of every document in shared forward passes."""
        scores = self.score_texts([t for inputs in batch for t in inputs.texts])
        return split_rows(scores, [len(inputs.texts) for inputs in batch])

    def postprocess(self, doc: Document, outputs: np.ndarray, options: Mapping[str, Any]) -> Result:
        spans = sentence_spans(doc)
        lengths = np.asarray([s.end - s.start for s in spans], dtype=np.float64)
        score = float(np.clip((outputs * lengths).sum() / lengths.sum(), -1.0, 1.0))
        return {
            "label": label_for(score),
            "score": round(score, 4),
            "sentences": [
                {
                    "text": doc.text[s.start : s.end],
                    "start": s.start,
                    "end": s.end,
                    "score": round(float(v), 4),
                }
                for s, v in zip(spans, outputs, strict=True)
            ],
            "model": self.model_name,
            "coverage": coverage(doc.text, spans),
        }

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Score each text in [-1, 1]; texts over the window are split and averaged."""
        import torch

        loaded = self.load()
        tok, model = loaded.tokenizer, loaded.model
        enc = tok(
            list(texts),
            truncation=True,
            max_length=loaded.max_tokens,
            return_overflowing_tokens=True,
        )
        windows = enc["input_ids"]
        owners = np.asarray(enc.get("overflow_to_sample_mapping", range(len(windows))))
        window_scores = np.zeros(len(windows), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        for begin in range(0, len(order), self.batch_size):
            part = order[begin : begin + self.batch_size]
            width = max(len(windows[i]) for i in part)
            ids = torch.full((len(part), width), pad, dtype=torch.long)
            mask = torch.zeros((len(part), width), dtype=torch.long)
            for row, i in enumerate(part):
                ids[row, : len(windows[i])] = torch.tensor(windows[i])
                mask[row, : len(windows[i])] = 1
            with torch.inference_mode():
                logits = model(
                    input_ids=ids.to(self.device), attention_mask=mask.to(self.device)
                ).logits
            probs = logits.float().softmax(-1).cpu().numpy()
            window_scores[part] = probs @ self._weights
        sums = np.zeros(len(texts), dtype=np.float64)
        counts = np.zeros(len(texts), dtype=np.float64)
        np.add.at(sums, owners, window_scores)
        np.add.at(counts, owners, 1.0)
        return sums / np.maximum(counts, 1.0)
