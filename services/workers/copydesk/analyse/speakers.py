"""Resolve a quote's cue to the entity that spoke, reading the article in order.

Split from ``quotes`` because the rules are many and each has a test: the subject's head
names the speaker (``Speakers._named``), a surname names the person it ends
(``_by_surname``), and "he", "she" or "they" go back to the last speaker, or to the one
person just named, only when no one else could be meant (``resolve``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from copydesk.analyse.canonical import HONORIFICS, Entity, tokens
from copydesk.core.document import Span
from copydesk.core.parse import Cue

if TYPE_CHECKING:
    from copydesk.analyse.quotes import Quote

PRONOUNS: Final = frozenset({"he", "she", "they"})
PRONOUN_REACH: Final = 2  # sentences back that "he" or "she" may look for a person


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
