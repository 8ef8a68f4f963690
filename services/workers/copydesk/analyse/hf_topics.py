"""Classify topics zero-shot with any NLI model named by configuration.

Each label becomes the hypothesis "This article is about {label}." and is scored on its own
(softmax over contradiction vs entailment, so labels do not compete and several can fit);
a custom label the client described is scored by "This article is about {description}.".
Label examples need the embedded classifier: an NLI model reads no examples, so a request
that brings them fails with ``analysis_unavailable`` rather than ignoring them.
Long articles are split into sentence-aligned premise chunks that fit the window together
with the hypothesis; a label's score is the chunk scores' mean weighted by chunk length, so it
says how much of the article is about the label: a max would let one passing paragraph
decide, which is the wrong answer for "what is this article about".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from copydesk.analyse.base import Result, coverage
from copydesk.analyse.hf_common import (
    HFAnalyser,
    Loaded,
    chunk_spans,
    sentence_spans,
    special_tokens,
    token_counts,
)
from copydesk.analyse.topics import read_labels
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisError, AnalysisUnavailable

HYPOTHESIS_TEMPLATE = "This article is about {}."
DEFAULT_TOP_K = 3
CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class TopicInputs:
    """Premise chunks and labels for one document."""

    chunks: tuple[Span, ...]
    premises: tuple[str, ...]
    labels: tuple[str, ...]
    taxonomy: str
    top_k: int
    coverage: float
    hypotheses: tuple[str, ...] = ()  # one per label


def nli_indices(id2label: Mapping[int, str]) -> tuple[int, int]:
    """Find the (contradiction, entailment) class indices from the model's label names."""
    ids = {str(v).lower().replace("-", "_"): int(k) for k, v in id2label.items()}
    if len(ids) < 2:
        raise AnalysisUnavailable(f"an NLI model needs at least 2 classes, not {len(ids)}")
    entail = next((v for k, v in ids.items() if k.startswith("entail")), None)
    if entail is None:
        # Unnamed classes (LABEL_0..): assume the MNLI convention that the transformers
        # zero-shot pipeline also falls back on: contradiction first, entailment last.
        return 0, len(ids) - 1
    against = ("contradict", "not_entail", "non_entail")
    contra = next((v for k, v in ids.items() if k.startswith(against)), None)
    if contra is None:  # e.g. {entailment, neutral, other}: the non-neutral other class
        others = [v for k, v in ids.items() if v != entail and not k.startswith("neutral")]
        contra = min(others) if others else min(v for v in ids.values() if v != entail)
    return contra, entail


class HFZeroShotClassifier(HFAnalyser):
    """Zero-shot topics from an ``AutoModelForSequenceClassification`` trained on NLI."""

    name = "topics"
    auto_class = "AutoModelForSequenceClassification"

    def __init__(
        self,
        *,
        model: str,
        device: str = "cpu",
        languages: frozenset[str] | None = None,
        batch_size: int = 16,
        max_chunks: int | None = None,
    ) -> None:
        super().__init__(model=model, device=device, languages=languages, batch_size=batch_size)
        self.max_chunks = max_chunks

    def _check_model(self, loaded: Loaded) -> None:
        self._indices = nli_indices(loaded.model.config.id2label)

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> TopicInputs:
        self.check(doc)
        labels, hypotheses, taxonomy = _labels(options)
        top_k = options.get("top_k", DEFAULT_TOP_K)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise AnalysisError("top_k must be a positive integer")
        loaded = self.load()
        hyp_tokens = max(token_counts(loaded.tokenizer, list(hypotheses)))
        room = loaded.max_tokens - special_tokens(loaded.tokenizer, pair=True)
        if hyp_tokens > room // 2:
            raise AnalysisError("a topic label is too long for the model's input window")
        chunks = chunk_spans(
            tokenizer=loaded.tokenizer,
            text=doc.text,
            spans=sentence_spans(doc),
            budget=room - hyp_tokens,
        )[: self.max_chunks]  # news puts what matters first: keep the lead when capping
        return TopicInputs(
            chunks=tuple(chunks),
            premises=tuple(doc.text[c.start : c.end] for c in chunks),
            labels=labels,
            taxonomy=taxonomy,
            top_k=top_k,
            coverage=coverage(doc.text, chunks),
            hypotheses=hypotheses,
        )

    def _forward(self, inputs: TopicInputs) -> tuple[TopicInputs, np.ndarray]:
        return self._forward_batch([inputs])[0]

    def _forward_batch(self, batch: Sequence[TopicInputs]) -> list[tuple[TopicInputs, Any]]:
        return list(zip(batch, self._forward_many(batch), strict=True))

    def _forward_many(self, batch: Sequence[TopicInputs]) -> list[np.ndarray]:
        """Score every (chunk, label) pair of every document; one row per label."""
        pairs = [(p, h) for x in batch for p in x.premises for h in x.hypotheses]
        probs = self._entailment(pairs)
        out, at = [], 0
        for x in batch:
            n = len(x.premises) * len(x.labels)
            grid = probs[at : at + n].reshape(len(x.premises), len(x.labels))
            at += n
            weights = np.asarray([c.end - c.start for c in x.chunks], dtype=np.float64)
            out.append(weights @ grid / weights.sum())
        return out

    def postprocess(
        self, doc: Document, outputs: tuple[TopicInputs, np.ndarray], options: Mapping[str, Any]
    ) -> Result:
        inputs, scores = outputs
        ranked = sorted(zip(inputs.labels, scores, strict=True), key=lambda p: -p[1])
        return {
            "labels": [
                {"label": lab, "score": round(float(s), 4)} for lab, s in ranked[: inputs.top_k]
            ],
            "top_k": inputs.top_k,
            "model": self.model_name,
            "taxonomy": inputs.taxonomy,
            "coverage": inputs.coverage,
            "chunks": len(inputs.chunks),
        }

    def _entailment(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Return P(entailment) against contradiction for each (premise, hypothesis)."""
        import torch

        loaded = self.load()
        contra, entail = self._indices
        out = np.zeros(len(pairs), dtype=np.float64)
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]))
        for begin in range(0, len(order), self.batch_size):
            part = order[begin : begin + self.batch_size]
            enc = loaded.tokenizer(
                [pairs[i][0] for i in part],
                [pairs[i][1] for i in part],
                truncation="only_first",
                max_length=loaded.max_tokens,
                padding=True,
                return_tensors="pt",
            ).to(self.device)
            with torch.inference_mode():
                logits = loaded.model(**enc).logits.float()
            out[part] = logits[:, [contra, entail]].softmax(-1)[:, 1].cpu().numpy()
        return out


def _hypothesis(label: str) -> str:
    return HYPOTHESIS_TEMPLATE.format(label)


def _labels(options: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Return the labels to score, their hypotheses and the taxonomy they come from."""
    specs, taxonomy = read_labels(options)
    taught = next((spec.name for spec in specs if spec.examples), None)
    if taught is not None:
        raise AnalysisUnavailable(
            f"label {taught!r} brings examples, which an NLI topic model cannot use; this "
            "deployment classifies topics with one (COPYDESK_TOPICS_MODEL)"
        )
    names = tuple(spec.name for spec in specs)
    return names, tuple(_hypothesis(spec.description or spec.name) for spec in specs), taxonomy
