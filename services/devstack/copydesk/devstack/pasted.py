"""Dress real articles up the ways pasted text arrives, and score what cleaning kept.

Clients paste from web pages, e-mails and CMS exports: paragraphs set apart by blank lines
or by single newlines, hard-wrapped at 72 columns, CRLF line ends, a repeated headline, a
byline and a dateline on top, "Related" or "Read more" with a few headlines in mid-article,
and a list of headlines under "Top stories" at the end. Each dressed article keeps its
body paragraphs exactly, so the words cleaning kept can be counted against them. The
regression test (tests/unit/test_cleaning_corpus.py) and bench/cleaning.py share this.
"""

from __future__ import annotations

import random
import re
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

STYLES = ("blank-lines", "single-newlines", "wrapped-72", "crlf-blank-lines", "crlf-single")
MID_MARKERS = (
    "Related", "Read more", "Latest news", "More on this story", "Related articles",
    "Top stories", "You may also like", "Also read", "Related Topics", "Most read",
)  # fmt: skip
TAIL_MARKERS = ("Top stories", "More on this story", "Related", "Latest news", "Most read")
INLINE_FURNITURE = ("Advertisement", "Photo: Getty Images", "Share this article", "* * *")
BYLINES = ("By Maria Lindqvist", "By Tom Hale, Political correspondent", "By Staff reporter")
DATELINES = ("Published 14 March 2022", "Updated: Thursday 14 March 2024 09:30 GMT", "5 May 2021")


@dataclass(frozen=True, slots=True)
class Dressed:
    """One article as a client might paste it, with what is body and what is not."""

    id: str
    publisher: str
    style: str
    text: str
    body: tuple[str, ...]
    tail_list: tuple[str, ...]
    furniture: tuple[str, ...]


def dress(article: dict, *, style: str, headlines: Sequence[str], seed: str) -> Dressed:
    """Render ``article`` in ``style`` with furniture chosen by ``seed`` (reproducible)."""
    rng = random.Random(seed)
    scored = article.get("scored") or [True] * len(article["paragraphs"])
    body = [p for p, on in zip(article["paragraphs"], scored, strict=True) if on]
    blocks: list[list[str]] = [[p] for p in article["paragraphs"]]
    furniture: list[str] = []
    top: list[str] = []
    if article.get("title") and rng.random() < 0.5:
        top += [article["title"], article["title"]]
    if rng.random() < 0.5:
        top.append(rng.choice(BYLINES))
    if rng.random() < 0.5:
        top.append(rng.choice(DATELINES))
    furniture += top
    for _ in range(rng.choice((1, 1, 2))):
        if len(blocks) < 3:
            break
        where = rng.randrange(1, len(blocks) - 1)
        run = [rng.choice(MID_MARKERS), *rng.sample(list(headlines), rng.randint(0, 3))]
        blocks.insert(where, run)
        furniture += run
    for line in INLINE_FURNITURE:
        if rng.random() < 0.3 and len(blocks) >= 3:
            blocks.insert(rng.randrange(1, len(blocks) - 1), [line])
            furniture.append(line)
    tail: list[str] = []
    if rng.random() < 0.6:
        tail = rng.sample(list(headlines), rng.randint(3, 8))
        stamps = rng.random() < 0.3  # "2 hours ago" under each headline, as on live pages
        items = [
            x for h in tail for x in ([h, f"{rng.randint(1, 23)} hours ago"] if stamps else [h])
        ]
        blocks.append([rng.choice(TAIL_MARKERS), *items])
        furniture += blocks[-1]
    blocks.insert(0, top) if top else None
    text = _render(blocks, style=style)
    return Dressed(
        article["id"], article["publisher"], style, text, tuple(body), tuple(tail), tuple(furniture)
    )


def dress_corpus(corpus: Sequence[dict], *, style: str) -> list[Dressed]:
    """Dress every article in ``style``; the headlines in its lists are the others' titles."""
    titles = [a["title"] for a in corpus if a["title"]]
    return [
        dress(a, style=style, headlines=[t for t in titles if t != a["title"]],
              seed=f"{a['id']}|{style}")
        for a in corpus
    ]  # fmt: skip


def _render(blocks: list[list[str]], *, style: str) -> str:
    """Lay blocks out: within a block lines are packed; blocks are set apart per style."""
    if style.endswith("single") or style == "single-newlines":
        text = "\n".join(line for block in blocks for line in block)
    elif style == "wrapped-72":
        text = "\n\n".join("\n".join(textwrap.fill(line, 72) for line in b) for b in blocks)
    else:
        text = "\n\n".join("\n".join(block) for block in blocks)
    return text.replace("\n", "\r\n") if style.startswith("crlf") else text


def words(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.casefold()))


def body_words_kept(dressed: Dressed, cleaned: str) -> float:
    """Share of the body's words (with multiplicity) still in the cleaned text."""
    body = words(" ".join(dressed.body))
    kept = words(cleaned)
    return sum(min(n, kept[w]) for w, n in body.items()) / max(sum(body.values()), 1)


def tail_list_removed(dressed: Dressed, cleaned: str) -> bool:
    """Tell whether no headline of the trailing list survived as a line of its own."""
    lines = {line.strip() for line in cleaned.split("\n")}
    return not any(headline in lines for headline in dressed.tail_list)
