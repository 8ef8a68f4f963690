"""Find an article's quotes and who said them, from the text and the prepared parse.

Direct quotes are found in the text by their quotation marks (``PAIRS``): curly, straight
and guillemets, and quotes that run across paragraphs the way newspapers write them (a
paragraph that opens a quote without closing it, and a next one that opens it again, or
the same in one paragraph when a text joined them). A straight mark opens or closes by the
space around it. A quote of fewer than ``MIN_WORDS`` words, or of capitalised words only,
is a scare quote, a name or a title ("Omar the Chechen") and is left out. Indirect speech
is a speech verb's reported clause ("X said that ...") outside any quotation marks.

Speakers come from the speech cues the prepare stage's parse stored (a speech verb, its
subject, its clause). A quote takes the nearest cue outside it, in the same or the next
sentence (or the cue whose clause holds it). Its speaker (``speakers.Speakers``) is:

1. the entity the cue's subject names as its head (merged as entities are: "Batirashvili"
   is "Temur Batirashvili"), or, when the parser tagged no entity there, the one entity
   whose longer name ends with the subject's last capitalised words ("Mr Scholz");
2. for "he", "she" or "they", the last named speaker, when no other person was mentioned
   since that speaker's quote and its attribution (unambiguous); for "he" or "she" with no
   speaker before them (or a group, "the Tories"), the one person named in the last
   sentence that names people, two sentences back at most; otherwise ``null``;
3. ``null`` when the subject names no entity ("an official said"); the cue and the words
   of the attribution are still given;
4. for a direct quote with no cue, the speaker of the direct quote just before it, when no
   other person was mentioned in between (a quote that goes on in the next paragraph).

Measured on a hand-checked set of BBC stories against textacy: bench/quality_quotes.py.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from copydesk.analyse.base import Analyser, Result, coverage, require_parse
from copydesk.analyse.canonical import Entity, merge
from copydesk.analyse.speakers import Speakers
from copydesk.core.document import Document
from copydesk.core.errors import UnsupportedLanguage
from copydesk.core.options import QuotesOptions, checked
from copydesk.core.parse import Cue

VERSION = "copydesk-quotes/2"  # /2: straight marks by their spaces, speakers by the subject head
PAIRS: Final = {"“": "”", "«": "»", '"': '"'}
MIN_WORDS: Final = 3
_CLOSERS: Final = frozenset(PAIRS.values())
_MARKS: Final = re.compile("[" + re.escape("".join(sorted(set(PAIRS) | _CLOSERS))) + "]")
_ENDS: Final = frozenset(".?!…")
_SMALL: Final = frozenset("a an the of to in on at for and or but by with from de la".split())
MAX_GAP: Final = 120  # characters between a quote and its cue
_PARAGRAPH = re.compile(r"\n\s*\n")


@dataclass(frozen=True, slots=True)
class Quote:
    """A quote's span (with its marks, for a direct one) and the cue it is attributed to."""

    start: int
    end: int
    kind: str  # direct | indirect
    cue: Cue | None = None


def quotations(text: str) -> list[tuple[int, int]]:
    """Spans of the direct quotations in ``text``, marks included, across paragraphs.

    A quote left open at a paragraph's end goes on when the next paragraph opens with a
    quotation mark; otherwise it was a stray mark, and is dropped. Inside one paragraph, an
    opening mark after a sentence's end goes on with the open quote too (text that joined a
    quote's paragraphs keeps each one's opening mark); one mid-sentence means the first
    was stray. A quote still open where the text ends runs to its end.
    """
    breaks = [m.start() for m in _PARAGRAPH.finditer(text)]
    found: list[tuple[int, int]] = []
    opened: tuple[int, str] | None = None
    last = 0  # the quote's latest mark: a paragraph break after it is crossed by the next
    for index, mark in ((m.start(), m.group()) for m in _MARKS.finditer(text)):
        opens, closes = _roles(text, index)
        if opened is not None and _crossed(breaks, last, index):
            if opens and mark == opened[1] and _opens_paragraph(text, index):
                last = index  # the quote goes on in this paragraph
                continue
            opened = None  # a stray mark: what follows starts afresh
        if opened is None:
            if opens:
                opened, last = (index, mark), index
            continue
        start, opening = opened
        if closes and mark == PAIRS[opening]:
            found.append((start, index + 1))
            opened = None
        elif opens and mark == opening and _after_sentence(text, index):
            last = index  # a joined paragraph of the same quote
        elif opens:
            opened, last = (index, mark), index  # a second opening: the first was stray
    ends_quoted = text.rstrip()[-1:] in _ENDS and not _crossed(breaks, last, len(text))
    if opened is not None and ends_quoted:  # open in the last paragraph: runs to the end
        found.append((opened[0], len(text.rstrip())))
    return [(a, b) for a, b in found if _spoken(text[a:b])]


def _roles(text: str, index: int) -> tuple[bool, bool]:
    """Whether the mark at ``index`` may open a quote, and whether it may close one.

    Curly marks and guillemets say which they are; a straight mark opens after white space
    (or a bracket or dash) before a word, and closes otherwise.
    """
    mark = text[index]
    if mark != '"':
        return mark in PAIRS, mark in _CLOSERS
    before = text[index - 1] if index else " "
    after = text[index + 1] if index + 1 < len(text) else " "
    opens = (before.isspace() or before in "([-—/") and not after.isspace()
    return opens, not opens


