"""Cleaning keeps the body and drops the furniture on real articles pasted every usual way.

The corpus (tests/fixtures/cleaning_corpus.json, written by bench/make_cleaning_corpus.py)
holds 260 real articles of 21 publishers (BBC News 2004-5, ABC News 2001, and 20 publishers
of 2021-22 news); each is dressed in five layouts with headline copies, bylines, datelines,
mid-article "Related" runs and trailing headline lists (copydesk.devstack.pasted), then
prepared as the worker does. Body words are those of the sources' prose paragraphs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copydesk.prepare.text import prepare
from copydesk.devstack.pasted import (
    MID_MARKERS,
    STYLES,
    Dressed,
    body_words_kept,
    dress_corpus,
    tail_list_removed,
)

CORPUS = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "cleaning_corpus.json").read_text("utf-8")
)


def dressed(style: str) -> list[Dressed]:
    return dress_corpus(CORPUS, style=style)


@pytest.mark.parametrize("style", STYLES)
def test_every_article_keeps_its_body_and_loses_its_lists(style: str) -> None:
    articles = dressed(style)
    assert len({a.publisher for a in articles}) >= 20
    kept, with_tail, tails_removed = [], 0, 0
    for article in articles:
        text = prepare(text=article.text).text
        kept.append((body_words_kept(article, text), article.id))
        if article.tail_list:
            with_tail += 1
            tails_removed += tail_list_removed(article, text)
    assert min(kept)[0] >= 0.995, f"{style}: body words lost in {min(kept)[1]}"
    assert with_tail >= 50 and tails_removed >= 0.95 * with_tail


def test_the_corpus_is_hard_enough_to_fail_a_careless_cleaner() -> None:
    """Without its rules the measurement fails: the lists stay (clean: false)."""
    articles = [a for a in dressed("single-newlines") if a.tail_list]
    left = [a for a in articles if not tail_list_removed(a, prepare(text=a.text, clean=False).text)]
    assert len(left) == len(articles)


def test_a_cleaner_that_cuts_at_mid_article_markers_is_caught() -> None:
    """The old rule (cut everything after "Related" when lines are packed) loses body."""
    lost = 0
    for article in dressed("single-newlines"):
        lines = article.text.split("\n")
        first = next((n for n, line in enumerate(lines) if line in MID_MARKERS and n > 0), None)
        cut = "\n".join(lines[:first]) if first else article.text
        lost += body_words_kept(article, cut) < 0.995
    assert lost >= 50
