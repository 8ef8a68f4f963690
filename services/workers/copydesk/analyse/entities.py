"""Name who and what an article is about: entities, their salience and their own sentiment.

No model is loaded here. The mentions come from the parse the prepare stage made once for
the article (``Document.parse``: English, French and Russian); ``copydesk.analyse.canonical``
merges them into entities. Each entity's sentiment is that of the sentences that mention it,
scored by the sentiment analysis's own head on the prepare stage's sentence vectors, so an
entity's sentence scores are the very ones the sentiment analysis reports for those
sentences. Where the deployment's sentence encoder does not read the article's language
(MiniLM reads English), the entities still come, each with ``sentiment: null``.

Salience is each entity's share of the article's attention (docs/analyses.md):

    weight(mention) = 1 + (1 - start / len(text))        # 2 at the top, 1 at the very end
    raw(entity)     = sum of its mentions' weights + HEADLINE_WEIGHT if the title names it
    salience        = raw(entity) / sum of raw over all the article's entities

so the saliences of all an article's entities add up to 1, before ``types`` and ``top_k``
choose which to return.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from copydesk.analyse.base import Result, coverage, require_parse
from copydesk.analyse.canonical import Entity, merge
from copydesk.analyse.embedded import EmbeddingAnalyser, require_language
from copydesk.analyse.sentiment import EmbeddingSentimentAnalyser, reads_lexicon
from copydesk.core.document import Document, Span
from copydesk.core.errors import UnsupportedLanguage
from copydesk.core.options import EntitiesOptions, checked
from copydesk.core.settings import get_settings
from copydesk.core.parse import Mention
from copydesk.prepare.vectors import DocVectors

HEADLINE_WEIGHT = 2.0
"""A title that names the entity counts as much as two mentions halfway down the text."""

VERSION = "copydesk-entities/1"


@dataclass(frozen=True, slots=True)
class Inputs:
    """The article's entities, and the sentences (texts, spans) whose sentiment they need."""

    entities: list[Entity]
    texts: list[str]
    spans: list[Span]
    index: dict[int, int]  # document sentence index -> row of ``texts``
    parser: str
    parsed_to: int
    scored: bool = True  # whether the sentiment head reads the article's language


def salience(entities: Sequence[Entity], *, length: int, title: str | None) -> list[float]:
    """Each entity's share of the article's attention (the module docstring's formula)."""
    raw = []
    for entity in entities:
        weight = sum(1 + (1 - m.start / max(length, 1)) for m in entity.mentions)
        if title and named_in(title, entity.names):
            weight += HEADLINE_WEIGHT
        raw.append(weight)
    total = sum(raw) or 1.0
    return [value / total for value in raw]


def named_in(title: str, names: Sequence[str]) -> bool:
    """Whether ``title`` holds one of ``names`` as whole words (case set aside).

    Most names are not in the title, and compiling a pattern for each was most of what this
    cost: an ASCII name that is not even a substring of an ASCII title, lower-cased, is
    passed over without one (outside ASCII, case rules differ from ``re``'s; the pattern
    decides).
    """
    lowered = title.lower() if title.isascii() else None
    return any(
        re.search(rf"(?<!\w){re.escape(name)}(?!\w)", title, flags=re.IGNORECASE)
        for name in set(names)
        if lowered is None or not name.isascii() or name.lower() in lowered
    )


