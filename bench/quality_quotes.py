"""Score the quotes analysis's speakers and spans against textacy's, on the hand-checked fixture.

    .venv/bin/python bench/quality_quotes.py [--split dev|test|both]

Data: tests/fixtures/quotes_fixture.json, 56 BBC News stories with every quote labelled by
hand (tests/fixtures/quotes_README.md). Split by desk: dev is politics and tech
(``splits/quotes_dev.txt``), test is business, entertainment and sport
(``splits/quotes_test.txt``); rules are tuned on ``--split dev`` alone, and only the final
report reads the test list.

Baseline, in the same run: textacy's ``textacy.extract.triples.direct_quotations`` over the
full en_core_web_sm pipeline (the package copydesk parses with, lemmatizer included, which
textacy's cue verbs need). textacy gives up on a document with an odd number of quotation
marks (a quote that runs over paragraphs), so such a story is given to it paragraph by
paragraph, and only a paragraph that is odd itself is lost. Its speaker counts as a name
only when it holds a proper noun: "he" and "a spokesman" are no name, as copydesk's
``null`` is none, so neither system is marked down for declining to name.

Matching:
- A span is compared without its quotation marks and the spaces and punctuation at its
  ends. A predicted quote matches a gold quote when their overlap is at least half of each
  (of the longer); each gold quote matches at most one prediction, largest overlap first.
- Quote precision: matched predictions / predictions; recall: matched gold / gold quotes.
  A prediction of fewer than 3 words that matches nothing is not counted (the gold leaves
  such fragments out).
- Speaker: names are compared after normalisation: case folded, possessives and
  punctuation dropped, a leading "the" and titles (Mr, Ms, Dr, Sir, Lord, Lady, Baroness,
  ...) dropped; two names agree when one's words end the other's ("Blair" and
  "Tony Blair"), or agree with one of the gold aliases ("UKIP").
- Speaker precision: predictions with a name whose quote matches a gold quote with an
  agreeing name / predictions with a name. Speaker recall: the same / gold quotes with a
  name. A named speaker on a quote that matches nothing, or on a quote whose gold speaker
  is null, counts against precision.
- "direct" compares direct quotes only, what textacy extracts (the acceptance figure);
  "all" adds indirect speech, which textacy does not attempt.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "quotes_fixture.json"
SPLITS = Path(__file__).resolve().parent / "splits"
MARKS = "\"“”«»'‘’ \n\t,.;:-"
TITLES = frozenset("""mr mrs ms miss dr sir dame lord lady baroness prof professor rev""".split())
MIN_WORDS = 3


@dataclass(frozen=True, slots=True)
class Quote:
    start: int
    end: int
    kind: str  # direct | indirect
    speaker: str | None
    aliases: tuple[str, ...] = ()


def stripped(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without its quotation marks and the spaces and punctuation at its ends."""
    while start < end and text[start] in MARKS:
        start += 1
    while end > start and text[end - 1] in MARKS:
        end -= 1
    return start, end


def words(name: str) -> tuple[str, ...]:
    """A name's words after normalisation (case, possessive, "the", titles)."""
    found = re.findall(r"[\w'-]+", name.casefold().replace("’", "'"))
    found = [w[:-2] if w.endswith("'s") else w for w in found]
    if found and found[0] == "the":
        found = found[1:]
    while found and found[0] in TITLES:
        found = found[1:]
    return tuple(found)


def agree(predicted: str, gold: Quote) -> bool:
    said = words(predicted)
    for name in (gold.speaker or "", *gold.aliases):
        known = words(name)
        if said and known:
            shorter, longer = sorted((said, known), key=len)
            if longer[len(longer) - len(shorter) :] == shorter:
                return True
    return False


def overlap(a: Quote, b: Quote) -> float:
    common = min(a.end, b.end) - max(a.start, b.start)
    return max(common, 0) / max(a.end - a.start, b.end - b.start, 1)


@dataclass
class Score:
    predicted: int = 0
    gold: int = 0
    matched: int = 0
    named: int = 0  # predictions with a named speaker
    gold_named: int = 0
    right: int = 0  # named and agreeing with the gold speaker

    def add(self, text: str, gold: Sequence[Quote], predicted: Sequence[Quote]) -> None:
        pairs = sorted(
            ((overlap(g, p), i, j) for i, g in enumerate(gold) for j, p in enumerate(predicted)),
            reverse=True,
        )
        match: dict[int, int] = {}
        taken: set[int] = set()
        for share, i, j in pairs:
            if share >= 0.5 and i not in match and j not in taken:
                match[i] = j
                taken.add(j)
        counted = [
            j
            for j, p in enumerate(predicted)
            if j in taken or len(text[p.start : p.end].split()) >= MIN_WORDS
        ]
        self.predicted += len(counted)
        self.gold += len(gold)
        self.matched += len(match)
        self.named += sum(predicted[j].speaker is not None for j in counted)
        self.gold_named += sum(g.speaker is not None for g in gold)
        self.right += sum(
            1
            for i, j in match.items()
            if predicted[j].speaker is not None
            and gold[i].speaker is not None
            and agree(predicted[j].speaker, gold[i])
        )

    def figures(self) -> dict[str, float]:
        return {
            "speaker P": self.right / max(self.named, 1),
            "speaker R": self.right / max(self.gold_named, 1),
            "quote P": self.matched / max(self.predicted, 1),
            "quote R": self.matched / max(self.gold, 1),
        }


