"""Give a parsed doc the coarse parts of speech spaCy's attribute ruler would give it, faster.

en_core_web_sm sets ``token.pos_`` with an ``attribute_ruler``: 179 token patterns (a tag's
POS, then exceptions by word and dependency) run through spaCy's ``Matcher`` over every
token. That took a quarter of the whole parse, and noun chunks and speech cues are all the
parse-based analyses read of it. ``PosRules`` keeps only the patterns that set POS and
applies them to whole columns of the doc at once (``Doc.to_array``/``from_array``): a
pattern that tests a tag alone is one lookup by tag for every token, and each other pattern
(a word, a dependency, two tokens) is a boolean mask over the tokens. A Python loop over
the tokens, even indexed by tag and memoised, cost 15 ms of a 600-token article; the
columns cost well under one. It applies the same rules with the same precedence (a later
pattern overrides an earlier one, as the ruler's own ``set_annotations`` does);
``tests/unit/test_pos_rules.py`` checks it against the ruler token by token. A pattern it
cannot read (an operator or attribute it does not know) makes ``from_ruler`` return None,
and the parser keeps the ruler.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

ATTRIBUTES: Final = ("TAG", "LOWER", "DEP", "ORTH", "POS", "IS_SPACE")
"""The token attributes a pattern may test, by the Matcher's (and ``Doc.to_array``'s) name."""
MAX_CELLS: Final = 4_000_000
"""Most cells in the table of one-token rules (en_core_web_sm's has 271,440: 57 tags, 103
words, 14 dependencies, a space or not, each with one more for any other value)."""

Test = tuple[str, Any]  # (attribute, a value, or ("IN"|"NOT_IN", a frozenset of values))
Rule = tuple[int, int, tuple[tuple[Test, ...], ...], str]  # order, anchor, tokens' tests, POS


class PosRules:
    """The POS-setting patterns of an attribute ruler, applied column-wise to a doc."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = sorted(rules, key=lambda rule: rule[0])
        self.attributes = sorted({a for rule in self.rules for tests in rule[2] for a, _ in tests})
        self._compiled: _Compiled | None = None

    @classmethod
    def from_ruler(cls, patterns: Iterable[Mapping[str, Any]]) -> PosRules | None:
        """Read ``AttributeRuler.patterns``; None when one of them is beyond these rules, or
        the values they name are too many for one table (``MAX_CELLS``)."""
        rules: list[Rule] = []
        for order, rule in enumerate(patterns):
            pos = rule["attrs"].get("POS")
            if pos is None:
                continue
            for pattern in rule["patterns"]:
                tests = [_tests(token) for token in pattern]
                if any(t is None for t in tests) or not 0 <= rule["index"] < len(pattern):
                    return None
                rules.append((order, rule["index"], tuple(tests), pos))  # type: ignore[arg-type]
        named: dict[str, set[Any]] = {}
        for _, _, tokens, _ in rules:
            for attribute, want in (test for tests in tokens for test in tests):
                named.setdefault(attribute, set()).update(_values(want))
        if math.prod(len(values) + 1 for values in named.values()) > MAX_CELLS:
            return None
        return cls(rules)

    def compile(self, strings: Any) -> _Compiled:
        """Hash the rules' values into their tables, once (about 60 ms for en_core_web_sm's;
        spaCy hashes a string the same in every vocab)."""
        if self._compiled is None:
            self._compiled = _compile(self.rules, self.attributes, strings)
        return self._compiled

    def apply(self, doc: Any) -> None:
        """Set ``pos_`` on every token of ``doc`` that a rule matches (the last rule wins)."""
        if not len(doc):
            return
        compiled = self.compile(doc.vocab.strings)
        columns = doc.to_array([*self.attributes, "POS"])
        ids = [compiled.ids(at, columns[:, at]) for at in range(len(self.attributes))]
        cell = np.ravel_multi_index(ids, compiled.order.shape) if ids else np.zeros(len(doc), int)
        order = compiled.order.ravel()[cell]
        pos = np.where(order >= 0, compiled.pos.ravel()[cell], columns[:, -1])
        for rule_order, anchor, masks, value in compiled.spanning:
            hit = _match(masks, anchor, ids, len(doc)) & (order < rule_order)
            order[hit], pos[hit] = rule_order, value
        doc.from_array(["POS"], pos.astype(np.uint64))


