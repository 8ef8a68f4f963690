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
