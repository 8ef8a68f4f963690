"""Measure entity sentiment: does it rank a praised entity above a criticised one in one article?

    .venv/bin/python bench/quality_entity_sentiment.py [--split dev|test|both]

Data (bench/entity_sentiment_data.py): NYT editorial sentences rated by ~20 people each
(-4..4), the one labelled set the sentiment head was neither fitted nor tuned on; dev and
test are disjoint sets of editorials, by committed lists. Two kinds of article go through
the service's own path in-process (PrepareStage: text, parse, vectors; then the ``entities``
and ``sentiment`` analyses on those vectors):

- pairs: a clearly positive sentence and a clearly negative one (|rating| >= 1), each naming
  an entity, from two editorials, joined into a two-sentence article, in both orders;
- editorials: whole editorials as the corpus holds them.

Gold: an entity of the result (person, organisation, place, event or product; "other" is
mostly nationalities) is treated positively when every rated sentence that mentions it is
rated above 0 and their mean is >= +0.5 (the sentiment bench's "clearly rated"), negatively
in the mirror case. Every (positive, negative) pair of entities in one article is a case;
the editorial table also gives the stricter subset at a mean of +-1. Sentence ratings are
a proxy for how the editorial treats the entity: of the 27 strict test editorials, read by
hand (tests/fixtures/entity_sentiment_checked.json), 9 hold 14 pairs that the text itself
praises and blames; the test run reports that subset too.

Per case, a system ranks A (positive) above B (negative): pairwise accuracy (a tie counts
half), the same averaged per article first (an editorial naming many entities would
otherwise weigh more), and the mean gap score(A) - score(B), on the sentiment scale -1..1. "Both labels"
is the share of cases where A is labelled positive and B negative by the head's band.
Systems, all from the same run's results:
- entity: the entities analysis's sentiment as it ships;
- document: the sentiment analysis's document score, the same for A and B by construction,
  so its accuracy is 0.5 and its gap 0 on every case (printed, not assumed);
- first sentence: the score of the first sentence that mentions the entity;
- plain mean: the unweighted mean over the sentences that mention it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import entity_sentiment_data as data

TEST_FILE = Path(__file__).resolve().parent / "splits" / "entity_sentiment_test.txt"
CHECKED = Path(__file__).resolve().parents[1] / "tests/fixtures/entity_sentiment_checked.json"
KEPT = frozenset({"person", "organisation", "place", "event", "product"})
GOLD = 0.5  # mean human rating an entity's sentences need, all of one sign
STRICT = 1.0
OPTIONS = {"entities": {"top_k": 200}, "sentiment": {}}

Score = Callable[[dict, dict], float]
SYSTEMS: dict[str, Score] = {
    "entity": lambda e, doc: e["sentiment"]["score"],
    "document": lambda e, doc: doc["score"],
    "first sentence": lambda e, doc: e["sentiment"]["sentences"][0]["score"],
    "plain mean": lambda e, doc: float(np.mean([s["score"] for s in e["sentiment"]["sentences"]])),
}


@dataclass
class Case:
    """Scores of one positive entity A and one negative entity B of an article."""

    article: str
    names: tuple[str, str]
    gold: tuple[float, float]
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)


class Runner:
    """The prepare stage and the two analyses, run in-process as the worker runs them."""

    def __init__(self) -> None:
        from copydesk.analyse.registry import AnalyserRegistry
        from copydesk.analyse.run import analyse
        from copydesk.core.settings import EMBEDDED, Settings
        from copydesk.prepare.stage import PrepareStage

        self.registry = AnalyserRegistry(Settings())
        self.stage = PrepareStage(self.registry)
        self.analyse = analyse
        self.label = self.registry.get("sentiment", EMBEDDED).head.label

    def names_entity(self, text: str) -> bool:
        """Whether the parse finds an entity of a kept type in ``text`` (no vectors)."""
        from copydesk.analyse.canonical import merge

        doc = self.stage.text(
            {"text": text, "language": "en"}, analyses=["entities"], options=OPTIONS
        ).doc
        return doc.parse is not None and any(
            e.type in KEPT for e in merge(doc.text, doc.parse.mentions)
        )

    def cases(self, article: data.Article) -> list[Case] | None:
        """The article's (positive, negative) entity cases; None if its text was changed."""
        prepared = self.stage(
            {"text": article.text, "language": "en"}, analyses=list(OPTIONS), options=OPTIONS
        )
        if prepared.doc.text != article.text:
            return None
        results = {
            name: self.analyse(
                registry=self.registry,
                analysis=name,
                doc=prepared.doc,
                options=opts,
                vectors=prepared.vectors,
            )
            for name, opts in OPTIONS.items()
        }
        assert all(r["status"] == "succeeded" for r in results.values()), results
        rated = article.rated()
        positive, negative = [], []
        for entity in results["entities"]["entities"]:
            if entity["type"] not in KEPT:
                continue
            hit = {
                i
                for m in entity["mentions"]
                for i, (a, b, _) in enumerate(rated)
                if a <= m["start"] < b
            }
            ratings = [rated[i][2] for i in hit]
            if all(r > 0 for r in ratings) and np.mean(ratings) >= GOLD:
                positive.append((entity, float(np.mean(ratings))))
            elif all(r < 0 for r in ratings) and np.mean(ratings) <= -GOLD:
                negative.append((entity, float(np.mean(ratings))))
        doc = results["sentiment"]
        out = []
        for (a, gold_a), (b, gold_b) in itertools.product(positive, negative):
            scores = {name: (score(a, doc), score(b, doc)) for name, score in SYSTEMS.items()}
            out.append(Case(article.id, (a["name"], b["name"]), (gold_a, gold_b), scores))
        return out