def _after_sentence(text: str, index: int) -> bool:
    """Whether the last character before ``index`` that is not white space ends a sentence
    (read back from ``index``: copying the text up to every mark was quadratic)."""
    at = index - 1
    while at >= 0 and text[at].isspace():
        at -= 1
    return at >= 0 and text[at] in _ENDS


def _spoken(quote: str) -> bool:
    """At least ``MIN_WORDS`` words, not all of them capitalised but the small ones
    (a name or a title: "Omar the Chechen", "Jerry's Guide to the World Wide Web")."""
    words = re.findall(r"[\w'’-]+", quote)
    if len(words) < MIN_WORDS:
        return False
    return not all(w[0].isupper() or w.casefold() in _SMALL for w in words)


def _crossed(breaks: list[int], after: int, before: int) -> bool:
    """Whether a paragraph break lies between the offsets ``after`` and ``before``."""
    return bisect.bisect_left(breaks, after) != bisect.bisect_left(breaks, before)


def _opens_paragraph(text: str, index: int) -> bool:
    at = index - 1
    while at >= 0 and text[at] in " \t":
        at -= 1
    return index == 0 or (at >= 0 and text[at] == "\n")


def attribute(start: int, end: int, cues: Sequence[Cue], sentence_of: Any) -> Cue | None:
    """The nearest cue outside ``[start, end)``, within ``MAX_GAP`` characters and the
    sentences the quote touches or the next; a cue whose clause holds the quote wins."""
    first, last = sentence_of(start), sentence_of(max(end - 1, start))
    best: tuple[int, int, Cue] | None = None
    for cue in cues:
        if start <= cue.start < end:
            continue  # a verb inside the quote is the speaker's own words
        holds = cue.content_start >= 0 and cue.content_start <= start + 1 < cue.content_end
        gap = cue.start - end if cue.start >= end else start - cue.end
        near = first <= cue.sentence <= last + 1 and gap <= MAX_GAP
        if not (near or holds):
            continue
        rank = (0 if holds else 1, max(gap, 0))
        if best is None or rank < best[:2]:
            best = (*rank, cue)
    return best[2] if best else None


class QuoteFinder(Analyser):
    """Quotes and their speakers from the text and the prepared parse; no model."""

    name = "quotes"
    model_name = VERSION

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> Document:
        checked(QuotesOptions, options)
        if doc.language and doc.language.split("-")[0].lower() != "en":
            raise UnsupportedLanguage(
                f"quotes read English only; this article is {doc.language!r}",
                language=doc.language,
            )
        require_parse(doc, analysis="quotes")
        return doc

    def _forward(self, inputs: Document) -> list[Quote]:
        doc = inputs
        assert doc.parse is not None
        starts = [s.start for s in doc.sentences]

        def sentence_of(offset: int) -> int:
            return max(bisect.bisect_right(starts, offset) - 1, 0)

        cues = list(doc.parse.cues)
        direct = [
            Quote(a, b, "direct", attribute(a, b, cues, sentence_of))
            for a, b in quotations(doc.text)
        ]
        taken = [(q.start, q.end) for q in direct]
        indirect = [
            Quote(c.content_start, c.content_end, "indirect", c)
            for c in cues
            if c.content_start >= 0
            and not any(a < c.content_end and c.content_start < b for a, b in taken)
            and not any(ch in doc.text[c.content_start : c.content_end] for ch in PAIRS)
            and len(doc.text[c.content_start : c.content_end].split()) >= MIN_WORDS
        ]
        return sorted(direct + indirect, key=lambda q: q.start)

    def postprocess(
        self, doc: Document, outputs: list[Quote], options: Mapping[str, Any]
    ) -> Result:
        assert doc.parse is not None
        opts = checked(QuotesOptions, options)
        entities = merge(doc.text, doc.parse.mentions)
        speakers = Speakers(doc.text, entities, doc.sentences)
        quotes = []
        for quote in outputs:
            speaker = speakers.resolve(quote)
            if quote.kind == "indirect" and not opts.indirect:
                continue
            quotes.append(self._quote(doc.text, quote, speaker))
        parsed = [s for s in doc.sentences if s.end <= doc.parse.end]
        return {
            "quotes": quotes,
            "model": self.model_name,
            "parser": doc.parse.model,
            "coverage": coverage(doc.text, parsed),
        }

    @staticmethod
    def _quote(text: str, quote: Quote, speaker: Entity | None) -> dict[str, Any]:
        cue = quote.cue
        said = cue is not None and cue.subject_start >= 0
        return {
            "type": quote.kind,
            "text": text[quote.start : quote.end],
            "start": quote.start,
            "end": quote.end,
            "speaker": {"name": speaker.name, "type": speaker.type} if speaker else None,
            "attribution": (
                {
                    "text": text[cue.subject_start : cue.subject_end],
                    "start": cue.subject_start,
                    "end": cue.subject_end,
                }
                if cue is not None and said
                else None
            ),
            "cue": (
                {"text": text[cue.start : cue.end], "start": cue.start, "end": cue.end}
                if cue is not None
                else None
            ),
        }
