"""Check that text with no words fails as ``not_prose`` and that real text, however short or
whatever its script, passes."""

from __future__ import annotations

import pytest

from copydesk.core import errors
from copydesk.prepare.prose import check_prose
from copydesk.prepare.text import prepare

JUNK = {
    "one letter repeated": "x" * 999_000,
    "one letter as words": " ".join(["x"] * 5000),
    "one letter in either case": "xX" * 50_000,
    "digits only": "0123456789 " * 1000,
    "figures and signs": "12.5% +3.1 -0.4 1,234,567 $89 (2024) 3/4",
    "emoji only": "🚀🔥😀 " * 500,
    "punctuation only": "?!... --- *** ###",
    "one letter among figures": "x 1 x 2 x 3 x 4 x 5 x 6",
    "a sentence lost in padding": "x" * 10_000 + " The council met on Monday.",
}


@pytest.mark.parametrize("text", JUNK.values(), ids=JUNK.keys())
def test_text_without_words_is_not_prose(text: str) -> None:
    with pytest.raises(errors.NotProse) as caught:
        check_prose(text)
    assert caught.value.status == 422 and caught.value.code == "not_prose"


@pytest.mark.parametrize("text", JUNK.values(), ids=JUNK.keys())
def test_the_prepare_stage_refuses_junk_with_not_prose(text: str) -> None:
    with pytest.raises(errors.NotProse):
        prepare(text=text)


PROSE = {
    "short news": "Shares rose sharply.",
    "one word": "Earthquake",
    "a table of figures with words": (
        "Revenue 1,234 1,456 +18%\nOperating profit 234 301 +29%\nNet income 120 156 +30%"
    ),
    "tickers with words": "AAPL 189.84 +1.2% MSFT 402.10 -0.3% Stocks rose in early trade.",
    "chinese": "北京今天下雨。",
    "japanese": "東京で地震があった。",
    "arabic": "ارتفعت أسعار النفط اليوم.",
    "russian": "Цены на нефть выросли.",
    "hindi": "आज दिल्ली में बारिश हुई।",
    "czech words without vowels": "Strč prst skrz krk.",
    "abbreviations": "BBC: NHS cuts 5% of GP posts.",
    "emoji with a sentence": "🚀🔥 Launch delayed again 😀",
}


@pytest.mark.parametrize("text", PROSE.values(), ids=PROSE.keys())
def test_real_text_in_any_script_is_prose(text: str) -> None:
    check_prose(text)
    assert prepare(text=text).text


def test_not_prose_says_what_was_wrong() -> None:
    with pytest.raises(errors.NotProse) as caught:
        check_prose("0123 4567")
    assert "no letters" in caught.value.detail
    with pytest.raises(errors.NotProse) as caught:
        check_prose("x" * 1000)
    assert "no words" in caught.value.detail
    problem = caught.value.to_problem()
    assert problem["code"] == "not_prose" and problem["status"] == 422


def test_a_million_letters_are_judged_fast() -> None:
    import time

    started = time.perf_counter()
    rich = "".join(chr(0x4E00 + (i * 7919) % 20_000) for i in range(1_000_000))  # one token
    for text in ("x" * 1_000_000, "ab " * 330_000, "word " * 200_000, rich):
        try:
            check_prose(text)
        except errors.NotProse:
            pass
    assert time.perf_counter() - started < 1.0