def figures(cases: list[Case], label: Callable[[float], str]) -> dict[str, dict[str, float]]:
    out = {}
    for name in SYSTEMS:
        pairs = np.array([c.scores[name] for c in cases]).reshape(-1, 2)
        a, b = pairs[:, 0], pairs[:, 1]
        right = (a > b) + 0.5 * (a == b)
        both = [label(x) == "positive" and label(y) == "negative" for x, y in zip(a, b)]
        per_article: dict[str, list[float]] = {}
        for case, hit in zip(cases, right, strict=True):
            per_article.setdefault(case.article, []).append(float(hit))
        out[name] = {
            "accuracy": _mean(right),
            "per article": _mean([np.mean(hits) for hits in per_article.values()]),
            "gap": _mean(a - b),
            "both labels": _mean(both),
        }
    return out


def _mean(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def table(title: str, cases: list[Case], label: Callable[[float], str]) -> None:
    articles = len({c.article.removesuffix("/rev") for c in cases})
    print(f"\n{title}: {len(cases)} cases in {articles} articles")
    rows = figures(cases, label)
    heads = ("accuracy", "per article", "mean gap", "both labels")
    print(f"  {'system':16s}" + "".join(f"{h:>13s}" for h in heads))
    for name, row in rows.items():
        print(
            f"  {name:16s}{row['accuracy']:13.3f}{row['per article']:13.3f}"
            f"{row['gap']:+13.3f}{row['both labels']:13.3f}"
        )
    ours = rows["entity"]
    for name in ("document", "first sentence", "plain mean"):
        base = rows[name]
        ratio = ours["accuracy"] / base["accuracy"] if base["accuracy"] else float("nan")
        print(
            f"  entity vs {name}: accuracy x{ratio:.2f} "
            f"({ours['accuracy'] - base['accuracy']:+.3f}), gap {ours['gap'] - base['gap']:+.3f}"
        )


def run_split(runner: Runner, split: str) -> None:
    editorials = data.dev_editorials() if split == "dev" else data.listed(TEST_FILE)
    positives, negatives = data.clear(editorials)
    positives = [s for s in positives if runner.names_entity(s.text)]
    negatives = [s for s in negatives if runner.names_entity(s.text)]
    pairs = data.pair_articles(positives, negatives)
    print(
        f"\n== {split}: {len(editorials)} editorials; clearly rated sentences naming an "
        f"entity: {len(positives)} positive, {len(negatives)} negative; {len(pairs)} pairs"
    )
    forward, skipped = collect(runner, (p for p, _ in pairs))
    backward, skipped2 = collect(runner, (r for _, r in pairs))
    table(f"{split} pairs, positive sentence first", forward, runner.label)
    table(f"{split} pairs, negative sentence first", backward, runner.label)
    table(f"{split} pairs, both orders", forward + backward, runner.label)
    whole, skipped3 = collect(runner, data.editorial_articles(editorials))
    table(f"{split} whole editorials (gold mean >= {GOLD})", whole, runner.label)
    strict = [c for c in whole if min(c.gold[0], -c.gold[1]) >= STRICT]
    table(f"{split} whole editorials, strict (gold mean >= {STRICT})", strict, runner.label)
    if split == "test":
        checked = json.loads(CHECKED.read_text(encoding="utf-8"))
        keep = {(c["editorial"], c["positive"], c["negative"]) for c in checked["confirmed"]}
        confirmed = [c for c in whole if (c.article, *c.names) in keep]
        print(
            f"\nhand check: {len(checked['checked'])} strict test editorials read, "
            f"{len(keep)} pairs in {len({k[0] for k in keep})} editorials confirmed as opposite "
            f"treatment ({len(confirmed)} of them found by this run)"
        )
        table("test editorials, hand-confirmed pairs", confirmed, runner.label)
    lost = skipped + skipped2 + skipped3
    print(f"  ({lost} articles left out: the prepare stage changed their text)")


def collect(runner: Runner, articles: Iterable[data.Article]) -> tuple[list[Case], int]:
    """All cases of ``articles``, and how many articles were left out."""
    cases, skipped = [], 0
    for article in articles:
        found = runner.cases(article)
        if found is None:
            skipped += 1
        else:
            cases += found
    return cases, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=("dev", "test", "both"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    began = time.perf_counter()
    runner = Runner()
    for split in ("dev", "test") if args.split == "both" else (args.split,):
        run_split(runner, split)
    print(f"\n{time.perf_counter() - began:.0f} s in all")


if __name__ == "__main__":
    main()
