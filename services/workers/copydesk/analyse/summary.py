"""Pick an article's most representative sentences with MiniLM, so summaries quote the text.

Extractive on purpose: every sentence returned is the client's own, with offsets into the
analysed text, and nothing is invented. Ranking blends embedding centrality (closeness to
the article's centroid and TextRank over the similarity graph) with a lead bias, because
news puts what matters first; MMR keeps near-duplicates out. Headings, link lines and other
page furniture (one vocabulary, in ``core.boilerplate``), datelines, bylines and quotes
whose speaker would be missing are passed over unless nothing else is left. Every analysed
sentence is embedded (long ones in windows); ``coverage`` says how much of the text that is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from copydesk.analyse.base import Result, coverage
from copydesk.analyse.embedded import EmbeddingAnalyser
from copydesk.prepare.boilerplate import (
    is_edge_furniture,
    is_furniture,
    is_list_heading,
    is_promotion,
)
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisError
from copydesk.core.options import SummaryOptions, checked

MIN_WORDS = 5
LEAD_WEIGHT = 0.5  # share of the score that the position in the article decides
LEAD_DECAY = 3.0  # candidates; the lead bonus falls to 1/e after this many
DIVERSITY = 0.6  # MMR: how much similarity to already chosen sentences costs
DUPLICATE = 0.92  # cosine above which a sentence counts as a repeat
MAX_CANDIDATES = 200  # TextRank's n x n similarity runs on at most this many sentences

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_FINAL = re.compile(r"[.!?…][\"'”’)\]]*$")
# Email addresses: "x@y.z" anywhere. Each attempt starts only at a character before an "@"
# and stops at the next "@" or space, so one huge token costs linear time, not quadratic.
_EMAIL = re.compile(r"[^\s@]@[^\s@]+\.\w")
# A wire dateline opening the lead: "LONDON (Reuters) - ", "WASHINGTON, March 3 (AP) — ".
_DATELINE = re.compile(
    r"^[A-Z][A-Z.'’-]{2,}(?: [A-Z][A-Z.'’-]+){0,3}"  # LONDON, NEW YORK, not "US - China"
    r"(?:,\s*[A-Z][\w.]*(?:\s[\w.]+){0,2})?\s*(?:\([^)]{1,30}\))?\s*[-–—]+\s+"
)
# Attribution to a pronoun: the speaker is named elsewhere, maybe not in the summary.
_PRONOUN_SPEAKER = re.compile(
    r"(?i)[,.!?]?[\"”’»]\s*(?:(?:he|she|they|it|we)\s+(?:said|says|added|told|explained|"
    r"warned|insisted|argued)|(?:said|says|added)\s+(?:he|she|they))\b"
)


@dataclass(frozen=True, slots=True)
class Sentences:
    """The spans of one document, trimmed, and which of them may be quoted."""

    spans: tuple[Span, ...]
    texts: tuple[str, ...]
    eligible: tuple[bool, ...]


class ExtractiveSummariser(EmbeddingAnalyser):
    """Summarise a news article by quoting its most central, least redundant sentences."""

    name = "summary"

    @property
    def model_name(self) -> str:
        return f"copydesk-extractive/1 ({self.embedder.name})"

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> Sentences:
        checked(SummaryOptions, options)  # a bad option fails before the model runs
        self.require_language(doc, analyser="summariser")
        return split_candidates(doc)

    def postprocess(
        self, doc: Document, outputs: tuple[Sentences, np.ndarray], options: Mapping[str, Any]
    ) -> Result:
        sentences, vectors = outputs
        chosen = select(
            vectors=vectors,
            eligible=sentences.eligible,
            k=checked(SummaryOptions, options).max_sentences,
        )
        picked = [
            {
                "text": sentences.texts[i],
                "start": sentences.spans[i].start,
                "end": sentences.spans[i].end,
            }
            for i in chosen
        ]
        return {
            "text": " ".join(item["text"] for item in picked),
            "sentences": picked,
            "model": self.model_name,
            "method": "extractive",
            "coverage": coverage(doc.text, sentences.spans),
        }


def split_candidates(doc: Document) -> Sentences:
    """Trim each sentence span and mark the ones worth quoting."""
    spans, texts = [], []
    for span in doc.sentences:
        raw = doc.text[span.start : span.end]
        stripped = raw.strip()
        if not stripped:
            continue
        start = span.start + (len(raw) - len(raw.lstrip()))
        dateline = _DATELINE.match(stripped)
        if dateline and len(stripped) - dateline.end() > 20:
            start += dateline.end()  # quote the lead, not "LONDON (Reuters) -"
            stripped = stripped[dateline.end() :]
        spans.append(Span(start, start + len(stripped)))
        texts.append(stripped)
    if not texts:
        raise AnalysisError("the article has no sentences to summarise")
    eligible = [_quotable(t) for t in texts]
    for i, text in enumerate(texts):
        if not eligible[i] and is_list_heading(text) and sum(eligible[:i]) >= 2:
            eligible[i:] = [False] * (len(texts) - i)  # trailing "Top stories" and the like
            break
    return Sentences(tuple(spans), tuple(texts), tuple(eligible))


def select(*, vectors: np.ndarray, eligible: Sequence[bool], k: int) -> list[int]:
    """Return the indices of up to ``k`` sentences, in document order.

    Cost is O(n) plus O(c^2) for at most MAX_CANDIDATES candidates: a long article is first
    narrowed to the sentences nearest its centroid and its lead, so no input can make the
    similarity matrix grow without bound.
    """
    pool = [i for i, ok in enumerate(eligible) if ok] or list(range(len(vectors)))
    pool = shortlist(vectors, pool, size=MAX_CANDIDATES)
    candidates = vectors[pool]
    scores = _scores(candidates)
    overlap = np.zeros(len(pool))  # highest similarity to anything chosen so far
    open_ = np.ones(len(pool), dtype=bool)
    chosen: list[int] = []
    while len(chosen) < k:
        value = np.where(open_ & (overlap < DUPLICATE), scores - DIVERSITY * overlap, -np.inf)
        best = int(np.argmax(value))
        if not np.isfinite(value[best]):
            break
        chosen.append(best)
        open_[best] = False
        overlap = np.maximum(overlap, np.clip(candidates @ candidates[best], 0.0, None))
    return sorted(pool[j] for j in chosen)


def shortlist(vectors: np.ndarray, pool: list[int], *, size: int) -> list[int]:
    """Keep the ``size`` sentences of ``pool`` that score best on centrality and lead, O(n)."""
    if len(pool) <= size:
        return pool
    members = vectors[pool]
    centroid = members.sum(0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    lead = np.exp(-np.arange(len(pool)) / LEAD_DECAY)
    score = (1 - LEAD_WEIGHT) * _unit_range(members @ centroid) + LEAD_WEIGHT * lead
    keep = np.argpartition(-score, size - 1)[:size]
    return [pool[i] for i in sorted(keep)]


def _scores(vectors: np.ndarray) -> np.ndarray:
    """Blend centrality and TextRank with a lead bonus; higher is better, about [0, 1]."""
    n = len(vectors)
    if n == 1:
        return np.ones(1)
    centroid = vectors.sum(0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    central = _unit_range(vectors @ centroid)
    rank = _unit_range(_textrank(vectors @ vectors.T))
    lead = np.exp(-np.arange(n) / LEAD_DECAY)
    return (1 - LEAD_WEIGHT) * (0.5 * central + 0.5 * rank) + LEAD_WEIGHT * lead


def _textrank(similarity: np.ndarray, *, damping: float = 0.85, steps: int = 50) -> np.ndarray:
    weights = np.clip(similarity, 0.0, None)
    np.fill_diagonal(weights, 0.0)
    totals = weights.sum(1, keepdims=True)
    n = len(weights)
    transition = np.where(totals > 0, weights / np.maximum(totals, 1e-12), 1.0 / n)
    rank = np.full(n, 1.0 / n)
    for _ in range(steps):
        updated = (1 - damping) / n + damping * transition.T @ rank
        if np.abs(updated - rank).sum() < 1e-9:
            return updated
        rank = updated
    return rank


def _unit_range(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high - low > 1e-9 else np.ones_like(values)


def _quotable(text: str) -> bool:
    """Tell whether a sentence may be quoted: prose, no furniture, no orphaned quote."""
    return (
        len(_WORD.findall(text)) >= MIN_WORDS
        and bool(_FINAL.search(text))
        and not is_promotion(text)
        and not is_furniture(text)
        and not is_edge_furniture(text)
        and not _EMAIL.search(text)
        and not _speaker_missing(text)
    )


def _speaker_missing(text: str) -> bool:
    """Tell whether a quote in the sentence would reach the reader without its speaker.

    A quote cut by the sentence splitter (opened and not closed, or closed and not opened)
    has its speaker in the next or previous sentence; "..., he said" names only a pronoun.
    """
    curly_open = text.count("“") + text.count("«")
    curly_closed = text.count("”") + text.count("»")
    if curly_open != curly_closed or text.count('"') % 2:
        return True
    return bool(_PRONOUN_SPEAKER.search(text))
