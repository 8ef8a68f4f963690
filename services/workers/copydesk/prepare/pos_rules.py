"""Give a parsed doc the coarse parts of speech spaCy's attribute ruler would give it, faster.

en_core_web_sm sets ``token.pos_`` with an ``attribute_ruler``: 179 token patterns (a tag's
POS, then exceptions by word and dependency) run through spaCy's ``Matcher`` over every
token. That took a quarter of the whole parse (about 25 ms of 120 on a 600-token article),
and noun chunks and speech cues are all the parse-based analyses read of it. ``PosRules``
keeps only the patterns that set POS and indexes them by the tag they require, so a token is
checked against the few that can apply. It applies the same rules with the same precedence
(a later pattern overrides an earlier one, as the ruler's own ``set_annotations`` does);
``tests/unit/test_pos_rules.py`` checks it against the ruler token by token. A pattern it
cannot read (an operator or attribute it does not know) makes ``from_ruler`` return None,
and the parser keeps the ruler.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import Any, Final

ATTRIBUTES: Final = {
    "TAG": "tag_",
    "LOWER": "lower_",
    "DEP": "dep_",
    "ORTH": "text",
    "POS": "pos_",
    "IS_SPACE": "is_space",
}
"""The token attributes a pattern may test, by the Matcher's name."""

Test = tuple[str, Any]  # (token attribute, a value, or ("IN"|"NOT_IN", a set of values))
Rule = tuple[int, int, tuple[tuple[Test, ...], ...], str]  # order, anchor, tokens' tests, POS


class PosRules:
    """The POS-setting patterns of an attribute ruler, indexed by the anchor token's tag."""

    def __init__(self, by_tag: Mapping[str, list[Rule]], anywhere: list[Rule]) -> None:
        self.by_tag = dict(by_tag)
        self.anywhere = anywhere  # rules whose anchor names no single tag: tried on every token

    @classmethod
    def from_ruler(cls, patterns: Iterable[Mapping[str, Any]]) -> PosRules | None:
        """Read ``AttributeRuler.patterns``; None when one of them is beyond these rules."""
        by_tag: dict[str, list[Rule]] = defaultdict(list)
        anywhere: list[Rule] = []
        for order, rule in enumerate(patterns):
            pos = rule["attrs"].get("POS")
            if pos is None:
                continue
            for pattern in rule["patterns"]:
                tests = [_tests(token) for token in pattern]
                if any(t is None for t in tests) or not 0 <= rule["index"] < len(pattern):
                    return None
                entry = (order, rule["index"], tuple(tests), pos)  # type: ignore[arg-type]
                tag = pattern[rule["index"]].get("TAG")
                (by_tag[tag] if isinstance(tag, str) else anywhere).append(entry)
        return cls(by_tag, anywhere)

    def apply(self, doc: Any) -> None:
        """Set ``pos_`` on every token of ``doc`` that a rule matches (the last rule wins)."""
        size = len(doc)
        for token in doc:
            best: Rule | None = None
            for rule in chain(self.by_tag.get(token.tag_, ()), self.anywhere):
                order, anchor, tests, _ = rule
                if best is not None and order < best[0]:
                    continue
                start = token.i - anchor
                if start < 0 or start + len(tests) > size:
                    continue
                if all(_holds(doc[start + j], t) for j, t in enumerate(tests)):
                    best = rule
            if best is not None:
                token.pos_ = best[3]


def _tests(token: Mapping[str, Any]) -> tuple[Test, ...] | None:
    tests: list[Test] = []
    for name, want in token.items():
        if name not in ATTRIBUTES:
            return None
        if isinstance(want, Mapping):
            if len(want) != 1 or next(iter(want)) not in ("IN", "NOT_IN"):
                return None
            operator, values = next(iter(want.items()))
            want = (operator, frozenset(values))
        elif not isinstance(want, str | bool):
            return None
        tests.append((ATTRIBUTES[name], want))
    return tuple(tests)


def _holds(token: Any, tests: Sequence[Test]) -> bool:
    for attribute, want in tests:
        have = getattr(token, attribute)
        if isinstance(want, tuple):
            operator, values = want
            if (have in values) != (operator == "IN"):
                return False
        elif have != want:
            return False
    return True
