"""Say where sentences end inside one line, by the rules of its script and language.

pysbd knows English and a few other languages well; news comes in more. Chinese and Japanese
end sentences with 。！？ and carry a closing quote or bracket after the stop (“……。”,
「……。」), which must stay with the sentence it ends; Japanese goes on after a quote with
a particle (「……。」と語った), so no cut falls there. Thai marks the end of a clause with a
space. Languages written with capitals lose a sentence at every title or abbreviation
("Sr.", "dhr.", "m.in.") pysbd does not know, so ``keeps_cut`` checks each cut against a
table per language. Every function returns cut positions inside the line, never at its
ends; the caller turns them into spans, so offsets always index the text as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

CJK_LANGUAGES = frozenset({"zh", "ja"})
"""Languages cut with ``cjk_cuts`` rather than pysbd: its Chinese rules leave a closing
quote at the start of the next sentence, and it knows no half-width stops."""

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_CLOSERS = "”’」』）)】》〉〕\"'"
_CJK_STOP = re.compile(  # a full-width point between digits is a decimal point: １．５％
    rf"(?:[。！？｡]|(?<![0-9０-９])．(?![0-9０-９])|(?<=[{_CJK}])[.!?])[。！？｡．!?]*+[{_CLOSERS}]*+"
)
_FULL_WIDTH_STOP = re.compile(r"[。！？｡]")
_JAPANESE_GOES_ON = ("と", "って", "っ", "など")
"""Particles that carry a sentence on after a quote: 「増税はしない。」と語った."""

REGEX_BOUNDARY = re.compile(r"""(?<![.!?…؟۔।])[.!?…؟۔।]++["'”’»)\]]*+\s++(?=["'“‘«(\[]?[^\sa-z])""")
"""Sentence punctuation, its closing quotes and the space before a word that is not
lower-case Latin. Runs are matched from their first character only, possessively, so a
page of "......" stays linear."""

ENGLISH_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft no vs etc inc ltd co corp gen col lt sgt capt gov sen rep "
    "jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e a.m p.m approx".split()
)
ABBREVIATIONS = {
    "de": "dr prof hr fr nr st str bzw ca usw vgl ggf evtl inkl zzgl u.a z.b d.h mio mrd tsd "
    "jh abs bd dipl ing mag",
    "fr": "m mm mme mmes mlle dr pr me st ste av bd env cf p.ex",
    "es": "sr sra srta srs dr dra d dña ud uds lic ing prof gral art núm pág mill mll aprox "
    "av avda cía",
    "pt": "sr sra srs srta dr dra drs prof profa exmo exma av art nº pág aprox dep sen gov cia",
    "it": "sig sigg dott prof avv ing on sen gen mld mln pag art",
    "nl": "dhr mevr mw mr dr drs ir ing prof ca mld mln nr blz bijv o.a m.b.t i.p.v",
    "pl": "min prof dr inż mgr hab ks ul al gen płk tys mln mld godz tzw np m.in",
    "ru": "ул им проф акад д-р т.е т.н т.к т.п млн млрд тыс руб долл",
    "tr": "dr prof doç av alb yrd opr bkz sn",
}
"""Titles and abbreviations that stand before a name or a number, per language (without
their stop, lower case). Words a sentence often ends with ("etc.", "itd.", "r." for
"rok", "г." for "год") are left out: a missed cut costs less than a false one."""
_ABBREVIATIONS = {code: frozenset(words.split()) for code, words in ABBREVIATIONS.items()}
_OPENERS = "([\"'«„“‘¿¡"

_THAI = "\u0e01-\u0e5b"
_THAI_BREAK = re.compile(rf"(?:(?<=[{_THAI}])|(?<=[{_THAI}][\"”’)])) +(?=[{_THAI}])")
"""A space between Thai words, or after a closing quote that ends Thai words."""


def uses_cjk_rules(line: str, language: str | None) -> bool:
    """Tell whether a line is cut by Chinese and Japanese rules: its language is one of
    them, or it holds a full-width stop (text whose language went undetected)."""
    return language in CJK_LANGUAGES or bool(_FULL_WIDTH_STOP.search(line))


