"""Sentence spans in the languages the multilingual encoder reads, as real news writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from copydesk.prepare import text as text_module
from copydesk.prepare.text import split_sentences


def sentences(text: str, language: str | None) -> list[str]:
    spans = split_sentences(text, language=language, max_chars=1500)
    pieces = [text[s.start : s.end] for s in spans]
    assert all(p == p.strip() and p for p in pieces)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "").replace("\n", "")
    return pieces


@pytest.mark.parametrize("budget", [0, text_module.PYSBD_BUDGET])  # regex or pysbd lines
@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        (  # a closing quote stays with the sentence its stop ends
            "zh",
            "国务院总理李强表示，要稳住经济大盘。“我们有信心。”他说。",
            ["国务院总理李强表示，要稳住经济大盘。", "“我们有信心。”", "他说。"],
        ),
        (
            "zh",
            "他說：「我們會努力。」會議結束。記者問：『何時？』官員沒有回答。",
            ["他說：「我們會努力。」", "會議結束。", "記者問：『何時？』", "官員沒有回答。"],
        ),
        (  # half-width stops typed between Chinese characters
            "zh",
            "市场会如何反应?专家表示乐观!上证指数当天上涨1.5%。",
            ["市场会如何反应?", "专家表示乐观!", "上证指数当天上涨1.5%。"],
        ),
        (  # an ellipsis inside a sentence is no stop
            "zh",
            "经济增长放缓……专家表示担忧。（完）",
            ["经济增长放缓……专家表示担忧。", "（完）"],
        ),
        (  # a quote the sentence goes on after (と, って) is not cut
            "ja",
            "首相は「増税はしない。」と語った。野党は反発している。",
            ["首相は「増税はしない。」と語った。", "野党は反発している。"],
        ),
        (
            "ja",
            "日本銀行は５日、金利の据え置きを決めた｡市場は円安に反応した！今後はどうなるのか？",
            [
                "日本銀行は５日、金利の据え置きを決めた｡",
                "市場は円安に反応した！",
                "今後はどうなるのか？",
            ],
        ),
        (
            "ko",
            '한국은행은 5일 기준금리를 동결했다. 이 총재는 "물가가 안정되고 있다"고 말했다. '
            "시장은 어떻게 반응할까? 전문가들은 낙관했다.",
            [
                "한국은행은 5일 기준금리를 동결했다.",
                '이 총재는 "물가가 안정되고 있다"고 말했다.',
                "시장은 어떻게 반응할까?",
                "전문가들은 낙관했다.",
            ],
        ),
        (
            "ar",
            "أعلنت الحكومة المصرية اليوم عن خطة جديدة لدعم الاقتصاد. هل ستنجح الخطة؟ "
            "يرى الخبراء أنها خطوة مهمة.",
            [
                "أعلنت الحكومة المصرية اليوم عن خطة جديدة لدعم الاقتصاد.",
                "هل ستنجح الخطة؟",
                "يرى الخبراء أنها خطوة مهمة.",
            ],
        ),
    ],
)
def test_cjk_korean_and_arabic_sentences(monkeypatch, budget, language, text, expected):
    monkeypatch.setattr(text_module, "PYSBD_BUDGET", budget)
    assert sentences(text, language) == expected


def test_a_full_width_point_between_digits_is_a_decimal_point_not_a_stop():
    text = "日経平均株価は１．５％上昇した。円相場は１ドル＝１５０．２５円だった。"
    assert sentences(text, "ja") == [
        "日経平均株価は１．５％上昇した。",
        "円相場は１ドル＝１５０．２５円だった。",
    ]
    assert sentences("上涨了１．５％．收盘价为３２００点．", "zh") == [
        "上涨了１．５％．",
        "收盘价为３２００点．",
    ]


def test_a_thai_quote_ends_its_clause_at_the_space_after_it():
    text = 'นายกรัฐมนตรีกล่าวว่า "เศรษฐกิจจะฟื้นตัว" นักลงทุนตอบรับในเชิงบวก'
    assert sentences(text, "th") == [
        'นายกรัฐมนตรีกล่าวว่า "เศรษฐกิจจะฟื้นตัว"',
        "นักลงทุนตอบรับในเชิงบวก",
    ]


@pytest.mark.parametrize("budget", [0, text_module.PYSBD_BUDGET])
@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        (
            "de",
            "Laut Dr. Müller kostet das Paket ca. 3 Mrd. Euro. Die Opposition ist dagegen.",
            ["Laut Dr. Müller kostet das Paket ca. 3 Mrd. Euro.", "Die Opposition ist dagegen."],
        ),
        (
            "es",
            "El Sr. García dijo que el plan costará 3.000 mill. de euros. ¿Será suficiente?",
            ["El Sr. García dijo que el plan costará 3.000 mill. de euros.", "¿Será suficiente?"],
        ),
        (
            "pt",
            "O Sr. Silva disse que o plano custará R$ 5 bi. A oposição criticou a medida.",
            ["O Sr. Silva disse que o plano custará R$ 5 bi.", "A oposição criticou a medida."],
        ),
        (
            "it",
            "Il sig. Rossi ha detto che costerà 3 mld. di euro. L'opposizione protesta.",
            ["Il sig. Rossi ha detto che costerà 3 mld. di euro.", "L'opposizione protesta."],
        ),
        (
            "nl",
            "Volgens dhr. Jansen kost het ca. 3 mld. euro. De oppositie is kritisch.",
            ["Volgens dhr. Jansen kost het ca. 3 mld. euro.", "De oppositie is kritisch."],
        ),
        (
            "pl",
            "Min. Kowalski powiedział, że to m.in. efekt reform. Opozycja krytykuje plan.",
            ["Min. Kowalski powiedział, że to m.in. efekt reform.", "Opozycja krytykuje plan."],
        ),
        (
            "fr",
            "« Nous tenons nos engagements », a déclaré M. Dupont. Que fera le Sénat ?",
            ["« Nous tenons nos engagements », a déclaré M. Dupont.", "Que fera le Sénat ?"],
        ),
        (
            "ru",
            "Как сообщил проф. Иванов, расходы вырастут на 5 млрд руб. в следующем году. "
            "Оппозиция выступила против.",
            [
                "Как сообщил проф. Иванов, расходы вырастут на 5 млрд руб. в следующем году.",
                "Оппозиция выступила против.",
            ],
        ),
        (
            "tr",
            "Prof. Dr. Ahmet Yılmaz, enflasyonun düşeceğini söyledi. Muhalefet tepki gösterdi.",
            [
                "Prof. Dr. Ahmet Yılmaz, enflasyonun düşeceğini söyledi.",
                "Muhalefet tepki gösterdi.",
            ],
        ),
    ],
)
def test_titles_and_abbreviations_of_each_language_end_no_sentence(
    monkeypatch, budget, language, text, expected
):
    monkeypatch.setattr(text_module, "PYSBD_BUDGET", budget)
    assert sentences(text, language) == expected


@pytest.mark.parametrize("language", ["en", "de", "fr", "ru"])
def test_pysbd_starts_are_the_starts_pysbd_finds_with_its_own_regexes(language: str) -> None:
    import pysbd

    from copydesk.prepare.segment import pysbd_starts

    fixtures = Path(__file__).parent / "fixtures"
    lines = [
        line
        for name in ("seed_article.txt", "article_fr.txt", "article_ru.txt")
        for line in (fixtures / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    lines += [  # repeated sentences: pysbd takes the first copy that ends past the last one
        "He said. He said. He said.",
        "Yes. Yes.  Yes. No.",
        "Mr. Smith went home. Mr. Smith went home.  ",
        "Hi!! Hi!! Hi!!",
        "A. B. A. B.",
    ]
    segmenter = pysbd.Segmenter(language=language, clean=False, char_span=True)
    for line in lines:
        assert pysbd_starts(segmenter, line) == {s.start for s in segmenter.segment(line)}, line
