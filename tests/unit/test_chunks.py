"""Base noun phrases from tags: one case per part of ``chunks.PHRASE``, and on real stories
nearly the phrases spaCy's noun chunks find with the dependency parse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copydesk.analyse.keyphrases import trim
from copydesk.core.settings import Settings
from copydesk.prepare.chunks import TagChunker
from copydesk.prepare.parser import get_parser

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def nlp():  # noqa: ANN201
    return get_parser(Settings().parser_model).nlp  # spaCy, imported without torch


@pytest.mark.parametrize(
    ("tagged", "phrases"),
    [
        ("the/DT city/NN", ["the city"]),  # a determiner and a noun
        ("European/NNP Central/NNP Bank/NNP", ["European Central Bank"]),  # a run of nouns
        ("three/CD new/JJ laws/NNS", ["three new laws"]),  # numbers and adjectives
        ("the/DT most/RBS powerful/JJ man/NN", ["the most powerful man"]),  # adverbs
        ("the/DT government/NN 's/POS response/NN", ["the government 's response"]),
        ("Russian/JJ -/HYPH speaking/VBG jihadists/NNS", ["Russian - speaking jihadists"]),
        ("the/DT proposed/VBN law/NN", ["the proposed law"]),  # a participle after a word
        ("has/VBZ seen/VBN people/NNS", ["people"]),  # a verb's participle is no modifier
        ("apples/NNS and/CC oranges/NNS", ["apples", "oranges"]),  # coordination splits
        ("-/HYPH Outstanding/JJ achievement/NN", ["Outstanding achievement"]),  # no opening dash
        ("he/PRP said/VBD it/PRP", []),  # pronouns are no key phrase
        ("the/DT big/JJ", []),  # no noun, no phrase
    ],
)
def test_each_pattern(nlp, tagged: str, phrases: list[str]) -> None:  # noqa: ANN001
    from spacy.tokens import Doc

    words, tags = zip(*(item.rsplit("/", 1) for item in tagged.split()), strict=True)
    doc = Doc(nlp.vocab, words=list(words), tags=list(tags))
    assert [doc[a:b].text for a, b in TagChunker().chunks(doc)] == phrases


def test_real_stories_give_nearly_the_dependency_parses_noun_chunks(nlp) -> None:  # noqa: ANN001
    """On the quote fixture's stories, most trimmed candidates are the same either way (86%
    of each side's in the news bench's; the remainder are time expressions such as "last
    year", which the recogniser's dates take out of key phrases, and split or joined names)."""
    stories = json.loads((FIXTURES / "quotes_fixture.json").read_text())["articles"][:20]
    chunker, same, by_parse, by_tags = TagChunker(), 0, 0, 0
    for doc in nlp.pipe(story["text"] for story in stories):
        parsed = {trim(c.text, c.start_char) for c in doc.noun_chunks} - {None}
        tagged = {trim(doc[a:b].text, doc[a].idx) for a, b in chunker.chunks(doc)} - {None}
        same, by_parse, by_tags = (
            same + len(parsed & tagged),
            by_parse + len(parsed),
            by_tags + len(tagged),
        )
    assert by_parse > 1_000 and same / by_parse > 0.85 and same / by_tags > 0.85
