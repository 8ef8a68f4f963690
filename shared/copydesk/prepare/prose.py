"""Refuse text that has no words in it (figures, emoji, one letter repeated) as ``not_prose``.

The models answer anything with confidence: a page of digits gets "science and technology"
at 0.31. So before any analysis reads an article, the prepare stage checks that its letters
form words. The rule is about letters, not vocabularies, so it holds for every script: a
word is a whitespace-separated token with at least two different letters, or one CJK
character or Hangul syllable (each a morpheme or a syllable). Vowels are not asked for:
Czech writes "Strč prst skrz krk", Arabic and Hebrew leave short vowels out, and "BBC" is
news. Text passes when most of its letters stand in words, so a table of figures with a few
labels, tickers with words and one-line news pass, while "xxxx...", "x x x", digits, emoji
and a sentence drowned in padding do not.
"""

from __future__ import annotations

from collections import Counter

from copydesk.core import errors

MIN_WORD_SHARE = 0.5
"""Least share of the text's letters that must stand in words."""

_SYLLABIC = (
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK extensions B to G
)


def check_prose(text: str) -> None:
    """Raise ``NotProse`` unless most of the letters in ``text`` form words.

    Linear in the text: tokens are counted once each (``str.split`` and ``Counter`` run in
    C), so a million-character run of one letter costs one token.
    """
    letters = in_words = 0
    for token, count in Counter(text.split()).items():
        distinct = {c for c in set(token.casefold()) if c.isalpha()}
        if not distinct:
            continue
        n = sum(map(str.isalpha, token))  # linear, however many different letters
        letters += n * count
        if len(distinct) >= 2 or (n == 1 and _syllabic(next(iter(distinct)))):
            in_words += n * count
    if letters == 0:
        raise errors.NotProse(
            "the article has no letters (only figures, symbols or emoji); send its words"
        )
    if in_words < MIN_WORD_SHARE * letters:
        raise errors.NotProse(
            f"the article has no words: {letters - in_words} of its {letters} letters stand "
            "alone or repeat one letter (such as 'xxxx'); send the article's own text",
            letters=letters,
        )


def _syllabic(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _SYLLABIC)
