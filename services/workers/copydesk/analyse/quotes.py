"""Find an article's quotes and who said them, from the text and the prepared parse.

Direct quotes are found in the text by their quotation marks (``PAIRS``): curly, straight
and guillemets, and quotes that run across paragraphs the way newspapers write them (a
paragraph that opens a quote without closing it, and a next one that opens it again). A
quote of fewer than ``MIN_WORDS`` words is a scare quote or a name ("Omar the Chechen") and
is left out. Indirect speech is a speech verb's reported clause ("X said that ...") outside
any quotation marks.

Speakers come from the speech cues the prepare stage's parse stored (a speech verb, its
subject, its clause). A quote takes the nearest cue outside it, in the same or the next
sentence (or the cue whose clause holds it). Its speaker is:

1. the entity the cue's subject names (merged as entities are: "Batirashvili" is
   "Temur Batirashvili"), or, when the parser tagged no entity there, the one entity whose
   longer name ends with the subject's one or two capitalised words ("Scholz");
2. for "he", "she" or "they", the last named speaker, when no other person was mentioned
   since that speaker's quote (unambiguous), otherwise ``null``;
3. ``null`` when the subject names no entity ("an official said"); the cue and the words
   of the attribution are still given;
4. for a direct quote with no cue, the speaker of the direct quote just before it, when no
   other person was mentioned in between (a quote that goes on in the next paragraph).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from copydesk.analyse.base import Analyser, Result, coverage, require_parse
from copydesk.analyse.canonical import HONORIFICS, Entity, merge, tokens
from copydesk.core.document import Document, Span
from copydesk.core.errors import UnsupportedLanguage
from copydesk.core.options import QuotesOptions, checked
from copydesk.core.parse import Cue

VERSION = "copydesk-quotes/1"
PAIRS: Final = {"“": "”", "«": "»", '"': '"'}
MIN_WORDS: Final = 3
_CLOSERS: Final = frozenset(PAIRS.values())
_MARKS: Final = frozenset(PAIRS) | _CLOSERS
_ENDS: Final = frozenset(".?!…")
_SMALL: Final = frozenset("a an the of to in on at for and or but by with from de la".split())
MAX_GAP: Final = 120  # characters between a quote and its cue
PRONOUNS: Final = frozenset({"he", "she", "they"})
PRONOUN_REACH: Final = 2  # sentences back that "he" or "she" may look for a person
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
    for index, mark in ((i, ch) for i, ch in enumerate(text) if ch in _MARKS):
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
    if opened is not None and text.rstrip()[-1:] in _ENDS:
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
    return text[:index].rstrip()[-1:] in _ENDS


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
    return index == 0 or text[:index].rstrip(" \t").endswith("\n")


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


class Speakers:
    """Resolve each quote's cue to an entity, in text order (pronouns need what came before)."""

    def __init__(self, text: str, entities: Sequence[Entity], sentences: Sequence[Span]) -> None:
        self.text = text
        self.entities = entities
        self.ends = [s.end for s in sentences]
        self.people = sorted(
            ((m.start, m.sentence, e) for e in entities if e.type == "person" for m in e.mentions),
            key=lambda item: item[0],
        )
        self.last: tuple[Entity, int] | None = None  # the last named speaker, and where
        self.previous: tuple[Entity, int] | None = None  # the speaker of the quote before

    def resolve(self, quote: Quote) -> Entity | None:
        cue = quote.cue
        if cue is None:
            if quote.kind == "direct" and self.previous is not None:
                speaker, since = self.previous
                if self._alone(speaker, since, quote.start):
                    return self._said(speaker, quote, quote.end)
            self.previous = None
            return None
        if cue.subject_start < 0:
            self.previous = None
            return None
        subject = self.text[cue.subject_start : cue.subject_end].strip().casefold()
        named = self._named(cue.subject_start, cue.subject_end)
        until = self._attribution_end(quote, cue)
        if named is not None:
            return self._said(named, quote, until)
        if subject in PRONOUNS:
            before = min(quote.start, cue.start)
            last = self.last
            if last is not None and subject != "they" and last[0].type == "other":
                last = None  # "he" and "she" are no group ("the Tories said")
            if last is not None:
                if self._alone(last[0], last[1], before):
                    return self._said(last[0], quote, until)
            elif subject != "they" and (just := self._just_named(before, cue.sentence)):
                return self._said(just, quote, until)
        self.previous = None
        return None

    def _attribution_end(self, quote: Quote, cue: Cue) -> int:
        """Where a quote and its attribution end: the end of the cue's sentence when the cue
        follows the quote (a person named in "said X, spokeswoman for Y" is no new voice)."""
        end = max(quote.end, cue.end)
        if cue.start >= quote.end and cue.sentence < len(self.ends):
            end = max(end, self.ends[cue.sentence])
        return end

    def _said(self, speaker: Entity, quote: Quote, end: int) -> Entity:
        self.last = (speaker, end)
        self.previous = (speaker, end) if quote.kind == "direct" else None
        return speaker

    def _alone(self, speaker: Entity, since: int, until: int) -> bool:
        """No person but ``speaker`` is mentioned in ``[since, until)``."""
        between = {id(e) for start, _, e in self.people if since <= start < until}
        return between <= {id(speaker)}

    def _just_named(self, before: int, sentence: int) -> Entity | None:
        """The one person named in the last sentence before ``before`` that names people,
        when that sentence is at most ``PRONOUN_REACH`` sentences back and names no other."""
        named = [(s, e) for start, s, e in self.people if start < before]
        if not named or named[-1][0] < sentence - PRONOUN_REACH:
            return None
        latest = named[-1][0]
        people = {id(e): e for s, e in named if s == latest}
        return next(iter(people.values())) if len(people) == 1 else None

    def _named(self, start: int, end: int) -> Entity | None:
        """The entity the subject names: a person anywhere in it ("UKIP chairman Petrina
        Holdsworth"), another entity only as its head ("Forrester said", not "the
        Canada-based company" nor "the European Commissioner"); the one that opens the
        subject first ("Simon Yates, an analyst for Forrester"), then a person, then the
        longest mention ("Russia said" names a place: governments speak by their country's
        name)."""
        inside = [
            (e, m)
            for e in self.entities
            for m in e.mentions
            if start <= m.start and m.end <= end and self._heads(m.end, end, e.type)
        ]
        if not inside:
            return self._by_surname(self.text[start:end])
        inside.sort(
            key=lambda pair: (
                not self._opens(start, pair[1].start, pair[1].end, end),
                pair[0].type != "person",
                -(pair[1].end - pair[1].start),
            )
        )
        return inside[0][0]

    def _heads(self, mention_end: int, end: int, kind: str) -> bool:
        """Whether the words after a mention leave it the subject's head (or a person's name
        with a title after it, "Andrew Tyrie MP"); a possessive or a noun after it do not."""
        after = self.text[mention_end:end]
        if after.startswith(("'s", "’s", "'", "’", "-")):
            return False
        return kind == "person" or not after.strip() or after.lstrip()[:1] in ",(;"

    def _opens(self, subject_start: int, start: int, end: int, subject_end: int) -> bool:
        """Whether a mention opens the subject and an apposition follows it."""
        lead = self.text[subject_start:start].strip().casefold()
        after = self.text[end:subject_end].lstrip()
        return lead in ("", "the") and (not after or after[:1] == ",")

    def _by_surname(self, subject: str) -> Entity | None:
        """The one entity whose longer name ends with the subject's last one or two
        capitalised words ("Scholz" said, "shadow attorney general Mr Grieve" said, where the
        parser did not tag the surname alone), people first."""
        names = re.findall(r"[A-Z][\w'’-]*", subject.rstrip(" ,.;:"))
        if not names or not subject.rstrip(" ,.;:").endswith(names[-1]):
            return None
        for size in (2, 1):
            words = tokens(" ".join(names[-size:]))
            if len(names) < size or words[0] in HONORIFICS:
                continue
            fuller = [
                e
                for e in self.entities
                if len(e.key) > len(words) and e.key[-len(words) :] == words
            ]
            people = [e for e in fuller if e.type == "person"]
            chosen = people or fuller
            if len(chosen) == 1:
                return chosen[0]
        return None
