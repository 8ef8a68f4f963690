"""Check text preparation: what every analysis reads, and the offsets clients slice with."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from copydesk.prepare import language as language_module
from copydesk.prepare import text as text_module
from copydesk.core.document import Document, Span
from copydesk.core.errors import EmptyArticle, NotProse
from copydesk.prepare.language import detect_language
from copydesk.prepare.text import normalise, prepare, split_sentences

FIXTURES = Path(__file__).parent / "fixtures"
SEED = (FIXTURES / "seed_article.txt").read_text(encoding="utf-8")
NEWS_PAGE = (FIXTURES / "news_page.html").read_text(encoding="utf-8")
SEED_TITLE = "IS Chechen commander vows to revenge Russia"


def assert_spans_valid(doc: Document) -> None:
    """Assert the span contract every analysis relies on."""
    previous_end = 0
    for span in doc.sentences:
        sentence = doc.text[span.start : span.end]
        assert 0 <= previous_end <= span.start < span.end <= len(doc.text)
        assert sentence == sentence.strip(), repr(sentence)
        assert "\n" not in sentence, "a sentence crosses a paragraph or line"
        previous_end = span.end
    covered = "".join(doc.sentence_texts())
    assert "".join(covered.split()) == "".join(doc.text.split()), "text lost between spans"


# --- the seed article (a real scraped page) -------------------------------------------------


def seed_paragraphs() -> list[str]:
    body = SEED.split("\n\n")[2:8]
    assert body[0].startswith("PanARMENIAN.Net - When the Islamic State commander")
    assert body[-1].endswith("a subgroup of the nation.")
    return body


def test_seed_keeps_every_article_paragraph_in_order():
    doc = prepare(text=SEED)
    assert doc.text == "\n\n".join(seed_paragraphs())


def test_seed_drops_title_copies_and_keeps_the_title_on_the_document():
    doc = prepare(text=SEED)
    assert SEED_TITLE not in doc.text
    assert doc.title == SEED_TITLE
    assert doc.meta["removed"]["title_repeats"] == 2


@pytest.mark.parametrize(
    "furniture", ["Top stories", "Partner news", "Azerbaijani", "earthquake", "compatriot", "---"]
)
def test_seed_drops_the_trailing_link_list(furniture):
    assert furniture not in prepare(text=SEED).text


def test_seed_meta_language_and_sentences():
    doc = prepare(text=SEED)
    assert doc.language == "en"
    assert doc.meta == {
        "language_hint": None,
        "language_detected": "en",
        "source": "text",
        "extraction": "text",
        "removed": {
            "title_repeats": 2,
            "boilerplate_lines": 7,
            "lines": 9,
            "characters": sum(len(line.strip()) for line in SEED.split("\n"))
            - sum(len(p) for p in seed_paragraphs()),
        },
        "cleaned": True,
        "analysed_characters": len(doc.text),
        "original_characters": len(SEED),
    }
    sentences = doc.sentence_texts()
    assert sentences[0].startswith("PanARMENIAN.Net - When the Islamic State commander")
    assert sentences[0].endswith("Bloomberg reports.")
    assert any(s.startswith("As the U.S. and European countries assess") for s in sentences)
    assert sentences[-1] == (
        "It’s home to about 11,000 Georgians, Chechens and Kists, a subgroup of the nation."
    )
    assert_spans_valid(doc)


def test_seed_with_the_same_title_given_keeps_no_copy():
    doc = prepare(text=SEED, title=SEED_TITLE.upper())
    assert doc.title == SEED_TITLE.upper()
    assert SEED_TITLE.casefold() not in doc.text.casefold()
    assert doc.text.startswith("PanARMENIAN.Net - When")


# --- HTML ---------------------------------------------------------------------------------


def test_html_page_yields_only_the_article():
    doc = prepare(html=NEWS_PAGE)
    assert doc.text.startswith("The harbour city of Westmere on Thursday opened")
    assert doc.text.endswith("two metres above the normal tide.")
    assert doc.text.count("\n\n") == 4, "one blank line between the five paragraphs"
    for furniture in [
        "Related articles",
        "Storm season",
        "Most read",
        "Celebrity chef",
        "cookies",
        "Subscribe",
        "Follow us",
        "©",
        "Privacy policy",
        "Lindqvist",
        "dataLayer",
    ]:
        assert furniture not in doc.text
    assert doc.title == "Harbour city opens flood barrier after decade of work"
    assert doc.meta["source"] == "html"
    assert doc.meta["original_characters"] == len(NEWS_PAGE)
    assert doc.language == "en"
    assert "Dr. Samuel Achebe, a coastal engineer" in doc.sentence_texts()[5]
    assert_spans_valid(doc)


def test_html_client_title_wins_over_page_title():
    doc = prepare(html=NEWS_PAGE, title="Westmere barrier")
    assert doc.title == "Westmere barrier"
    assert "Harbour city opens flood barrier" not in doc.text


def test_html_without_main_content_falls_back_to_visible_text():
    page = (
        "<html><head><title>Scores</title><style>td{}</style></head><body><table>"
        "<tr><td>Cell one text.</td><td>Cell two.</td></tr></table>"
        "<script>track()</script></body></html>"
    )
    doc = prepare(html=page)
    assert doc.text == "Cell one text.\n\nCell two."


@pytest.mark.parametrize("kwargs", [{}, {"text": "a", "html": "<p>a</p>"}])
def test_exactly_one_source_is_required(kwargs):
    with pytest.raises(ValueError):
        prepare(**kwargs)


# --- normalisation ------------------------------------------------------------------------


def test_normalise_composes_unicode_but_keeps_typography():
    kept = "“quoted” ‘single’ – dash … 40 m² ½ ﬁne Ｆull"
    assert normalise("Cafe\u0301 " + kept) == "Café " + kept


def test_normalise_whitespace_newlines_and_invisible_characters():
    raw = (
        "  One\u00a0 two\t\tthree  \r\nzero\u200bwidth\ufeff soft\u00adhyphen\x07\rnext"
        "\n\n\n\n\nPara\u2029two \n"
    )
    assert normalise(raw) == "One two three\nzerowidth softhyphen\nnext\n\nPara\n\ntwo"


def test_normalise_keeps_joiners_that_carry_meaning():
    persian = "می\u200cخواهم"
    assert normalise(persian) == persian


def test_hard_wrapped_lines_are_joined_but_headings_stay():
    doc = prepare(
        text="The council met on Monday to discuss\nthe budget for the coming year.\n\n"
        "Budget 2024\nSpending rises sharply this year."
    )
    assert doc.text == (
        "The council met on Monday to discuss the budget for the coming year.\n\n"
        "Budget 2024\nSpending rises sharply this year."
    )
    assert doc.sentence_texts() == [
        "The council met on Monday to discuss the budget for the coming year.",
        "Budget 2024",
        "Spending rises sharply this year.",
    ]


# --- boilerplate: remove furniture, keep content -------------------------------------------

BYLINED = """Harbour barrier opens

