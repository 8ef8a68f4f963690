"""Check that a wire dateline leaves the opening of an article, and only there.

One positive and one negative group per pattern, like spaCy's ``Matcher`` examples: the
agency form (``PARIS, 3 March (AFP) -``), the agency alone (``(Bloomberg) --``) and the city
with a dash and no agency (``LONDON —``).
"""

from __future__ import annotations

import pytest

from copydesk.prepare.dateline import split_dateline
from copydesk.prepare.text import prepare

REST = "Britain's economy grew faster than expected in the last quarter, figures showed."

# --- city (region, date) (agency) dash --------------------------------------------------

WITH_AGENCY = [
    "SHREWSBURY, England, March 3 (Reuters) - ",
    "PARIS, 3 March (AFP) - ",
    "WASHINGTON (AP) — ",
    "KYIV, Ukraine (AP) — ",
    "NEW YORK, Jan 5 (Reuters) - ",
    "ST. LOUIS, Mo., March 3 (Reuters) -",
    "SAN FRANCISCO/LONDON, March 3 (Reuters) - ",
    "WINSTON-SALEM, N.C. (AP) — ",
    "BERLIN (dpa) – ",
    "BEIJING, March 3 (Xinhua) -- ",
    "TOKYO, March 3, 2024 (Kyodo) - ",
    "NEW DELHI, Mar 3 (PTI) - ",
    "NEW DELHI, March 3 (IANS) - ",
    "ROME, 3 MAR (ANSA) - ",
    "MADRID, 3 mar (EFE) - ",
    "SEOUL, March 3 (Yonhap) - ",
    "MOSCOW, March 3 (Interfax) - ",
    "SÃO PAULO, 3 de março (Reuters) - ",
    "GENEVA (UPI) -- ",
    "NEW YORK (Bloomberg) -- ",
    "LONDON, March 3 (Reuters Breakingviews) - ",
    "HONG KONG (AFP/Reuters) - ",
    "ATLANTA (CNN) — ",
]


@pytest.mark.parametrize("dateline", WITH_AGENCY)
def test_a_city_dateline_with_an_agency_is_split_off(dateline: str) -> None:
    assert split_dateline(dateline + REST) == (dateline, REST)


@pytest.mark.parametrize("dateline", ["(Bloomberg) -- ", "(Reuters) - ", "(AP) — "])
def test_an_agency_alone_in_parentheses_is_split_off(dateline: str) -> None:
    assert split_dateline(dateline + REST) == (dateline, REST)


# --- city (region, date) dash, no agency ---------------------------------------------------

NO_AGENCY = [
    "LONDON — ",
    "NEW YORK — ",
    "KYIV, Ukraine — ",
    "WASHINGTON, March 3 — ",
    "ROME – ",
    "JERUSALEM -- ",
    "NAIROBI, Kenya - ",
]


@pytest.mark.parametrize("dateline", NO_AGENCY)
def test_a_city_and_a_dash_without_an_agency_is_split_off(dateline: str) -> None:
    assert split_dateline(dateline + REST) == (dateline, REST)


NOT_DATELINES = [
    "US (AP) sources say the talks will resume on Monday.",  # no dash after the agency
    "NEW YORK is the largest city in the United States.",
    "NASA said on Tuesday the launch would slip.",
    "London (Reuters) - lower-case city is a sentence, not a dateline.",
    "The mayor (AP) - no, the mayor of the city said so.",
    "UK - EU talks resume on Monday in Brussels.",  # a two-letter word is no city
    "NASA — which had planned the launch for May — said it would slip.",  # lower case after
    "STORM HITS COAST — THOUSANDS EVACUATED",  # a shouted headline, not a dateline
    "LONDON 2012 — the Games that changed the city.",
    "COVID-19 — what we know so far about the new variant.",
    "PARIS (France 24) - the agency is not a wire service we know.",
    "“LONDON (Reuters) - ” is how Reuters opens its stories.",
    "",
]


@pytest.mark.parametrize("line", NOT_DATELINES)
def test_what_is_not_a_dateline_stays(line: str) -> None:
    assert split_dateline(line) is None


# --- in the prepare stage: the first paragraph only, counted, offsets exact ---------------


def test_the_dateline_leaves_the_first_paragraph_and_is_counted() -> None:
    second = "Officials said the harbour would reopen on Friday after the storm."
    doc = prepare(text=f"SHREWSBURY, England, March 3 (Reuters) - {REST}\n\n{second}")
    assert doc.text == f"{REST}\n\n{second}"
    assert doc.meta["removed"]["characters"] == len("SHREWSBURY, England, March 3 (Reuters) - ")
    assert doc.meta["removed"]["lines"] == 0  # part of a line went, not a line
    assert doc.text[doc.sentences[0].start : doc.sentences[0].end] == REST


