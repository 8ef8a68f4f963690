"""Pick an article's key phrases: its noun phrases and entities closest to what it is about.

Candidates come from the parse the prepare stage made once (noun chunks and entity
mentions, merged as ``copydesk.analyse.canonical`` merges entities); the prepare stage also
embeds them, beside the sentences, so this analysis loads no model. A candidate's score is
its cosine similarity to the article (the length-weighted mean of its sentence vectors and
its title's) blended with how often the article names it:

    score(c) = (1 - FREQUENCY_WEIGHT) * cos(c, article)
               + FREQUENCY_WEIGHT * log(1 + count(c)) / log(1 + the most any candidate has)

since closeness alone favours long descriptive phrases an editor would not tag ("Even the
costliest natural disaster"). Candidates are then chosen by maximal marginal relevance,
which trades that score against similarity to the phrases already chosen:

    next = argmax over candidates c of (1 - diversity) * score(c) - diversity * max_s cos(c, s)

so "Chechen fighters" does not crowd out everything else with "Chechen militants".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from copydesk.analyse.base import Result, coverage, require_parse
from copydesk.analyse.canonical import TYPES, merge
from copydesk.analyse.embedded import EmbeddingAnalyser, require_english
from copydesk.core.document import Document
from copydesk.core.options import KeyphrasesOptions, checked

VERSION = "copydesk-keyphrases/3"
SHORTLIST: Final = 30
SHORTLIST_PER_PHRASE: Final = 3
"""Candidates embedded per article: the most frequent, then the first, max(SHORTLIST,
SHORTLIST_PER_PHRASE x top_k) of them. Embedding is most of what key phrases cost (about
1 ms a candidate), and on the dev split of bench/quality_keyphrases.py the 30 most frequent
chose what 200 did (F1@10 0.426 exact, 0.590 partial, with top_k 10); 25 lost partial hits."""
MAX_WORDS: Final = 6
FREQUENCY_WEIGHT: Final = 0.5
"""How much a candidate's frequency weighs against its closeness (tuned on the dev split of
bench/quality_keyphrases.py: F1@10 0.208 with closeness alone, 0.426 at a half)."""

LEADING: Final = frozenset(
    """a an the this that these those his her its their our my your some any each every no
    such another other both all many several few most more""".split()
)
"""Words a noun phrase may open with that are not part of the key phrase ("the city")."""

PRONOUNS: Final = frozenset(
    """i me you he him she it we us they them who whom what which whose myself yourself
    himself herself itself ourselves themselves one ones something someone anything anyone
    everything everyone nothing nobody this that these those there here""".split()
)
_LETTER = re.compile(r"[^\W\d_]")


@dataclass
class Candidate:
    """A phrase and every span of it; ``entity`` is its entity type when it names one."""

    surfaces: list[str] = field(default_factory=list)
    spans: set[tuple[int, int]] = field(default_factory=set)
    entity: str | None = None

    @property
    def text(self) -> str:
        counts = Counter(self.surfaces)
        first = {s: i for i, s in reversed(list(enumerate(self.surfaces)))}
        return max(counts, key=lambda s: (counts[s], -first[s]))


@dataclass(frozen=True, slots=True)
class Inputs:
    """The sentence texts (the article), then the candidates' texts, all to be embedded."""

    sentences: list[str]
    weights: list[float]
    candidates: list[Candidate]
    parser: str
    parsed_to: int

    @property
    def texts(self) -> list[str]:
        return [*self.sentences, *(c.text for c in self.candidates)]


def key(phrase: str) -> tuple[str, ...]:
    """A phrase's words for matching: case, dots and a plural 's' set aside."""
    words = phrase.casefold().replace(".", "").split()
    if words and len(words[-1]) > 3 and words[-1].endswith("s") and not words[-1].endswith("ss"):
        words[-1] = words[-1][:-1]
    return tuple(words)


def trim(text: str, start: int) -> tuple[str, int] | None:
    """Drop a noun phrase's leading determiners; None when no key phrase is left."""
    start += len(text) - len(text.lstrip())
    words = text.lstrip().split(" ")
    while words and words[0].casefold() in LEADING:
        start += len(words[0]) + 1
        words = words[1:]
    phrase = " ".join(words).rstrip()
    lowered = phrase.casefold().split()
    if not lowered or len(lowered) > MAX_WORDS or not _LETTER.search(phrase):
        return None
    if all(word in PRONOUNS for word in lowered):
        return None
    return phrase, start


