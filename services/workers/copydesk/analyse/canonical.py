"""Merge an article's entity mentions into entities, each with a type and a canonical name.

Rule-based, as a newsroom style guide would state it, in small tables with a test per rule:

1. A mention's parser label gives its type (``TYPES``: spaCy's English labels, and the
   PER, LOC, ORG, MISC of the French and Russian recognisers); numbers, dates and amounts are
   not entities and are dropped. A nationality right before an organisation is part of its
   name ("Islamic" + "State", "Russian" + "Foreign Ministry"): small parsers split them.
2. Its name is its text without a leading article ("the"), a trailing possessive ("'s") or,
   for people, a leading honorific or title (``HONORIFICS``: "Mr", "Dr", "Chancellor", ...).
   The mention's span shrinks to that name, so it still indexes the text exactly. Where the
   parser named the mention in the nominative (``Mention.norm``: Russian declines names,
   "Путина" is "Путин"), that is its name; its span stays the text as written.
3. Mentions whose names match once case, dots, spacing and ё/е are set aside are one entity.
4. A shorter name of a person that ends a longer person's name ("Scholz", "Mr Scholz" after
   "Olaf Scholz") joins that person; when several people share it ("Temur" and "Tarkhan
   Batirashvili"), each mention joins the one named most recently before it, and stays alone
   when none was.
   A one-word organisation that ends the name of a person named before it ("Scholz" after
   "Olaf Scholz": a small recogniser may type a lone surname so) joins that person the same
   way. A mention that joins a person counts as a person in its type's vote.
5. An acronym joins the one organisation (or place, or event) whose capitalised words it
   spells ("ECB" and "European Central Bank"); a name that is a longer organisation's name
   without its legal form ("Siemens" and "Siemens AG") joins it.

An entity's canonical name is its longest name, the most frequent among equals, then the
first; its type is its mentions' most frequent type (the first in ``TYPE_ORDER`` on a tie).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

from copydesk.core.parse import Mention

TYPES: Final[dict[str, str]] = {
    "PERSON": "person",
    "PER": "person",  # WikiNER's and natasha's labels (French, Russian) and CoNLL's
    "ORG": "organisation",
    "GPE": "place",  # countries, cities, states
    "LOC": "place",  # mountains, rivers, regions
    "FAC": "place",  # buildings, airports, bridges
    "EVENT": "event",
    "PRODUCT": "product",
    "NORP": "other",  # nationalities, religious and political groups
    "WORK_OF_ART": "other",
    "LAW": "other",
    "LANGUAGE": "other",
    "MISC": "other",  # CoNLL-2003's miscellany, which most Hugging Face NER models use
}
"""spaCy's OntoNotes labels (and the French and Russian recognisers' PER, LOC, ORG, MISC) to
copydesk's six types; DATE, TIME, PERCENT, MONEY, QUANTITY, ORDINAL and CARDINAL are not
entities."""

TYPE_ORDER: Final = ("person", "organisation", "place", "event", "product", "other")

HONORIFICS: Final = frozenset(
    """mr mrs ms miss mx dr prof sir dame lord lady rev fr president vice prime minister
    chancellor secretary senator sen rep gov governor mayor judge justice general gen colonel
    col captain capt sergeant sgt lieutenant lt commander pope king queen prince princess
    sheikh ayatollah
    m mme mlle mgr me président présidente ministre chancelier chancelière général""".split()
)
"""Words that open a person's mention but are not their name ("Prime Minister Olaf Scholz",
"M. Scholz")."""

LEGAL_FORMS: Final = frozenset(
    "inc inc. ltd ltd. plc ag se sa gmbh corp corp. co co. llc group holdings nv bv spa".split()
)
_ACRONYM_SKIP: Final = frozenset("of for the and & de du des la le von der".split())
_ARTICLE = re.compile(r"^(?:the|The|THE)\s+")
_POSSESSIVE = re.compile(r"(?:['’]s|(?<=s)['’])$")
_ACRONYM = re.compile(r"^(?:[A-ZА-ЯЁ]\.?){2,6}$")


@dataclass(eq=False)  # two entities are the same only when they are one object
class Entity:
    """Mentions merged into one entity; ``names`` are their names as written."""

    mentions: list[Mention] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    def add(self, mention: Mention, name: str, kind: str) -> None:
        self.mentions.append(mention)
        self.names.append(name)
        self.types.append(kind)
        for derived in _DERIVED:  # computed again from the new mention on
            self.__dict__.pop(derived, None)

    def absorb(self, other: Entity) -> None:
        for mention, name, kind in zip(other.mentions, other.names, other.types, strict=True):
            self.add(mention, name, kind)

    # Kept until the next ``add``: the joins below read every entity's type, name and key
    # for every other entity, which was most of what merging cost (1.2 ms an article).
    @cached_property
    def type(self) -> str:
        counts = Counter(self.types)
        return max(TYPE_ORDER, key=lambda t: (counts[t], -TYPE_ORDER.index(t)))

    @cached_property
    def name(self) -> str:
        counts = Counter(self.names)
        first = {name: i for i, name in reversed(list(enumerate(self.names)))}
        return max(counts, key=lambda n: (len(n.split()), counts[n], -first[n]))

    @cached_property
    def key(self) -> tuple[str, ...]:
        return tokens(self.name)

    def last_before(self, offset: int) -> int:
        """The start of this entity's last mention before ``offset``; -1 when none."""
        return max((m.start for m in self.mentions if m.start < offset), default=-1)


