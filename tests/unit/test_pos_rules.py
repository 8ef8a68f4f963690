"""PosRules gives every token the part of speech spaCy's attribute ruler gives it, and the
parse built with it finds the same noun chunks and speech cues as one built with the ruler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copydesk.core.settings import Settings
from copydesk.prepare.parser import Budget, get_parser
from copydesk.prepare.pos_rules import PosRules
from copydesk.prepare.text import prepare

FIXTURES = Path(__file__).parents[1] / "fixtures"
SEED = (Path(__file__).parent / "fixtures" / "seed_article.txt").read_text()


def texts() -> list[str]:
    """The seed article and the quote fixture's 56 BBC stories: about 18,000 tokens."""
    stories = json.loads((FIXTURES / "quotes_fixture.json").read_text())["articles"]
    return [SEED, *(story["text"] for story in stories)]


@pytest.fixture(scope="module")
def parser():  # noqa: ANN201
    return get_parser(Settings().parser_model)


def test_every_token_gets_the_rulers_part_of_speech(parser) -> None:  # noqa: ANN001
    nlp = parser.nlp
    assert parser.replaced == ["attribute_ruler"] and parser.pos_rules is not None
    tokens = differ = 0
    for text in texts():
        ruled = nlp(text)
        looked_up = nlp(text, disable=["attribute_ruler"])
        assert {t.pos_ for t in looked_up} <= {""}  # nothing else sets it
        parser.pos_rules.apply(looked_up)
        tokens += len(ruled)
        differ += sum(a.pos_ != b.pos_ for a, b in zip(ruled, looked_up, strict=True))
    assert tokens > 15_000 and differ == 0


def test_the_parse_finds_what_it_found_with_the_ruler(parser) -> None:  # noqa: ANN001
    with_ruler = replace_parser_rules(parser)
    for text in texts()[:20]:
        doc = prepare(text=text, html=None, title=None, language=None)
        fast, slow = parser.parse(doc, Budget()), with_ruler.parse(doc, Budget())
        assert fast.chunks == slow.chunks and fast.cues == slow.cues
        assert fast.mentions == slow.mentions and fast.chunks


def replace_parser_rules(parser):  # noqa: ANN001, ANN201
    """The same parser running spaCy's attribute ruler itself."""
    slow = object.__new__(type(parser))
    slow.__dict__.update(parser.__dict__)
    slow.pos_rules, slow.replaced = None, []
    return slow


def test_a_pattern_beyond_the_rules_keeps_the_ruler() -> None:
    rules = [{"patterns": [[{"TAG": "NN", "LENGTH": {">": 3}}]], "attrs": {"POS": "X"}, "index": 0}]
    assert PosRules.from_ruler(rules) is None
    plain = [{"patterns": [[{"TAG": "NN"}]], "attrs": {"POS": "NOUN"}, "index": 0}]
    assert PosRules.from_ruler(plain) is not None


SYNTHETIC = [
    {"patterns": [[{"TAG": "NN"}]], "attrs": {"POS": "NOUN"}, "index": 0},
    {"patterns": [[{"TAG": "VBD"}]], "attrs": {"POS": "VERB"}, "index": 0},
    {"patterns": [[{"TAG": "NN", "LOWER": "nothing"}]], "attrs": {"POS": "PRON"}, "index": 0},
    {"patterns": [[{"LOWER": {"IN": ["was", "had"]}}]], "attrs": {"POS": "AUX"}, "index": 0},
    {"patterns": [[{"TAG": {"NOT_IN": ["NN", "VBD", ""]}}]], "attrs": {"POS": "X"}, "index": 0},
    {"patterns": [[{"ORTH": "Nothing", "DEP": "nsubj"}]], "attrs": {"POS": "PROPN"}, "index": 0},
    {"patterns": [[{"IS_SPACE": True}]], "attrs": {"POS": "SPACE"}, "index": 0},
    {"patterns": [[{"TAG": "NN"}]], "attrs": {"LEMMA": "thing"}, "index": 0},  # not POS
    # two tokens, anchored on the second: a spanning rule at the doc's start and end
    {"patterns": [[{"LOWER": "it"}, {"LOWER": "was"}]], "attrs": {"POS": "VERB"}, "index": 1},
    {"patterns": [[{"TAG": "VBD"}, {"TAG": "NN"}]], "attrs": {"POS": "ADV"}, "index": 0},
]
"""Rules that overlap every way: a later rule overrides an earlier one by word, by set, by
exclusion, by dependency and across two tokens (the ruler's order), and one sets no POS."""


@pytest.mark.parametrize(
    ("words", "tags", "deps", "heads"),
    [
        (["it", "was", "Nothing"], ["PRP", "VBD", "NN"], ["nsubj", "ROOT", "attr"], [1, 1, 1]),
        (
            ["Nothing", "had", " ", "it"],
            ["NN", "VBD", "_SP", "PRP"],
            ["nsubj", "ROOT", "dep", "dobj"],
            [1, 1, 1, 1],
        ),
        (["was"], ["VBD"], ["ROOT"], [0]),
        (
            ["said", "nothing", "it", "was"],
            ["VBD", "NN", "PRP", "VBD"],
            ["ROOT", "dobj", "nsubj", "ccomp"],
            [0, 0, 3, 0],
        ),
    ],
)
def test_rules_that_overlap_give_what_the_ruler_gives(parser, words, tags, deps, heads) -> None:  # noqa: ANN001
    import spacy  # loaded by the parser fixture, without torch
    from spacy.tokens import Doc

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.add_patterns(SYNTHETIC)
    rules = PosRules.from_ruler(ruler.patterns)
    assert rules is not None
    spaces = [False] * len(words)
    ruled = ruler(Doc(nlp.vocab, words=words, spaces=spaces, tags=tags, deps=deps, heads=heads))
    mine = Doc(nlp.vocab, words=words, spaces=spaces, tags=tags, deps=deps, heads=heads)
    rules.apply(mine)
    assert [t.pos_ for t in mine] == [t.pos_ for t in ruled]
    assert any(t.pos_ for t in mine)


def test_rules_naming_too_many_values_for_one_table_keep_the_ruler() -> None:
    many = [
        {"patterns": [[{"TAG": f"T{i}", "LOWER": f"w{i}"}]], "attrs": {"POS": "X"}, "index": 0}
        for i in range(2_001)
    ]
    assert PosRules.from_ruler(many) is None
    assert PosRules.from_ruler(many[:1_000]) is not None
