"""Quotes: a test per quotation-mark pattern and per speaker rule, then the real parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from copydesk.analyse.canonical import merge
from copydesk.analyse.quotes import Quote, QuoteFinder, Speakers, attribute, quotations
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.core.errors import AnalysisError
from copydesk.core.document import Span
from copydesk.core.parse import Cue, Mention
from copydesk.core.settings import Settings
from copydesk.prepare.stage import PrepareStage

SEED = (Path(__file__).parents[1] / "fixtures" / "seed_article.txt").read_text()


def quoted(text: str) -> list[str]:
    return [text[a:b] for a, b in quotations(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“We will win this war,” he said.", ["“We will win this war,”"]),
        ('"We will win this war," he said.', ['"We will win this war,"']),
        ("«Nous allons gagner cette guerre», dit-il.", ["«Nous allons gagner cette guerre»"]),
        # a quote inside a quote stays inside
        ("“He said ‘don’t worry dad’ to me,” she said.", ["“He said ‘don’t worry dad’ to me,”"]),
        # a scare quote or a name is not a quote
        ("the so-called “Omar the Chechen” led them", []),
        # two quotes in a paragraph
        (
            "“This is the first quote here.” Then: “This is the second one here.”",
            ["“This is the first quote here.”", "“This is the second one here.”"],
        ),
    ],
)
def test_quotation_marks(text: str, expected: list[str]) -> None:
    assert quoted(text) == expected


def test_a_quote_runs_across_paragraphs_that_reopen_it() -> None:
    curly = "“The first paragraph of it goes on\n\n“and the second one closes it now.”"
    assert quoted(curly) == [curly]
    straight = '"The first paragraph of it goes on\n\n"and the second one closes it now."'
    assert quoted(straight) == [straight]


def test_a_stray_mark_does_not_swallow_the_next_paragraphs() -> None:
    text = "He wrote “a stray mark and no end\n\nNext paragraph. “A real quote of words.”"
    assert quoted(text) == ["“A real quote of words.”"]


def cue(start: int, end: int, sentence: int = 0, *, subject=(-1, -1), content=(-1, -1)) -> Cue:
    return Cue(start, end, *subject, *content, sentence)


def test_a_quote_takes_the_nearest_cue_outside_it() -> None:
    text = "“He said we will win this war,” Temur said."
    said_inside, said_after = cue(4, 8), cue(text.rindex("said"), len(text) - 1)
    span = quotations(text)[0]
    assert attribute(*span, [said_inside, said_after], lambda offset: 0) == said_after


def test_a_cue_too_far_away_is_not_the_quotes() -> None:
    text = "“We will win this war.” " + "x " * 100 + "Temur said."
    far = cue(text.rindex("said"), len(text) - 1, sentence=3)
    sentence_of = lambda offset: 0 if offset < 30 else 3  # noqa: E731
    assert attribute(*quotations(text)[0], [far], sentence_of) is None


def test_a_cue_whose_clause_holds_the_quote_wins() -> None:
    text = "Scholz warned: “This is not over yet, friends.” Merz said nothing."
    start, end = quotations(text)[0]
    warned = cue(7, 13, content=(start + 1, end - 1))
    said = cue(text.index("said"), text.index("said") + 4)
    assert attribute(start, end, [said, warned], lambda offset: 0) == warned


@pytest.fixture(scope="module")
def stage() -> PrepareStage:
    return PrepareStage(AnalyserRegistry(Settings()))


def run(stage: PrepareStage, text: str, options=None) -> list[dict]:
    prepared = stage.text({"text": text}, analyses=["quotes"], options={"quotes": {}})
    assert not prepared.failures
    return QuoteFinder()(prepared.doc, options or {})["quotes"]


def speakers(quotes: list[dict]) -> list[str | None]:
    return [q["speaker"]["name"] if q["speaker"] else None for q in quotes]


def test_pronouns_and_continuations_resolve_to_the_last_named_speaker(stage) -> None:
    text = (
        "“We will rebuild every bridge in the city,” Olaf Scholz said on Monday.\n\n"
        "“It will take years, not months,” he told reporters.\n\n"
        "“And it will cost a great deal of money.”"
    )
    quotes = run(stage, text)
    assert [q["type"] for q in quotes] == ["direct", "direct", "direct"]
    assert speakers(quotes) == ["Olaf Scholz", "Olaf Scholz", "Olaf Scholz"]
    assert quotes[1]["cue"]["text"] == "told" and quotes[1]["attribution"]["text"] == "he"
    assert quotes[2]["cue"] is None  # it goes on from the quote before
    for quote in quotes:
        assert text[quote["start"] : quote["end"]] == quote["text"]


def test_a_pronoun_after_another_person_is_ambiguous(stage) -> None:
    text = (
        "“We will rebuild every bridge in the city,” Olaf Scholz said on Monday. "
        "Friedrich Merz disagreed strongly.\n\n"
        "“It will take years, not months,” he told reporters."
    )
    assert speakers(run(stage, text)) == ["Olaf Scholz", None]


def test_a_surname_speaks_for_the_whole_name(stage) -> None:
    text = (
        "Olaf Scholz visited the harbour on Monday.\n\n"
        "“We will rebuild every bridge in the city,” Scholz said."
    )
    assert speakers(run(stage, text)) == ["Olaf Scholz"]


def test_an_unnamed_source_has_no_speaker_but_its_attribution(stage) -> None:
    quotes = run(stage, "“The talks will resume next week,” an official said.")
    assert quotes[0]["speaker"] is None
    assert quotes[0]["attribution"]["text"] == "an official"


def test_indirect_speech_and_its_option(stage) -> None:
    text = "The minister said that the talks would resume on Monday in Geneva."
    quotes = run(stage, text)
    assert [(q["type"], q["text"]) for q in quotes] == [
        ("indirect", "that the talks would resume on Monday in Geneva")
    ]
    assert run(stage, text, {"indirect": False}) == []


def test_the_seed_article_quotes_temur_batirashvili(stage) -> None:
    quotes = run(stage, SEED)
    direct = [q for q in quotes if q["type"] == "direct"]
    assert direct[0]["text"].startswith("“He said ‘don’t worry dad")
    assert speakers(direct[:2]) == ["Temur Batirashvili", "Temur Batirashvili"]


@pytest.mark.parametrize("options", [{"indirect": "yes"}, {"speakers": True}])
def test_bad_options_fail_the_analysis(stage, options) -> None:
    prepared = stage.text({"text": SEED}, analyses=["quotes"], options={"quotes": {}})
    with pytest.raises(AnalysisError):
        QuoteFinder().preprocess(prepared.doc, options)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a straight quote reopened after a sentence goes on: its paragraphs were joined
        (
            'She said: "We have doubled it already. "We will double it again." Then she left.',
            ['"We have doubled it already. "We will double it again."'],
        ),
        # a mark after a space opens, before one closes: a stray one does not shift the rest
        (
            'A "stray mark in the words here and then "a real quote of words," he said.',
            ['"a real quote of words,"'],
        ),
        # three words are a quote; capitalised words alone are a name or a title
        ('It was a "very serious matter", he said.', ['"very serious matter"']),
        ('Originally dubbed "Jerry\'s Guide to the World Wide Web" the firm grew.', []),
    ],
)
def test_straight_marks_and_short_quotes(text: str, expected: list[str]) -> None:
    assert quoted(text) == expected


def test_a_quote_open_at_the_end_of_the_text_runs_to_its_end() -> None:
    text = 'Then she said. "I want somebody there who will do a job there.'
    assert quoted(text) == ['"I want somebody there who will do a job there.']


def test_a_stray_mark_in_an_earlier_paragraph_does_not_run_to_the_end() -> None:
    """Only a quote open in the last paragraph runs to the text's end: a stray mark before
    a paragraph break would swallow the rest (and every indirect quote in it)."""
    text = (
        'He called the plan "a disaster for the town.\n\n'
        "The council said that it would review the plan next week."
    )
    assert quoted(text) == []


def test_a_pronoun_with_no_speaker_before_it_is_the_one_person_just_named(stage) -> None:
    text = (
        "Grant Dean, chair of the committee, praised all the entrants warmly.\n\n"
        "“Without a doubt, this has been a landmark year for us,” he added."
    )
    assert speakers(run(stage, text)) == ["Grant Dean"]


def test_a_pronoun_after_two_people_named_together_is_ambiguous(stage) -> None:
    text = (
        "Grant Dean met Olaf Scholz in Berlin on Monday.\n\n"
        "“Without a doubt, this has been a landmark year for us,” he added."
    )
    assert speakers(run(stage, text)) == [None]


@pytest.mark.parametrize(
    "text",
    [
        "“We want a wide variety of people for the roles,” the Canada-based company said.",
        "“It needs to be put in its context now,” the outgoing European Commissioner said.",
    ],
)
def test_a_place_or_nationality_that_qualifies_the_subject_does_not_speak(stage, text) -> None:
    assert speakers(run(stage, text)) == [None]


def test_a_long_subject_that_ends_with_a_surname_names_the_person() -> None:
    text = "Dominic Grieve spoke. But shadow attorney general Mr Grieve said: “Not now, no.”"
    entities = merge(text, [Mention(0, 14, "PERSON", 0)])
    said = text.index("said")
    subject = text.index("shadow")
    quote = Quote(
        text.index("“"), len(text), "direct", cue(said, said + 4, 1, subject=(subject, said - 1))
    )
    speakers = Speakers(text, entities, [Span(0, 21), Span(22, len(text))])
    assert speakers.resolve(quote).name == "Dominic Grieve"


def test_a_name_in_the_attribution_is_no_new_voice_for_the_next_quote() -> None:
    text = "“We started with it,” said Rachel Harker, spokeswoman for Hypertag. “It works well.”"
    entities = merge(text, [Mention(27, 40, "PERSON", 0), Mention(58, 66, "PERSON", 0)])
    said = text.index("said")
    first = Quote(0, 21, "direct", cue(said, said + 4, 0, subject=(27, 40)))
    second = Quote(text.rindex("“"), len(text), "direct")
    speakers = Speakers(text, entities, [Span(0, 67), Span(68, len(text))])
    assert [speakers.resolve(q).name for q in (first, second)] == ["Rachel Harker"] * 2


def test_he_after_a_group_spoke_is_the_person_just_named() -> None:
    text = "The Tories said it was “a grave breach of trust”. Andrew Tyrie spoke. “It is bad,” he said."
    entities = merge(text, [Mention(4, 10, "NORP", 0), Mention(50, 62, "PERSON", 1)])
    said = text.rindex("said")
    he = text.index(" he ") + 1
    first = Quote(23, 48, "direct", cue(11, 15, 0, subject=(0, 10)))
    second = Quote(70, he - 1, "direct", cue(said, said + 4, 2, subject=(he, he + 2)))
    speakers = Speakers(text, entities, [Span(0, 49), Span(50, 69), Span(70, len(text))])
    assert [speakers.resolve(q).name for q in (first, second)] == ["Tories", "Andrew Tyrie"]
