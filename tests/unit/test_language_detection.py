"""Language detection names each language the multilingual encoder reads, on short news."""

from __future__ import annotations

import pytest

from copydesk.prepare.language import detect, detect_language
from copydesk.prepare.text import prepare

SHORT_NEWS = {
    "ar": "أعلنت الحكومة المصرية اليوم عن خطة جديدة لدعم الاقتصاد.",
    "de": "Die Inflation in Deutschland ist im November gesunken.",
    "en": "The government unveiled a new climate package on Tuesday.",
    "es": "La inflación en España bajó en noviembre, según el INE.",
    "fr": "Le gouvernement a présenté mardi un nouveau plan pour le climat.",
    "it": "Il governo ha approvato martedì un nuovo pacchetto per il clima.",
    "ja": "日本銀行は金利を据え置いた。",
    "ko": "한국은행은 5일 기준금리를 동결했다.",
    "nl": "De regering wil de belasting op arbeid verlagen.",
    "pl": "Rząd przyjął we wtorek nowy pakiet klimatyczny.",
    "pt": "A inflação no Brasil caiu em novembro, segundo o IBGE.",
    "ru": "Правительство России в четверг утвердило новый бюджет.",
    "th": "รัฐบาลไทยประกาศมาตรการกระตุ้นเศรษฐกิจ",
    "tr": "Hükümet salı günü yeni bütçeyi açıkladı.",
    "zh": "香港股市今日收市上升。",
}


@pytest.mark.parametrize(("code", "sample"), SHORT_NEWS.items(), ids=SHORT_NEWS)
def test_each_language_is_named_on_one_sentence_of_news(code: str, sample: str) -> None:
    assert detect_language(sample) == code


@pytest.mark.parametrize(
    ("code", "sample"),
    [
        ("nl", "Het kabinet wil de belasting op arbeid verlagen, zegt de minister."),
        ("de", "Die Regierung will die Steuern auf Arbeit senken, sagt der Minister."),
        ("pt", "O governo quer reduzir os impostos sobre o trabalho, disse o ministro."),
        ("es", "El gobierno quiere reducir los impuestos sobre el trabajo, dijo el ministro."),
    ],
)
def test_neighbouring_languages_are_told_apart(code: str, sample: str) -> None:
    assert detect_language(sample) == code


@pytest.mark.parametrize(
    ("code", "sample"),
    [
        ("zh", "国务院总理李强主持召开国务院常务会议，研究部署进一步稳经济的措施。"),
        ("ja", "政府は５日、新たな経済対策を閣議決定した。"),
        ("ko", "한국은행은 5일 기준금리를 동결했다."),
        ("th", "รัฐบาลไทยประกาศมาตรการกระตุ้นเศรษฐกิจ"),
    ],
)
def test_a_script_only_one_language_writes_is_sure_and_beats_a_wrong_hint(
    code: str, sample: str
) -> None:
    assert detect(sample) == (code, True)
    assert prepare(text=sample, language="en").language == code


def test_short_english_that_looks_nordic_still_gets_no_other_language() -> None:
    assert detect_language("Purses jammed under arms, tokens jammed in hands.") in (None, "en")


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (
            "hi",
            "नई दिल्ली (PTI) - केंद्र सरकार ने मंगलवार को नए बजट की घोषणा की। "
            "वित्त मंत्री ने कहा कि कर नहीं बढ़ेंगे।\n\nAdvertisement\n\n"
            "विपक्ष ने इस फैसले की आलोचना की।",
        ),
        (
            "el",
            "Η κυβέρνηση ανακοίνωσε την Τρίτη νέο πακέτο μέτρων για την οικονομία. "
            "Ο υπουργός Οικονομικών είπε ότι οι φόροι δεν θα αυξηθούν.\n\nShare\n\n"
            "Η αντιπολίτευση άσκησε κριτική.",
        ),
    ],
)
def test_a_language_no_encoder_reads_is_still_extracted_cleaned_and_named(
    code: str, text: str
) -> None:
    # the analyses refuse it one by one (unsupported_language); the cleaned text stays
    doc = prepare(text=text)
    assert doc.language == code
    assert "Advertisement" not in doc.text and "Share" not in doc.text
    assert "(PTI)" not in doc.text
    assert len(doc.sentences) == 3


def test_a_kanji_headline_takes_a_japanese_hint() -> None:
    """Han alone is Chinese, but a Japanese headline can be all kanji: a short one takes the
    client's "ja"; any other hint, or a Han text too long to be Japanese without kana, does not."""
    headline = "東京都知事選挙 投票率上昇"
    assert prepare(text=headline, language="ja").language == "ja"
    assert prepare(text=headline).language == "zh"
    assert prepare(text=headline, language="en").language == "zh"
    chinese = "国务院总理李强主持召开国务院常务会议，研究部署进一步稳经济的措施，会议指出要加大宏观政策调控力度。"
    assert prepare(text=chinese, language="ja").language == "zh"