def gold_quotes(article: dict) -> list[Quote]:
    return [
        Quote(
            *stripped(article["text"], q["start"], q["end"]),
            q["type"],
            q["speaker"],
            tuple(q["aliases"]),
        )
        for q in article["quotes"]
    ]


class Copydesk:
    """The service's path: the prepare stage's parse, then the quotes analysis."""

    name = "copydesk"

    def __init__(self) -> None:
        from copydesk.analyse.quotes import QuoteFinder
        from copydesk.analyse.registry import AnalyserRegistry
        from copydesk.core.settings import Settings
        from copydesk.prepare.stage import PrepareStage

        self.stage = PrepareStage(AnalyserRegistry(Settings()))
        self.finder = QuoteFinder()

    def quotes(self, article: dict) -> list[Quote]:
        prepared = self.stage.text(
            {"text": article["text"], "title": article["title"], "language": "en"},
            analyses=["quotes"],
            options={"quotes": {}},
        )
        text = prepared.doc.text
        assert text == article["text"], "the prepare stage changed the text: offsets differ"
        return [
            Quote(
                *stripped(text, q["start"], q["end"]),
                q["type"],
                q["speaker"]["name"] if q["speaker"] else None,
            )
            for q in self.finder(prepared.doc, {})["quotes"]
        ]


class Textacy:
    """textacy's direct quotations over the whole spaCy pipeline (the baseline)."""

    name = "textacy"

    def __init__(self) -> None:
        import spacy
        from textacy.extract.triples import direct_quotations

        from copydesk.core.settings import Settings

        self.nlp = spacy.load(Settings().parser_model)
        self.extract = direct_quotations

    def quotes(self, article: dict) -> list[Quote]:
        text = article["text"]
        try:
            return list(self._quotes(text, 0))
        except ValueError:  # an odd number of marks: paragraph by paragraph
            found: list[Quote] = []
            for match in re.finditer(r"[^\n]+", text):
                try:
                    found += self._quotes(match[0], match.start())
                except ValueError:
                    continue
            return found

    def _quotes(self, text: str, base: int) -> Iterable[Quote]:
        doc = self.nlp(text)
        for triple in list(self.extract(doc)):
            named = any(token.pos_ == "PROPN" for token in triple.speaker)
            speaker = " ".join(token.text for token in triple.speaker) if named else None
            start, end = stripped(text, triple.content.start_char, triple.content.end_char)
            yield Quote(base + start, base + end, "direct", speaker)


def articles(split: str) -> list[dict]:
    keep = set((SPLITS / f"quotes_{split}.txt").read_text(encoding="utf-8").split())
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return [a for a in data["articles"] if a["id"] in keep]


def evaluate(split: str, systems: Sequence[Copydesk | Textacy]) -> None:
    chosen = articles(split)
    scores = {(s.name, scope): Score() for s in systems for scope in ("direct", "all")}
    seconds = dict.fromkeys((s.name for s in systems), 0.0)
    for article in chosen:
        gold = gold_quotes(article)
        for system in systems:
            began = time.perf_counter()
            predicted = system.quotes(article)
            seconds[system.name] += time.perf_counter() - began
            direct = [q for q in predicted if q.kind == "direct"]
            golden = [q for q in gold if q.kind == "direct"]
            scores[system.name, "direct"].add(article["text"], golden, direct)
            scores[system.name, "all"].add(article["text"], gold, predicted)
    total = scores[systems[0].name, "all"]
    print(
        f"{split}: {len(chosen)} stories, {total.gold} gold quotes "
        f"({scores[systems[0].name, 'direct'].gold} direct), {total.gold_named} with a speaker"
    )
    for scope in ("direct", "all"):
        base = scores["textacy", scope].figures()
        for system in systems:
            figures = scores[system.name, scope].figures()
            shown = "  ".join(f"{k} {v:.3f}" for k, v in figures.items())
            line = f"  {scope:6} {system.name:8} {shown}"
            if system.name != "textacy":
                ratios = ", ".join(
                    f"{k} {v / base[k]:.2f}x" if base[k] else f"{k} n/a" for k, v in figures.items()
                )
                line += f"\n  {'':6} {'ratio':8} {ratios} (copydesk / textacy)"
            print(line)
    ours, theirs = scores["copydesk", "direct"].figures(), scores["textacy", "direct"].figures()
    beats = all(ours[k] > theirs[k] for k in ("speaker P", "speaker R"))
    print(
        f"  {'PASS' if beats else 'FAIL'}: copydesk's speaker precision and recall on direct "
        f"quotes {'beat' if beats else 'do not both beat'} textacy's ({split}); "
        f"{seconds['copydesk']:.1f} s and {seconds['textacy']:.1f} s in all"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=("dev", "test", "both"))
    args = parser.parse_args()
    systems = (Copydesk(), Textacy())
    for split in ("dev", "test") if args.split == "both" else (args.split,):
        evaluate(split, systems)


if __name__ == "__main__":
    main()
