"""Pick an article's key phrases: the noun phrases and entities it names most, told apart.

Candidates come from the parse the prepare stage made once (noun chunks and entity
mentions, merged as ``copydesk.analyse.canonical`` merges entities), so this analysis loads
no model. A candidate's score is how often the article names it:

    score(c) = log(1 + count(c)) / log(1 + the most any candidate has)

and candidates are chosen by maximal marginal relevance, which trades that score against
the words a candidate shares with the phrases already chosen:

    next = argmax over candidates c of (1 - diversity) * score(c) - diversity * max_s overlap(c, s)

where overlap is the share of their words in common (``key``'s words, Jaccard), so "Chechen
fighters" does not crowd out everything else with "Chechen militants" and "fighters". Ties
go to the more frequent candidate, then the first written.

Until /3 the score also held each candidate's cosine closeness to the article, with the
candidates embedded beside the sentences (a second encoder pass, about 20 ms an article):
on the dev split of bench/quality_keyphrases.py it chose no better (F1@10 0.437 exact,
0.579 partial with it; 0.470 and 0.568 without).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from copydesk.analyse.base import Analyser, Result, coverage, require_parse
from copydesk.analyse.canonical import TYPES, merge
from copydesk.analyse.embedded import require_english
from copydesk.core.document import Document
from copydesk.core.options import KeyphrasesOptions, checked

VERSION = "copydesk-keyphrases/4"  # /4: scored by frequency and word overlap, not embedded
SHORTLIST: Final = 30
SHORTLIST_PER_PHRASE: Final = 3
"""Candidates ranked per article: the most frequent, then the first, max(SHORTLIST,
SHORTLIST_PER_PHRASE x top_k) of them. On the dev split of bench/quality_keyphrases.py the
30 most frequent chose what 200 did (with top_k 10), when each was embedded (/3)."""
MAX_WORDS: Final = 6

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
    """The shortlisted candidates, how many to choose and how diverse, and the parse's reach."""

    candidates: list[Candidate]
    top_k: int
    diversity: float
    parser: str
    parsed_to: int


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


def relevance(found: Sequence[Candidate]) -> np.ndarray:
    """Each candidate's score: how often the article names it (the module docstring's)."""
    counts = np.array([len(c.spans) for c in found], dtype=np.float64)
    return np.log1p(counts) / np.log1p(counts.max()) if len(found) else counts


def overlap(found: Sequence[Candidate]) -> np.ndarray:
    """The share of words each two candidates have in common (Jaccard over ``key``)."""
    words = [set(key(c.text)) for c in found]
    vocabulary = {word: at for at, word in enumerate(set().union(*words))}
    holds = np.zeros((len(found), len(vocabulary)))
    for row, these in enumerate(words):
        holds[row, [vocabulary[w] for w in these]] = 1.0
    common = holds @ holds.T
    sizes = holds.sum(axis=1)
    either = sizes[:, None] + sizes[None, :] - common
    return np.divide(common, either, out=np.zeros_like(common), where=either > 0)


def mmr(scores: np.ndarray, similar: np.ndarray, *, top_k: int, diversity: float) -> list[int]:
    """Indices chosen by maximal marginal relevance (the module docstring's rule), given each
    two candidates' ``similar``ity; the first of equals wins."""
    chosen: list[int] = []
    left = list(range(len(scores)))
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


class KeyphraseExtractor(Analyser):
    """Key phrases from the prepared parse: its most named phrases, told apart by their words."""

    name = "keyphrases"
    model_name = VERSION

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> Inputs:
        opts = checked(KeyphrasesOptions, options)
        require_english(doc, analyser="keyphrase ranking")
        require_parse(doc, analysis="keyphrases")
        return Inputs(
            candidates=candidates(doc, most=max(SHORTLIST, SHORTLIST_PER_PHRASE * opts.top_k)),
            top_k=opts.top_k,
            diversity=opts.diversity,
            parser=doc.parse.model,
            parsed_to=doc.parse.end,
        )

    def _forward(self, inputs: Inputs) -> tuple[Inputs, list[int], np.ndarray]:
        """Score the candidates and choose among them: the chosen indices and every score."""
        scores = relevance(inputs.candidates)
        similar = overlap(inputs.candidates)
        chosen = mmr(scores, similar, top_k=inputs.top_k, diversity=inputs.diversity)
        return inputs, chosen, scores

    def postprocess(
        self,
        doc: Document,
        outputs: tuple[Inputs, list[int], np.ndarray],
        options: Mapping[str, Any],
    ) -> Result:
        inputs, chosen, scores = outputs
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