_DERIVED: Final = ("type", "name", "key")


def tokens(name: str) -> tuple[str, ...]:
    """A name's words for matching: case, dots and spacing set aside."""
    return tuple(name.casefold().replace(".", "").replace("ё", "е").split())


def clean(text: str, start: int, kind: str) -> tuple[str, int, int]:
    """Strip an article, a possessive and (for people) honorifics; the name and its span."""
    name, end = text, start + len(text)
    article = _ARTICLE.match(name)
    if article:
        name, start = name[article.end() :], start + article.end()
    possessive = _POSSESSIVE.search(name)
    if possessive:
        name, end = name[: possessive.start()], end - (len(name) - possessive.start())
    if kind == "person":
        words = name.split(" ")
        while len(words) > 1 and words[0].casefold().rstrip(".") in HONORIFICS:
            start += len(words[0]) + 1
            words = words[1:]
        name = " ".join(words)
    stripped = name.strip()
    start += len(name) - len(name.lstrip())
    return stripped, start, start + len(stripped)


def merge(text: str, mentions: Sequence[Mention]) -> list[Entity]:
    """Group ``mentions`` (parser spans into ``text``) into entities, in order of first mention."""
    by_key: dict[tuple[str, ...], Entity] = {}
    for mention in _joined(text, mentions):
        kind = TYPES.get(mention.label)
        if kind is None:
            continue
        name, start, end = clean(text[mention.start : mention.end], mention.start, kind)
        if mention.norm:
            name = mention.norm
        if not tokens(name):
            continue
        span = Mention(start, end, mention.label, mention.sentence)
        by_key.setdefault(tokens(name), Entity()).add(span, name, kind)
    entities = list(by_key.values())
    entities = _join_short_person_names(entities)
    entities = _join_acronyms_and_legal_forms(entities)
    return sorted(entities, key=lambda e: min(m.start for m in e.mentions))


def _joined(text: str, mentions: Sequence[Mention]) -> list[Mention]:
    """Join each nationality (NORP) to an organisation that follows it after one space."""
    joined: list[Mention] = []
    for mention in sorted(mentions, key=lambda m: m.start):
        last = joined[-1] if joined else None
        if (
            last is not None
            and last.label == "NORP"
            and mention.label == "ORG"
            and text[last.end : mention.start] == " "
        ):
            joined[-1] = Mention(last.start, mention.end, "ORG", last.sentence)
        else:
            joined.append(mention)
    return joined


def _join_short_person_names(entities: list[Entity]) -> list[Entity]:
    people = [e for e in entities if e.type == "person" and len(e.key) > 1]
    kept: list[Entity] = []
    for entity in entities:
        if entity in people or not ("person" in entity.types or _surname(entity, people)):
            kept.append(entity)
            continue
        short = entity.key
        fuller = [p for p in people if len(p.key) > len(short) and p.key[-len(short) :] == short]
        alone = Entity()
        for mention, name, kind in zip(entity.mentions, entity.names, entity.types, strict=True):
            latest = max(fuller, key=lambda p: p.last_before(mention.start), default=None)
            if len(fuller) == 1:
                fuller[0].add(mention, name, "person")
            elif latest is not None and latest.last_before(mention.start) >= 0:
                latest.add(mention, name, "person")
            else:
                alone.add(mention, name, kind)
        if alone.mentions:
            kept.append(alone)
    return kept


def _surname(entity: Entity, people: Sequence[Entity]) -> bool:
    """Whether ``entity`` is a one-word organisation that ends the name of a person named
    before it: "Scholz" after "Olaf Scholz", which a small recogniser may type as one."""
    if len(entity.key) != 1 or set(entity.types) != {"organisation"}:
        return False
    first = min(m.start for m in entity.mentions)
    return any(p.key[-1:] == entity.key and p.last_before(first) >= 0 for p in people)


def _join_acronyms_and_legal_forms(entities: list[Entity]) -> list[Entity]:
    named = [e for e in entities if e.type != "person" and len(e.key) > 1]
    kept: list[Entity] = []
    for entity in entities:
        target = None
        if entity.type != "person" and _ACRONYM.match(entity.name):
            letters = entity.name.replace(".", "").casefold()
            spelled = [e for e in named if e is not entity and _initials(e.key) == letters]
            target = spelled[0] if len(spelled) == 1 else None
        elif entity.type == "organisation":
            longer = [
                e
                for e in named
                if e is not entity
                and e.type == "organisation"
                and len(e.key) > len(entity.key)
                and e.key[: len(entity.key)] == entity.key
                and all(word in LEGAL_FORMS for word in e.key[len(entity.key) :])
            ]
            target = longer[0] if len(longer) == 1 else None
        if target is None:
            kept.append(entity)
        else:
            target.absorb(entity)
    return kept


def _initials(words: Sequence[str]) -> str:
    return "".join(word[0] for word in words if word not in _ACRONYM_SKIP)
