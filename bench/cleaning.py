"""Measure cleaning on the regression corpus: body words kept, furniture and lists removed.

260 real articles of 21 publishers (BBC News 2004-5, ABC News 2001, 20 publishers of
2021-22 news; tests/fixtures/cleaning_corpus.json), each dressed in five layouts
(copydesk.devstack.pasted): blank lines, single newlines,
hard-wrapped at 72 columns, and CRLF with either, plus headline copies, bylines, datelines,
mid-article "Related" runs and trailing headline lists. Every article goes through the real
``prepare``; the baseline is the same with cleaning off (``article.clean: false``).

    .venv/bin/python bench/cleaning.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from copydesk.prepare.text import prepare
from copydesk.devstack.pasted import STYLES, body_words_kept, dress_corpus, tail_list_removed

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cleaning_corpus.json"


def measure(articles: list, *, clean: bool) -> dict[str, float]:
    kept, tails, furniture, gone = [], [], 0, 0
    for article in articles:
        text = prepare(text=article.text, clean=clean).text
        kept.append(body_words_kept(article, text))
        if article.tail_list:
            tails.append(tail_list_removed(article, text))
        lines = {line.strip() for line in text.split("\n")}
        furniture += len(article.furniture)
        gone += sum(line not in lines for line in article.furniture)
    return {
        "min_kept": min(kept),
        "mean_kept": sum(kept) / len(kept),
        "under_995": sum(k < 0.995 for k in kept),
        "over_5pct_lost": sum(k < 0.95 for k in kept),
        "tails": len(tails),
        "tails_removed": sum(tails),
        "furniture_removed": gone / max(furniture, 1),
    }


def main() -> None:
    corpus = json.loads(CORPUS.read_text("utf-8"))
    began = time.perf_counter()
    publishers = {a["publisher"] for a in corpus}
    print(f"{len(corpus)} articles of {len(publishers)} publishers")
    print(
        f"{'layout':18} {'run':9} {'min kept':>9} {'mean kept':>10} {'<99.5%':>7} {'>5% lost':>8}"
        f" {'lists removed':>14} {'furniture removed':>18}"
    )
    for style in STYLES:
        articles = dress_corpus(corpus, style=style)
        for run, clean in (("copydesk", True), ("baseline", False)):
            m = measure(articles, clean=clean)
            print(
                f"{style:18} {run:9} {m['min_kept']:9.4f} {m['mean_kept']:10.4f}"
                f" {m['under_995']:7d} {m['over_5pct_lost']:8d}"
                f" {m['tails_removed']:>6d}/{m['tails']:<7d} {m['furniture_removed']:18.3f}"
            )
    print(f"({time.perf_counter() - began:.0f} s; baseline = the same texts with clean: false)")


if __name__ == "__main__":
    main()