def test_the_dateline_after_a_headline_byline_and_title_copy_goes() -> None:
    text = (
        "Economy grows faster than expected\n\n"
        "By Jane Smith\n\n"
        f"LONDON (Reuters) - {REST}\n\n"
        "The pound rose after the figures were published."
    )
    doc = prepare(text=text, title="Economy grows faster than expected")
    assert doc.text == f"{REST}\n\nThe pound rose after the figures were published."
    assert doc.meta["removed"]["lines"] == 2
    gone = len("Economy grows faster than expected") + len("By Jane Smith")
    assert doc.meta["removed"]["characters"] == gone + len("LONDON (Reuters) - ")


def test_a_headline_line_before_the_dateline_stays_and_the_dateline_goes() -> None:
    doc = prepare(text=f"Economy grows faster than expected\n\nPARIS, 3 March (AFP) - {REST}")
    assert doc.text == f"Economy grows faster than expected\n\n{REST}"


def test_a_dateline_on_its_own_line_goes_as_a_line() -> None:
    doc = prepare(text=f"WASHINGTON (AP) —\n{REST}")
    assert doc.text == REST
    assert doc.meta["removed"] == {
        "title_repeats": 0,
        "boilerplate_lines": 1,
        "lines": 1,
        "characters": len("WASHINGTON (AP) —"),
    }


def test_a_dateline_in_mid_text_stays() -> None:
    text = (
        f"{REST}\n\nLONDON (Reuters) - The pound rose after the figures.\n\n"
        "NEW YORK — Shares opened higher on Wall Street."
    )
    assert prepare(text=text).text == text


def test_a_dateline_in_the_second_paragraph_after_prose_stays() -> None:
    text = f"{REST}\n\nPARIS, 3 March (AFP) - The French economy grew too."
    assert prepare(text=text).text == text


def test_cleaning_turned_off_keeps_the_dateline() -> None:
    text = f"LONDON (Reuters) - {REST}"
    assert prepare(text=text, clean=False).text == text


# --- other languages ----------------------------------------------------------------------

OTHER_LANGUAGES = [
    ("Berlin (dpa) - ", "Die Bundesregierung hat am Dienstag ein neues Klimapaket beschlossen."),
    ("Paris (AFP) - ", "Le gouvernement a présenté mardi un nouveau plan pour le climat."),
    ("MADRID, 5 dic (EFE).- ", "El Gobierno aprobó el martes un nuevo paquete de medidas."),
    ("ROMA, 5 DIC - ", "Il governo ha approvato martedì la manovra di bilancio."),
    ("МОСКВА, 5 дек — РИА Новости. ", "Правительство утвердило новый бюджет."),
    ("МОСКВА, 5 декабря. /ТАСС/. ", "Правительство утвердило новый бюджет."),
    ("新华社北京12月5日电（记者 张三）", "国务院总理李强主持召开国务院常务会议。"),
    ("中新网北京12月5日电 ", "中国人民银行宣布下调存款准备金率。"),
    ("【北京12月5日讯】", "国务院总理李强主持召开国务院常务会议。"),
    ("（共同社）", "日本政府5日召开内阁会议，决定了新的经济对策。"),
    ("【ワシントン共同】", "米政府は５日、新たな制裁を発表した。"),
    ("(서울=연합뉴스) 홍길동 기자 = ", "한국은행은 5일 기준금리를 동결했다."),
    ("القاهرة (رويترز) - ", "أعلنت الحكومة المصرية اليوم عن خطة جديدة لدعم الاقتصاد."),
    ("دمشق، سوريا (CNN) -- ", "أكدت جهات سورية معارضة أن فصائل مسلحة سيطرت على مستودعات."),
]


@pytest.mark.parametrize(("dateline", "rest"), OTHER_LANGUAGES)
def test_datelines_of_other_languages_are_split_off(dateline: str, rest: str) -> None:
    assert split_dateline(dateline + rest) == (dateline, rest)


@pytest.mark.parametrize(
    "line",
    [
        "Berlin (dpa) - die Regierung hat lower case after the dash, so it stays.",
        "Die Regierung (dpa) - sagte am Dienstag, das Paket sei fertig.",
        "新华社报道，国务院总理李强主持召开国务院常务会议。",
        "北京12月5日的天气晴朗，气温较低。",
    ],
)
def test_what_is_not_a_dateline_in_other_languages_stays(line: str) -> None:
    assert split_dateline(line) is None