By Maria Lindqvist, Environment correspondent
Updated: Thursday 14 March 2024 09:30 GMT

The harbour city of Westmere on Thursday opened a movable flood barrier.
Photo: Reuters/Jan Berg

Critics argue the money went to waste. Related projects in other cities were cancelled.

Advertisement

The gates will be tested every month. You can read more about it in the council report.
Share this article
Follow us on Twitter
© 2024 The Coastal Herald. All rights reserved.
(Reporting by Maria Lindqvist; Editing by John Smith)"""


def test_bylines_datelines_credits_and_share_lines_go():
    doc = prepare(text=BYLINED)
    assert doc.text == (
        "Harbour barrier opens\n\n"
        "The harbour city of Westmere on Thursday opened a movable flood barrier.\n\n"
        "Critics argue the money went to waste. "
        "Related projects in other cities were cancelled.\n\n"
        "The gates will be tested every month. "
        "You can read more about it in the council report."
    )
    gone = [
        line for n, line in enumerate(BYLINED.split("\n")) if n in {2, 3, 6, 10, 13, 14, 15, 16}
    ]
    assert doc.meta["removed"] == {
        "title_repeats": 0,
        "boilerplate_lines": 8,
        "lines": 8,
        "characters": sum(map(len, gone)),
    }


def test_sentences_that_look_like_bylines_or_dates_stay():
    article = (
        "By Thursday the barrier will be closed for the first time.\n\n"
        "On 14 March 2024 the council voted for the plan, by 31 votes to 12.\n\n"
        "Copyright law was not a concern, the mayor said."
    )
    assert prepare(text=article).text == article


def test_article_mentioning_read_more_and_related_is_not_truncated():
    article = (
        "The council published its review of the harbour on Tuesday.\n\n"
        "Residents can read more about it in the report, which runs to 300 pages.\n\n"
        "Related findings from other ports suggest the costs will rise.\n\n"
        "Read more\n\n"
        "The review says the barrier will need new gates within forty years, and that the "
        "maintenance budget has been underestimated by a third since the project began.\n\n"
        "The council will debate the findings next month before deciding on funding."
    )
    doc = prepare(text=article)
    assert doc.text == article.replace("Read more\n\n", "")
    assert doc.meta["removed"]["boilerplate_lines"] == 1


def test_mid_article_related_heading_before_long_paragraphs_does_not_cut():
    paragraph = "The mayor said the plan would cost more than expected, and others agreed. " * 3
    article = f"{paragraph}\n\nRelated\n\n{paragraph}\n\n{paragraph}\n\n{paragraph}"
    doc = prepare(text=article)
    assert doc.text.count("The mayor said") == 12
    assert "Related" not in doc.text


def test_inline_promo_line_goes_sentence_with_colon_stays():
    doc = prepare(
        text="The council met on Monday.\n"
        "Read more: Council approves new budget for roads\n"
        "Officials said one thing: the plan is final."
    )
    assert doc.text == "The council met on Monday.\nOfficials said one thing: the plan is final."


def test_short_link_list_after_short_article_is_cut():
    article = "The council met on Monday. It approved the harbour plan after a long debate."
    links = "\n".join(f"Headline number {n} about something else" for n in range(12))
    doc = prepare(text=f"{article}\n\nYou may also like\n{links}")
    assert doc.text == article


def test_cookie_notice_goes_but_sentences_about_cookies_stay():
    doc = prepare(
        text="We use cookies to improve your experience. Accept our cookie policy.\n"
        "The regulator said sites that say we use cookies must ask first.\n"
        "It was a long meeting."
    )
    assert doc.text == (
        "The regulator said sites that say we use cookies must ask first.\nIt was a long meeting."
    )


def test_removed_lines_counts_the_lines_sent_when_a_wrap_was_joined_first():
    """A 72-column e-mail article: the wrap is joined before cleaning, so each headline of
    its link list was two lines of the input; the report counts the lines the client sent
    (and their characters, without the spaces the join put in), not the joined ones."""
    import textwrap

    para = (
        "The council voted on Tuesday to close the harbour road for repairs after the "
        "storm damaged its sea wall, and officials said the work would take all winter. "
    )
    body = "\n\n".join(textwrap.fill(para * 2, 72) for _ in range(4))
    headlines = [
        "Ministers promise a new inquiry into the collapse of the northern rail franchise deal",
        "Floods leave hundreds of homes without power across the valley for a third night",
        "Local football club announces the signing of a veteran striker on a two year contract",
        "Scientists report a sharp decline in the number of sea birds nesting on the coast",
        "Train drivers vote to strike over pay in a dispute that has lasted for over a year",
    ]
    links = "Top stories\n" + "\n".join(textwrap.fill(h, 72) for h in headlines)
    text = f"{body}\n\n{links}"
    doc = prepare(text=text)
    assert doc.text == "\n\n".join(" ".join([para.strip()] * 2) for _ in range(4))
    gone = links.split("\n")
    assert len(gone) == 11 and all(line not in doc.text for line in gone)
    sent = [line for line in text.split("\n") if line]
    joined = 4 * (len(textwrap.wrap(para * 2, 72)) - 1)  # body lines joined, not removed
    assert len(sent) - joined - len([ln for ln in doc.text.split("\n") if ln]) == 11
    assert doc.meta["removed"]["lines"] == 11
    assert doc.meta["removed"]["characters"] == sum(map(len, gone))


def test_symbol_only_separator_lines_go():
    doc = prepare(text="First part of the story.\n\n* * *\n\nSecond part of the story.\n***\n---")
    assert doc.text == "First part of the story.\n\nSecond part of the story."


# --- sentence spans ---------------------------------------------------------------------


def test_headings_are_their_own_sentences():
    doc = prepare(
        text="Storm season\nForecasters expect a hard winter. Ports are preparing.\n\n"
        "What happens next\nThe council meets on Friday."
    )
    assert doc.sentence_texts() == [
        "Storm season",
        "Forecasters expect a hard winter.",
        "Ports are preparing.",
        "What happens next",
        "The council meets on Friday.",
    ]


def test_abbreviations_do_not_split_sentences():
    doc = prepare(text="Dr. Smith flew to the U.S. on Jan. 5 and met Mr. Jones. Then he left!")
    assert doc.sentence_texts() == [
        "Dr. Smith flew to the U.S. on Jan. 5 and met Mr. Jones.",
        "Then he left!",
    ]


def test_regex_fallback_splits_sensibly(monkeypatch):
    monkeypatch.setattr(text_module, "PYSBD_BUDGET", 0)
    spans = split_sentences(
        "Dr. Smith went to Washington. The U.S. economy grew 2.5 percent. "
        "“Really?” she asked. 今天天气很好。我们去公园吧！"
    )
    text = (
        "Dr. Smith went to Washington. The U.S. economy grew 2.5 percent. "
        "“Really?” she asked. 今天天气很好。我们去公园吧！"
    )
    assert [text[s.start : s.end] for s in spans] == [
        "Dr. Smith went to Washington.",
        "The U.S. economy grew 2.5 percent.",
        "“Really?” she asked.",
        "今天天气很好。",
        "我们去公园吧！",
    ]


def _random_article(rng: random.Random) -> str:
    pieces = [
        "The U.S. said so.",
        "Dr. Who?",
        "“Quoted,” he said.",
        "Heading line",
        "  ",
        "\n",
        "\n\n",
        "\n\n\n",
        "\t",
        "Wow!!!",
        "e.g. this",
        "3.5 percent",
        "Café",
        "今天天气很好。",
        "…",
        "...",
        "(Photo: AFP)",
        "Related",
        "A\u00a0b",
        "—",
        "\u200b",
        "Ends without punctuation",
        "Mr. Smith",
        "x",
        "?",
        "Ü.",
        "Second sentence here.",
    ]
    return " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 60)))


@pytest.mark.parametrize("seed", range(60))
def test_spans_invariant_on_generated_texts(seed):
    text = _random_article(random.Random(seed))
    try:
        doc = prepare(text=text)
    except EmptyArticle:
        assert not any(c.isalnum() for c in text) or "Related" in text or "(Photo" in text
        return
    except NotProse:  # nothing but symbols: read as sent, since cleaning would empty it
        assert not any(c.isalpha() for c in text)
        return
    assert_spans_valid(doc)


@pytest.mark.parametrize("budget", [0, text_module.PYSBD_BUDGET])
def test_spans_invariant_on_long_text_with_either_splitter(monkeypatch, budget):
    monkeypatch.setattr(text_module, "PYSBD_BUDGET", budget)
    doc = prepare(text="\n\n".join(seed_paragraphs()) * 20)
    assert_spans_valid(doc)
    assert len(doc.sentences) > 200


@pytest.mark.parametrize(
    "post",
    [
        "Pictures: Floods sweep through the city as rivers burst their banks",
        "Foto: Hochwasser in Köln, Tausende Menschen evakuiert",
        "Read more: Floods sweep the city",
    ],
)
def test_a_text_that_cleaning_would_empty_is_read_as_sent(post):
    doc = prepare(text=post)
    assert doc.text == post and doc.sentences
    assert doc.meta["cleaned"] is False
    assert doc.meta["removed"] == {
        "title_repeats": 0, "boilerplate_lines": 0, "lines": 0, "characters": 0
    }  # fmt: skip


def test_a_text_that_repeats_only_its_title_is_read_as_sent():
    doc = prepare(text="Floods sweep the city", title="Floods sweep the city")
    assert doc.text == "Floods sweep the city" and doc.meta["cleaned"] is False


def test_a_page_whose_text_is_all_furniture_is_still_empty():
    with pytest.raises(EmptyArticle):
        prepare(html="<html><body><p>Advertisement</p><p>Share</p></body></html>")


def test_nothing_left_after_cleaning_is_an_empty_article_error():
    with pytest.raises(EmptyArticle) as raised:
        prepare(text="  \n\u200b\n ")
    assert raised.value.code == "empty_article"


def test_document_round_trips_through_json():
    doc = prepare(text=SEED)
    assert Document.from_json(doc.to_json()) == doc
    assert isinstance(doc.sentences[0], Span)


# --- language -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "code"),
    [
        ("The government announced on Tuesday that it would raise taxes next year.", "en"),
        ("Die Bundesregierung hat am Dienstag angekündigt, die Steuern zu erhöhen.", "de"),
        ("Le gouvernement a annoncé mardi qu'il augmenterait les impôts l'an prochain.", "fr"),
        ("ok", None),
        ("12345 67890 !!!", None),
    ],
)
def test_detect_language(sample, code):
    assert detect_language(sample) == code


def test_confident_detection_wins_over_the_hint_and_both_are_kept():
    doc = prepare(text=SEED, language="de")
    assert doc.language == "en"
    assert doc.meta["language_hint"] == "de"
    assert doc.meta["language_detected"] == "en"


def test_hint_is_used_when_detection_is_unsure():
    doc = prepare(text="ok", language="en-GB")
    assert doc.language == "en"
    assert doc.meta["language_detected"] is None
    assert prepare(text="ok").language is None


def test_language_detector_is_built_once():
    assert language_module._language_detector() is language_module._language_detector()


def test_import_has_no_side_effects_and_no_service_dependencies():
    probe = (
        "import sys\n"
        "import copydesk.prepare.text as t\n"
        "assert not {'lingua', 'trafilatura', 'pysbd'} & set(sys.modules), 'loaded at import'\n"
        "t.prepare(html='<p>The council met on Monday to approve the plan.</p>')\n"
        "assert not {'flask', 'celery', 'torch'} & set(sys.modules), 'service dependency'\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)


@pytest.mark.parametrize(
    "snippet",
    [
        "Michael Bennett died yesterday at 44.",
        "He asked the clerk to exchange it.",
        "Purses jammed under arms, tokens jammed in hands.",
        "Alert listeners, keep it up!",
    ],
)
def test_short_english_is_never_called_another_language(snippet):
    # lingua's fast mode calls each of these Dutch, Danish or Bokmal with confidence 0.5-0.93
    assert detect_language(snippet) in (None, "en")
    assert prepare(text=snippet, language="en").language == "en"


def test_short_text_clearly_in_another_language_is_still_detected():
    assert detect_language("Die Regierung hat das Gesetz am Dienstag beschlossen.") == "de"
    assert prepare(text="Le gouvernement a présenté un nouveau budget.").language == "fr"


# --- language: lower-case English, and the client's hint --------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "ad sales boost time warner profit as the company said it had a good year",
        "ok so the new phone is good but the battery is bad and i would not buy it again",
        "breaking storm hits the coast and thousands are without power after the flood",
    ],
)
def test_lower_case_english_without_punctuation_is_english(text: str) -> None:
    assert detect_language(text) == "en"
    assert prepare(text=text).language == "en"


def test_function_words_do_not_make_other_languages_english() -> None:
    assert detect_language(
        "De regering heeft in het parlement een nieuwe wet aangenomen, zei de minister."
    ) in {"nl", None}
    assert detect_language(
        "Le gouvernement a annoncé une nouvelle loi sur le climat, a déclaré le ministre."
    ) in {"fr", None}


def test_hint_wins_when_detection_is_unsure_and_loses_to_a_sure_detection() -> None:
    unsure = prepare(text="Bmw drives record sales", language="en")
    assert unsure.language == "en" and unsure.meta["language_detected"] != "de"
    german = (
        "Der Bundestag hat am Montag nach einer langen Debatte das neue Gesetz zur Energie "
        "beschlossen. Die Ministerin sagte in Berlin, die Kosten seien höher als erwartet, "
        "und die Länder müssten einen Teil davon tragen. Die Opposition kritisierte den Plan."
    )
    assert prepare(text=german, language="en").language == "de"


THAI = (
    "รัฐบาลประกาศมาตรการใหม่เพื่อช่วยเหลือธุรกิจขนาดเล็ก นายกรัฐมนตรีกล่าวว่าเศรษฐกิจจะฟื้นตัวในปีหน้า ตลาดหุ้นปรับตัวสูงขึ้น"
)


def test_thai_is_detected_and_cut_at_the_spaces_between_its_sentences():
    doc = prepare(text=THAI, title=None)
    assert doc.language == "th"
    assert doc.sentence_texts() == THAI.split(" ")


@pytest.mark.parametrize(
    ("language", "text", "count"),
    [
        ("zh", "中国经济增长放缓。政府宣布新的刺激措施！市场反应如何？专家表示乐观。", 4),
        ("ja", "日本銀行は金利を据え置いた。市場は反応した！今後はどうなるのか？", 3),
        # a space beside a number is no sentence end: "up 5 % today" stays one sentence
        ("th", "ตลาดหุ้นปรับตัวสูงขึ้น 5 % วันนี้ นักลงทุนพอใจ", 2),
    ],
)
def test_chinese_japanese_and_thai_sentences(language, text, count):
    spans = split_sentences(text, language=language, max_chars=1500)
    assert len(spans) == count
    assert "".join(text[s.start : s.end] for s in spans).replace(" ", "") == text.replace(" ", "")