def candidates(doc: Document, *, most: int) -> list[Candidate]:
    """The parse's entities and noun phrases, merged by ``key``, most frequent first (then
    first written), at most ``most`` of them."""
    assert doc.parse is not None
    by_key: dict[tuple[str, ...], Candidate] = {}
    for entity in merge(doc.text, doc.parse.mentions):
        found = Candidate(entity=entity.type)
        for mention, name in zip(entity.mentions, entity.names, strict=True):
            found.surfaces.append(name)
            found.spans.add((mention.start, mention.end))
            by_key.setdefault(key(name), found)
        found.surfaces = [entity.name] * len(found.surfaces)  # shown by its canonical name
    amounts = [m for m in doc.parse.mentions if m.label not in TYPES]  # dates, numbers
    for chunk in doc.parse.chunks:
        begin = chunk.start
        for amount in amounts:  # "about 1,000 Russian-speaking jihadists": the jihadists
            if amount.start <= begin < amount.end <= chunk.end:
                begin = amount.end
        trimmed = trim(doc.text[begin : chunk.end], begin) if begin < chunk.end else None
        if trimmed is None:
            continue
        phrase, start = trimmed
        span = (start, start + len(phrase))
        found = by_key.setdefault(key(phrase), Candidate())
        if span not in found.spans:
            if found.entity is None:
                found.surfaces.append(phrase)
            found.spans.add(span)
    unique = list({id(c): c for c in by_key.values()}.values())
    unique.sort(key=lambda c: (-len(c.spans), min(c.spans)))
    return unique[:most]


def relevance(closeness: np.ndarray, found: Sequence[Candidate]) -> np.ndarray:
    """Each candidate's score: its closeness to the article blended with how often the
    article names it (the module docstring's formula)."""
    counts = np.array([len(c.spans) for c in found], dtype=np.float64)
    often = np.log1p(counts) / np.log1p(counts.max()) if len(found) else counts
    return (1 - FREQUENCY_WEIGHT) * closeness + FREQUENCY_WEIGHT * often


def mmr(scores: np.ndarray, vectors: np.ndarray, *, top_k: int, diversity: float) -> list[int]:
    """Indices chosen by maximal marginal relevance (the module docstring's rule)."""
    chosen: list[int] = []
    left = list(range(len(scores)))
    similar = vectors @ vectors.T
    while left and len(chosen) < top_k:
        if chosen:
            redundancy = similar[np.ix_(left, chosen)].max(axis=1)
        else:
            redundancy = np.zeros(len(left))
        value = (1 - diversity) * scores[left] - diversity * redundancy
        best = left[int(np.argmax(value))]
        chosen.append(best)
        left.remove(best)
    return chosen


class KeyphraseExtractor(EmbeddingAnalyser):
    """Key phrases from the prepared parse, ranked on the prepared vectors."""

    name = "keyphrases"

    @property
    def model_name(self) -> str:
        return f"{VERSION} ({self.embedder.name})"

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> Inputs:
        opts = checked(KeyphrasesOptions, options)
        require_english(doc, analyser="keyphrase ranking")
        require_parse(doc, analysis="keyphrases")
        spans = [s for s in doc.sentences if s.end <= doc.parse.end]
        texts = [doc.text[s.start : s.end].strip() for s in spans]
        kept = [(t, float(len(t))) for t in texts if t]
        if doc.title and doc.title.strip():  # the title weighs as much as an average sentence
            mean = float(np.mean([w for _, w in kept])) if kept else 1.0
            kept.append((doc.title.strip(), mean))
        return Inputs(
            sentences=[t for t, _ in kept],
            weights=[w for _, w in kept],
            candidates=candidates(doc, most=max(SHORTLIST, SHORTLIST_PER_PHRASE * opts.top_k)),
            parser=doc.parse.model,
            parsed_to=doc.parse.end,
        )

    def extra_texts(self, inputs: Inputs) -> Sequence[str]:
        return [c.text for c in inputs.candidates]

    def postprocess(
        self, doc: Document, outputs: tuple[Inputs, np.ndarray], options: Mapping[str, Any]
    ) -> Result:
        inputs, vectors = outputs
        opts = checked(KeyphrasesOptions, options)
        vectors = np.asarray(vectors, dtype=np.float32)
        rows = len(inputs.sentences)
        article, phrases = vectors[:rows], vectors[rows:]
        chosen: list[int] = []
        scores = np.zeros(len(inputs.candidates))
        if rows and len(inputs.candidates):
            centre = (np.asarray(inputs.weights)[:, None] * article).sum(axis=0)
            centre /= np.linalg.norm(centre) or 1.0
            scores = relevance(phrases @ centre, inputs.candidates)
            chosen = mmr(scores, phrases, top_k=opts.top_k, diversity=opts.diversity)
        parsed = [s for s in doc.sentences if s.end <= inputs.parsed_to]
        return {
            "keyphrases": [self._phrase(inputs.candidates[i], float(scores[i])) for i in chosen],
            "keyphrases_total": len(inputs.candidates),
            "model": self.model_name,
            "parser": inputs.parser,
            "coverage": coverage(doc.text, parsed),
        }

    @staticmethod
    def _phrase(candidate: Candidate, score: float) -> dict[str, Any]:
        spans = sorted(candidate.spans)
        return {
            "text": candidate.text,
            "score": round(score, 4),
            "count": len(spans),
            "entity": candidate.entity,
            "spans": [{"start": a, "end": b} for a, b in spans],
        }
