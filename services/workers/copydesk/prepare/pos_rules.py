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
MEMO: Final = 20_000
"""Most token attribute combinations whose part of speech is kept (then forgotten at once)."""

Test = tuple[str, Any]  # (token attribute, a value, or ("IN"|"NOT_IN", a set of values))
Rule = tuple[int, int, tuple[tuple[Test, ...], ...], str]  # order, anchor, tokens' tests, POS


class PosRules:
    """The POS-setting patterns of an attribute ruler, indexed by the anchor token's tag."""

    def __init__(self, by_tag: Mapping[str, list[Rule]], anywhere: list[Rule]) -> None:
        every = [*chain(*by_tag.values()), *anywhere]
        self.attributes = sorted({a for rule in every for tests in rule[2] for a, _ in tests})
        # A rule of one token depends on that token's attributes alone, so what the rules
        # give a token is kept by those attributes (``_memo``, at most MEMO entries); a tag's
        # rules and those naming no single tag are tried latest first, and the first that
        # matches is the one the ruler would have applied last. Rules spanning tokens (a
        # handful) are tried on every token after.
        single = [rule for rule in every if len(rule[2]) == 1]
        tags = {tag for tag in by_tag}
        self.single = {
            tag: _latest_first(r for r in single if r in by_tag.get(tag, ()) or r in anywhere)
            for tag in tags
        }
        self.single_anywhere = _latest_first(r for r in single if r in anywhere)
        self.spanning = _latest_first(rule for rule in every if len(rule[2]) > 1)
        self._memo: dict[tuple[Any, ...], tuple[int, str] | None] = {}

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
        values = {attribute: [getattr(t, attribute) for t in doc] for attribute in self.attributes}
        columns = [values[attribute] for attribute in self.attributes]
        size = len(doc)
        if len(self._memo) > MEMO:
            self._memo.clear()
        for at, token in enumerate(doc):
            key = tuple(column[at] for column in columns)
            found = self._memo.get(key, _UNSEEN)
            if found is _UNSEEN:
                rules = self.single.get(values["tag_"][at], self.single_anywhere)
                found = next(
                    ((rule[0], rule[3]) for rule in rules if _holds(values, at, rule[2][0])), None
                )
                self._memo[key] = found
            for order, anchor, tests, pos in self.spanning:
                if found is not None and order < found[0]:
                    break
                start = at - anchor
                if 0 <= start and start + len(tests) <= size:
                    if all(_holds(values, start + j, t) for j, t in enumerate(tests)):
                        found = (order, pos)
                        break
            if found is not None:
                token.pos_ = found[1]


_UNSEEN: Final = object()


def _latest_first(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    return tuple(sorted(rules, key=lambda rule: -rule[0]))


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


def _holds(values: Mapping[str, list[Any]], at: int, tests: Sequence[Test]) -> bool:
    """Whether the token at ``at`` passes ``tests``, read from ``values`` (by attribute)."""
    for attribute, want in tests:
        have = values[attribute][at]
        if isinstance(want, tuple):
            operator, values_in = want
            if (have in values_in) != (operator == "IN"):
                return False
        elif have != want:
            return False
    return True
