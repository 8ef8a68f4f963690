"""Find base noun phrases from part-of-speech tags, without a dependency parse.

spaCy's English noun chunks read the dependency parse: a noun, proper noun or pronoun that
is a subject, object, attribute or apposition, with everything to its left in its subtree.
The keyphrase candidates are those chunks, and the parser costs about 15 ms of a 600-token
article; speech cues need it only in the sentences with a speech verb (fewer than half). A
base noun phrase is nearly always a run of tags:

    (determiner)? (modifier | noun | noun + possessive | hyphen)* noun

where a modifier is an adjective, a number, or a participle after a determiner ("the
proposed law"), each with its adverbs ("the most powerful man"). ``CLASSES`` reads each
fine-grained (Penn Treebank) tag as one letter and ``PHRASE`` is the pattern over them.
Pronouns are left out: no key phrase is one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

import numpy as np

CLASSES: Final = {
    "DT": "D",
    "PDT": "D",
    "PRP$": "D",
    "WP$": "D",
    "JJ": "A",
    "JJR": "A",
    "JJS": "A",
    "CD": "A",
    "VBN": "V",
    "VBG": "V",
    "NN": "N",
    "NNS": "N",
    "NNP": "N",
    "NNPS": "N",
    "POS": "P",
    "HYPH": "H",
    "RB": "R",
    "RBR": "R",
    "RBS": "R",
}
"""Each tag's class: Determiner, Adjective or number, participle (Verb), Noun, Possessive,
Hyphen, adveRb; any other tag is "x" and ends a phrase."""

PHRASE: Final = re.compile(
    r"(?:D?(?:R*A|N|(?<=[ANV])H|(?<=[DANH])V)*NP|D)?(?:R*A|N|(?<=[ANV])H|(?<=[DANH])V)*N"
)
"""A base noun phrase over the letters of ``CLASSES``, longest first."""


class TagChunker:
    """Base noun phrases of a tagged doc as token ranges, from ``PHRASE``."""

    def __init__(self) -> None:
        self._letters: dict[int, str] | None = None

    def chunks(self, doc: Any) -> Iterator[tuple[int, int]]:
        """Each base noun phrase's first token and the token after it."""
        if self._letters is None:  # spaCy hashes a string the same in every vocab
            strings = doc.vocab.strings
            self._letters = {int(strings[tag]): letter for tag, letter in CLASSES.items()}
        letters = self._letters
        tags = doc.to_array("TAG")
        line = "".join(letters.get(int(tag), "x") for tag in np.asarray(tags).tolist())
        for found in PHRASE.finditer(line):
            yield found.start(), found.end()