def cjk_cuts(line: str, language: str | None) -> list[int]:
    """Cut after each stop and the closing quotes and brackets that follow it.

    A run of stops ("！？") is one end; an ellipsis (……) is no stop. Sentences of Latin
    script inside the line are cut by ``regex_cuts``.
    """
    cuts = set(regex_cuts(line, language))
    for match in _CJK_STOP.finditer(line):
        end = match.end()
        if language == "ja" and match.group()[-1] in _CLOSERS:
            if line.startswith(_JAPANESE_GOES_ON, end):
                continue
        cuts.add(end)
    return sorted(c for c in cuts if 0 < c < len(line))


def thai_cuts(line: str) -> list[int]:
    """Cut Thai at the spaces between Thai words (Thai writes no spaces inside a clause);
    sentence punctuation elsewhere in the line (a quoted English sentence) still cuts."""
    cuts = {m.end() for m in _THAI_BREAK.finditer(line)}
    cuts.update(m.end() for m in REGEX_BOUNDARY.finditer(line))
    return sorted(c for c in cuts if 0 < c < len(line))


def pysbd_starts(segmenter: Any, line: str) -> set[int]:
    r"""Where pysbd's sentences start in ``line``: ``segmenter.segment(line)`` with
    ``char_span=True``, but each sentence is found with ``str.find``.

    pysbd finds a sentence by compiling ``re.escape(sentence) + r"\s*"`` and scanning the
    line with it: one new pattern per sentence, which also pushes the patterns pysbd reuses
    (one per abbreviation) out of Python's regex cache. The rule here is pysbd's: the first
    occurrence, scanning left to right without overlaps, that ends (with the spaces after
    it) past the previous sentence's end; a sentence not in the line is dropped.
    """
    starts: set[int] = set()
    prior = 0
    for sentence in segmenter.processor(line).process():
        for start, end in _occurrences(line, sentence):
            if end > prior:
                starts.add(start)
                prior = end
                break
    return starts


def _occurrences(line: str, sentence: str) -> Iterator[tuple[int, int]]:
    r"""The spans ``re.finditer(re.escape(sentence) + r"\s*", line)`` yields, in its order."""
    if not sentence:  # the pattern matches empty; pysbd never yields an empty sentence
        yield from (m.span() for m in re.finditer(r"\s*", line))
        return
    start = line.find(sentence)
    while start >= 0:
        end = start + len(sentence)
        while end < len(line) and line[end].isspace():  # what \s matches, character by character
            end += 1
        yield start, end
        start = line.find(sentence, end)


def regex_cuts(line: str, language: str | None = None) -> list[int]:
    """Split at sentence punctuation followed by a capitalised word, skipping abbreviations."""
    cuts = []
    for match in REGEX_BOUNDARY.finditer(line):
        if match.group().startswith(".") and not match.group().startswith(".."):
            if _abbreviation_before(line, match.start(), language):
                continue
        if match.end() < len(line):
            cuts.append(match.end())
    return cuts


def keeps_cut(line: str, cut: int, language: str | None) -> bool:
    """Tell whether pysbd's cut at ``cut`` ends a sentence in ``language``.

    English is left to pysbd, whose rules are made for it. Elsewhere a stop after a title
    or abbreviation of the language, or before a lower-case word, ends no sentence.
    """
    if language in (None, "en"):
        return True
    before = line[:cut].rstrip()
    if not before.endswith(".") or before.endswith(".."):
        return True
    if line[cut:].lstrip()[:1].islower():
        return False
    return not _abbreviation_before(line, len(before) - 1, language)


def _abbreviation_before(line: str, stop: int, language: str | None) -> bool:
    """Tell whether the word before the stop at ``stop`` is an abbreviation or an initial."""
    word = line[line.rfind(" ", 0, stop) + 1 : stop].lstrip(_OPENERS).casefold()
    table = _ABBREVIATIONS.get(language or "", ENGLISH_ABBREVIATIONS)
    return word in table or (len(word) == 1 and word.isalpha())