@dataclass(frozen=True, slots=True)
class _Compiled:
    """The rules with every value they name hashed as spaCy hashes strings.

    ``known[i]`` are the sorted hashes the rules name for the i-th attribute; a token's value
    becomes its index there (``len(known[i])`` for any other value). A rule of one token
    depends on those indices alone, so all of them together are two tables with an axis per
    attribute: ``order``, the latest rule that matches (-1: none), and ``pos``, its POS.
    ``spanning`` are the rules of several tokens (one in en_core_web_sm), latest last, each
    as a boolean table per token and attribute, its anchor and its POS.
    """

    known: tuple[np.ndarray, ...]
    order: np.ndarray
    pos: np.ndarray
    spanning: tuple[tuple[int, int, tuple[tuple[tuple[int, np.ndarray], ...], ...], int], ...]

    def ids(self, at: int, column: np.ndarray) -> np.ndarray:
        known = self.known[at]
        if not len(known):
            return np.zeros(len(column), dtype=np.intp)
        found = np.minimum(np.searchsorted(known, column), len(known) - 1)
        return np.where(known[found] == column, found, len(known))


def _compile(rules: Sequence[Rule], attributes: Sequence[str], strings: Any) -> _Compiled:
    def hashed(attribute: str, value: Any) -> int:
        return int(value) if attribute == "IS_SPACE" else int(strings[value])

    axis = {attribute: at for at, attribute in enumerate(attributes)}
    named: list[set[int]] = [set() for _ in attributes]
    for _, _, tokens, _ in rules:
        for attribute, want in (test for tests in tokens for test in tests):
            named[axis[attribute]].update(hashed(attribute, w) for w in _values(want))
    known = tuple(np.array(sorted(values), dtype=np.uint64) for values in named)
    shape = tuple(len(values) + 1 for values in known)

    def table(attribute: str, want: Any) -> np.ndarray:
        members = {hashed(attribute, w) for w in _values(want)}
        inside = np.array([*(int(h) in members for h in known[axis[attribute]]), False])
        return ~inside if isinstance(want, tuple) and want[0] == "NOT_IN" else inside

    order = np.full(shape, -1, dtype=np.int32)
    pos = np.zeros(shape, dtype=np.uint64)
    spanning = []
    for rule_order, anchor, tokens, value in rules:  # earliest first: a later rule overrides
        if len(tokens) == 1:
            hit = np.ones(shape, dtype=bool)
            for attribute, want in tokens[0]:
                along = [1] * len(shape)
                along[axis[attribute]] = -1
                hit &= table(attribute, want).reshape(along)
            order[hit], pos[hit] = rule_order, hashed("POS", value)
            continue
        masks = tuple(tuple((axis[a], table(a, w)) for a, w in tests) for tests in tokens)
        spanning.append((rule_order, anchor, masks, hashed("POS", value)))
    return _Compiled(known, order, pos, tuple(spanning))


def _match(
    masks: Sequence[Sequence[tuple[int, np.ndarray]]],
    anchor: int,
    ids: Sequence[np.ndarray],
    size: int,
) -> np.ndarray:
    """Which tokens a rule sets: those at ``anchor`` in a run of tokens passing its tests."""
    hit = np.ones(size, dtype=bool)
    if len(masks) > size:
        return ~hit
    for j, tests in enumerate(masks):
        passes = np.ones(size, dtype=bool)
        for at, table in tests:
            passes &= table[ids[at]]
        shift = j - anchor  # the anchor at i needs token i + shift to pass
        if shift > 0:
            hit[size - shift :] = False
            hit[: size - shift] &= passes[shift:]
        elif shift < 0:
            hit[:-shift] = False
            hit[-shift:] &= passes[: size + shift]
        else:
            hit &= passes
    return hit


def _values(want: Any) -> Iterable[Any]:
    """The values a test names: its set for IN and NOT_IN, else the one it wants."""
    return want[1] if isinstance(want, tuple) else (want,)


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
        tests.append((name, want))
    return tuple(tests)
