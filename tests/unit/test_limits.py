"""Every per-article limit holds for hostile input, with its own error code, in linear time."""

from __future__ import annotations

import time

import pytest

from copydesk.analyse.base import coverage
from copydesk.core import errors
from copydesk.prepare.deadline import ChildFailed, DeadlineExceeded, call_with_deadline
from copydesk.prepare.html import count_tags
from copydesk.prepare.text import Limits, prepare, split_sentences


def test_text_past_the_analysed_limit_is_kept_but_not_analysed() -> None:
    text = "\n\n".join(f"Paragraph {n} says something of some length here." for n in range(60))
    doc = prepare(text=text, limits=Limits(max_chars=1000))
    assert doc.text == text  # the client still gets all of it from /text
    last = doc.sentences[-1]
    assert last.end <= 1000 and doc.text[last.start : last.end].endswith("here.")
    assert doc.meta["analysed_characters"] == last.end
    assert coverage(doc.text, doc.sentences) == round(
        len("".join(doc.text[: last.end].split())) / len("".join(text.split())), 4
    )
    assert coverage(doc.text, doc.sentences) < 0.5


def test_too_many_sentences_fails_with_its_code() -> None:
    with pytest.raises(errors.TooManySentences) as raised:
        prepare(text="We go to the park. " * 50, limits=Limits(max_sentences=20))
    assert raised.value.extra["sentences"] == 50


def test_too_large_html_fails_before_parsing() -> None:
    with pytest.raises(errors.HtmlTooLarge):
        prepare(html="<p>x</p>" * 200, limits=Limits(max_html_chars=1000))


def test_a_page_of_too_many_tags_fails_before_parsing() -> None:
    page = "<html><body>" + "<p>A line of the page.</p>" * 200 + "</body></html>"
    with pytest.raises(errors.HtmlTooComplex) as raised:
        prepare(html=page, limits=Limits(max_html_tags=150))
    assert raised.value.code == "html_too_complex" and raised.value.extra["limit"] == 150
    assert "A line of the page." in prepare(html=page, limits=Limits(max_html_tags=202)).text


def test_tags_are_counted_outside_scripts_and_styles_and_the_count_stops() -> None:
    assert count_tags("<p>a</p><P>b<br/>c", stop_after=100) == 3
    script = '<script>if (a<b) { html = "<div><span>"; }</SCRIPT >'
    assert count_tags(script + "<style>a<b{}</style><p>x", stop_after=100) == 3
    # the fallback reader parses markup inside <title> and <textarea>, so it counts
    assert count_tags("<title>1 < 2 <b></title><textarea><i></textarea>", stop_after=100) == 4
    assert count_tags("<textarea>" + "<p>x" * 1000, stop_after=500) == 501  # no way around it
    assert count_tags("<script>never closed <p><p><p>", stop_after=100) == 1
    assert count_tags("a < b, 3<4, <-- not tags <!-- comment --> </p>", stop_after=100) == 0
    assert count_tags("<p>x" * 1_000_000, stop_after=500) == 501


def test_a_sentence_without_punctuation_is_cut_at_spaces_into_bounded_pieces() -> None:
    text = " ".join(f"word{i}" for i in range(3000))
    spans = split_sentences(text, max_chars=500)
    assert all(span.end - span.start <= 500 for span in spans)
    assert " ".join(text[s.start : s.end] for s in spans) == text  # nothing dropped
    assert all(text[s.start] != " " and text[s.end - 1] != " " for s in spans)


def test_one_unbroken_token_is_cut_hard() -> None:
    text = "a" * 10_000
    spans = split_sentences(text, max_chars=1500)
    assert [s.end - s.start for s in spans] == [1500] * 6 + [1000]


def test_hostile_texts_prepare_in_linear_time() -> None:
    hostile = {
        "token": "a" * 900_000,
        "park": "We go to the park. " * 45_000,
        "links": "\n".join(f"Read more: https://example.com/story/{i}" for i in range(50_000)),
        "punctuation": "!?." * 200_000,
    }
    limits = Limits(max_chars=1_000_000, max_sentences=1_000_000)
    for name, text in hostile.items():
        began = time.perf_counter()
        try:
            prepare(text=text, limits=limits)
        except errors.AnalysisError:
            pass
        assert time.perf_counter() - began < 20, name


def test_html_extraction_past_its_deadline_falls_back_to_the_tag_strip() -> None:
    html = "".join(f"<p>Paragraph {i} says the council met." for i in range(30_000))
    doc_limits = Limits(html_timeout_seconds=0.5, max_sentences=10**6, max_chars=10**7)
    began = time.perf_counter()
    doc = prepare(html=html, limits=doc_limits)
    assert time.perf_counter() - began < 15
    assert doc.meta["extraction"] == "tag-strip (extraction deadline)"
    assert len(doc.sentences) == 30_000 and "Paragraph 29999 says" in doc.text


def test_a_page_of_bare_tags_is_an_empty_article_not_a_crash() -> None:
    with pytest.raises(errors.EmptyArticle):
        prepare(
            html="<p>x" * 150_000, limits=Limits(html_timeout_seconds=0.5, max_html_tags=200_000)
        )


def test_deadline_returns_the_childs_value_or_raises() -> None:
    assert call_with_deadline(lambda: sum(range(10)), seconds=5) == 45
    with pytest.raises(DeadlineExceeded):
        call_with_deadline(lambda: time.sleep(5), seconds=0.2)
    with pytest.raises(ChildFailed, match="ZeroDivisionError"):
        call_with_deadline(lambda: 1 / 0, seconds=5)


def test_too_many_encoder_tokens_fails_before_embedding() -> None:
    from copydesk.prepare.stage import PrepareStage
    from copydesk.analyse.registry import AnalyserRegistry
    from copydesk.core.settings import Settings

    stage = PrepareStage(AnalyserRegistry(Settings(max_tokens=1000)))
    english = "The council approved a new budget for the schools and the roads. " * 40
    text = english + "\n\n" + "這是一個很長的句子，關於學校和道路的預算。" * 200  # ~1 token a glyph
    with pytest.raises(errors.TooManyTokens) as raised:
        stage({"text": text}, analyses=["topics"], options={"topics": {}})
    assert raised.value.extra["tokens"] > 1000


def test_a_bad_label_example_fails_topics_alone() -> None:
    from copydesk.prepare.stage import PrepareStage
    from copydesk.analyse.registry import AnalyserRegistry
    from copydesk.core.settings import Settings

    stage = PrepareStage(AnalyserRegistry(Settings()))
    labels = ["sport", {"label": "tech", "examples": ["A new phone was launched today.", "..."]}]
    prepared = stage(
        {"text": "The striker scored twice as United beat City in the cup final."},
        analyses=["summary", "topics"],
        options={"summary": {}, "topics": {"labels": labels}},
    )
    assert list(prepared.failures) == ["topics"]
    assert "example 2 of label 'tech' has no sentences" in str(prepared.failures["topics"])
    assert list(prepared.embedded) == ["summary"] and prepared.vectors is not None