class EntityAnalyser(EmbeddingAnalyser):
    """Entities from the prepared parse; their sentiment from the prepared sentence vectors."""

    name = "entities"

    def __init__(self, *, embedder: Any = None) -> None:
        super().__init__(embedder=embedder)
        self.sentiment = EmbeddingSentimentAnalyser(embedder=embedder)

    @property
    def model_name(self) -> str:
        return f"{VERSION} (sentiment: {self.sentiment.model_name})"

    def name_for(self, doc: Document, *, scored: bool) -> str:
        """The model as it read ``doc``: its sentiment head without VADER outside English, and
        none when the encoder does not read the language (every entity's sentiment null)."""
        if not scored:
            return VERSION
        head = self.sentiment.head.name_for(lexicon=reads_lexicon(doc.language))
        return f"{VERSION} (sentiment: {head})"

    def warm_up(self) -> None:
        self.sentiment.warm_up()

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> Inputs:
        checked(EntitiesOptions, options)
        require_parse(doc, analysis="entities")
        return self._inputs(
            doc,
            doc.parse.mentions,
            parser=doc.parse.model,
            end=doc.parse.end,
            scored=self.scores(doc),
        )

    def scores(self, doc: Document) -> bool:
        """Whether the sentiment head reads ``doc``'s language (its encoder's languages),
        without loading the encoder to ask."""
        if self._embedder is None:  # the one get_embedder() would load
            family = get_settings().encoder_families[0]
        else:
            family = getattr(self._embedder, "family", "minilm")
        try:
            require_language(doc, analyser="entity sentiment", family=family)
        except UnsupportedLanguage:
            return False
        return True

    def from_mentions(
        self,
        doc: Document,
        mentions: Sequence[Mention],
        *,
        parser: str,
        end: int,
        options: Mapping[str, Any],
        vectors: DocVectors | None = None,
    ) -> Result:
        """Entities from mentions another recogniser found (a Hugging Face model), up to
        ``end``; their sentences are scored on ``vectors`` when they hold them."""
        checked(EntitiesOptions, options)
        inputs = self._inputs(doc, mentions, parser=parser, end=end, scored=self.scores(doc))
        if not inputs.texts:
            return self.postprocess(doc, (inputs, np.zeros((0, 1), np.float32)), options)
        vectors = self.own(vectors)
        found = vectors.lookup(inputs.texts) if vectors is not None else None
        embeddings = found if found is not None else self.embedder.encode(inputs.texts)
        return self.postprocess(doc, (inputs, embeddings), options)

    def _forward(self, inputs: Inputs) -> tuple[Inputs, np.ndarray]:
        """No sentence to score (none names an entity, or the head does not read the
        language): no encoder either."""
        if not inputs.texts:
            return inputs, np.zeros((0, 1), np.float32)
        return super()._forward(inputs)

    @staticmethod
    def _inputs(
        doc: Document, mentions: Sequence[Mention], *, parser: str, end: int, scored: bool
    ) -> Inputs:
        entities = merge(doc.text, mentions)
        rows = sorted({m.sentence for e in entities for m in e.mentions}) if scored else []
        spans = [doc.sentences[i] for i in rows if i < len(doc.sentences)]
        return Inputs(
            entities=entities,
            texts=[doc.text[s.start : s.end].strip() for s in spans],
            spans=spans,
            index={i: row for row, i in enumerate(rows)},
            parser=parser,
            parsed_to=end,
            scored=scored,
        )

    def postprocess(
        self, doc: Document, outputs: tuple[Inputs, np.ndarray], options: Mapping[str, Any]
    ) -> Result:
        inputs, embeddings = outputs
        opts = checked(EntitiesOptions, options)
        scores = (
            self.sentiment.sentence_scores(
                inputs.texts, embeddings=embeddings, language=doc.language
            )
            if inputs.texts
            else np.zeros(0)
        )
        shares = salience(inputs.entities, length=len(doc.text), title=doc.title)
        ranked = sorted(
            zip(inputs.entities, shares, strict=True),
            key=lambda pair: (-pair[1], pair[0].mentions[0].start),
        )
        wanted = set(opts.types) if opts.types else None
        chosen = [(e, s) for e, s in ranked if wanted is None or e.type in wanted]
        parsed = [s for s in doc.sentences if s.end <= inputs.parsed_to]
        return {
            "entities": [
                self._entity(doc, entity, share, inputs, scores)
                for entity, share in chosen[: opts.top_k]
            ],
            "entities_total": len(chosen),
            "model": self.name_for(doc, scored=inputs.scored),
            "parser": inputs.parser,
            "coverage": coverage(doc.text, parsed),
        }

    def _entity(
        self, doc: Document, entity: Entity, share: float, inputs: Inputs, scores: np.ndarray
    ) -> dict[str, Any]:
        mentions = sorted(entity.mentions, key=lambda m: m.start)
        per_sentence = Counter(m.sentence for m in mentions if m.sentence in inputs.index)
        rows = [inputs.index[i] for i in sorted(per_sentence)]
        weights = np.array([per_sentence[i] for i in sorted(per_sentence)], dtype=np.float64)
        values = scores[rows] if rows else np.zeros(0)
        score = float((weights * values).sum() / weights.sum()) if rows else 0.0
        written = [doc.text[m.start : m.end] for m in mentions]
        return {
            "name": entity.name,
            "type": entity.type,
            "count": len(mentions),
            "salience": round(share, 4),
            "in_title": bool(doc.title and named_in(doc.title, [*entity.names, *written])),
            "mentions": [
                {"text": text, "start": m.start, "end": m.end}
                for text, m in zip(written, mentions, strict=True)
            ],
            "sentiment": self._sentiment(score, rows, inputs, scores) if inputs.scored else None,
        }

    def _sentiment(
        self, score: float, rows: list[int], inputs: Inputs, scores: np.ndarray
    ) -> dict[str, Any]:
        head = self.sentiment.head
        return {
            "label": head.label(score),
            "score": round(score, 4),
            "sentences": [
                {
                    "start": inputs.spans[row].start,
                    "end": inputs.spans[row].end,
                    "score": round(float(scores[row]), 4),
                }
                for row in rows
            ],
        }
