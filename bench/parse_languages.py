"""What the French and Russian entity parsers cost an article and a worker, beside English.

In one process on one thread, as a prepare worker grows: first the worker's start
(``load_models`` for the prepare queue: encoders, language detector; no parser), then the
English parse (the configured pipeline with its entity head: the baseline), then French
(fr_core_news_md's recogniser, ``copydesk/prepare/parse_fr.py``), then Russian (natasha,
``parse_ru.py``). After each load it prints the process's RSS and the load's time; then the
entities-only parse of each language's articles, in ms per article and per 1,000
characters, and the ratio of the latter to English's in the same run.

Articles: English, the BBC stories of bench/throughput.py; French, MasakhaNEWS's French dev
articles (BBC Afrique, bench/multilingual_data.py); Russian, the news samples in the corus
repository's test data (lenta.ru, gazeta.ru, RIA, TASS, Interfax, ...; read from its snapshot
on this machine: ``/work/.mirror/natasha+corus``); each language also gets its test fixture.
Without the snapshots only the fixtures are timed, and it says so.

Last, it checks what parse_fr.py claims: without its string table the French recogniser
finds the same entities as with it, on every French article here (that load costs another
240 MB, so it comes after the RSS figures).

    OMP_NUM_THREADS=1 .venv/bin/python bench/parse_languages.py
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from throughput import news  # noqa: E402

from copydesk.core.settings import Settings  # noqa: E402
from copydesk.prepare.parser import PARTS, Budget, parser_for  # noqa: E402
from copydesk.prepare.text import prepare  # noqa: E402
from copydesk.workers.process import load_models, release_memory  # noqa: E402

FIXTURES = Path(__file__).parents[1] / "tests" / "unit" / "fixtures"
CORUS = Path("/work/.mirror/natasha+corus/repo")
CORUS_FILES = [
    "data/lenta-ru-news.csv.gz",
    *(f"data/ods/{name}.csv.gz" for name in "gazeta interfax iz meduza ria rt tass-001".split()),
]
ENTITIES = frozenset({"entities"})


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def english(count: int) -> list[str]:
    return [f"{a['title']}. {a['text']}" for a in news(count)]


def french(count: int) -> tuple[list[str], str]:
    fixture = (FIXTURES / "article_fr.txt").read_text(encoding="utf-8")
    try:
        import multilingual_data

        items = multilingual_data.dev_items("masakhane-fra")[:count]
    except Exception as exc:  # noqa: BLE001 - the snapshot is missing: the fixture alone
        return [fixture], f"fixture only ({type(exc).__name__})"
    return [fixture, *(f"{i.title}. {i.text}" for i in items)], "MasakhaNEWS fr dev + fixture"


def russian() -> tuple[list[str], str]:
    texts = [(FIXTURES / "article_ru.txt").read_text(encoding="utf-8")]
    for name in CORUS_FILES:
        try:
            raw = subprocess.run(
                ["git", f"--git-dir={CORUS}", "show", f"HEAD:{name}"],
                capture_output=True,
                check=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            continue
        rows = csv.DictReader(io.StringIO(gzip.decompress(raw).decode("utf-8")))
        texts += [f"{r['title']}. {r['text']}" for r in rows if len(r.get("text") or "") > 300]
    source = "corus test samples + fixture" if len(texts) > 1 else "fixture only"
    return texts, source


def docs(texts: list[str], language: str) -> list:
    return [prepare(text=t, language=language) for t in texts]


def timed(parser, documents: list, *, repeats: int = 3) -> tuple[float, float, int]:
    """Median ms per article and ms per 1,000 characters over ``repeats`` passes (the
    first parse of each language is a warm-up); and the mentions found."""
    parser.parse(documents[0], Budget(), parts=ENTITIES)
    per_article, per_kchar, found = [], [], 0
    for _ in range(repeats):
        for doc in documents:
            began = time.perf_counter()
            parse = parser.parse(doc, Budget(), parts=ENTITIES)
            ms = (time.perf_counter() - began) * 1000
            per_article.append(ms)
            per_kchar.append(ms / max(parse.end, 1) * 1000)
            found += len(parse.mentions)
    return statistics.median(per_article), statistics.median(per_kchar), found // repeats


def main() -> None:
    settings = Settings()
    print(f"python {sys.version.split()[0]}, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    start = rss_mb()
    began = time.perf_counter()
    load_models(settings, queues={"prepare"})
    release_memory()
    print(
        f"prepare worker started ({settings.sentence_encoder}): RSS {rss_mb():.0f} MB "
        f"(+{rss_mb() - start:.0f}, {time.perf_counter() - began:.1f} s)"
    )

    fr_texts, fr_source = french(40)
    ru_texts, ru_source = russian()
    corpora = {
        "en": (english(40), "BBC stories of bench/throughput.py"),
        "fr": (fr_texts, fr_source),
        "ru": (ru_texts, ru_source),
    }
    parsers, figures = {}, {}
    for language, (texts, source) in corpora.items():
        documents = docs(texts, language)
        before, began = rss_mb(), time.perf_counter()
        parser = parser_for(language, model=settings.parser_model)
        parsers[language] = (parser, documents)
        parser.parse(documents[0], Budget(), parts=PARTS)  # its first article
        release_memory()
        loaded = time.perf_counter() - began
        print(
            f"{language}: {parser.model} loaded in {loaded:.1f} s; worker RSS {rss_mb():.0f} MB "
            f"(+{rss_mb() - before:.0f})"
        )
        figures[language] = (*timed(parser, documents), len(documents), source)
    print()
    print("entities-only parse, one thread (median over 3 passes)")
    base = figures["en"][1]
    for language, (ms, per_kchar, found, n, source) in figures.items():
        chars = statistics.median(len(d.text) for d in parsers[language][1])
        print(
            f"  {language}: {ms:6.1f} ms/article  {per_kchar:5.2f} ms/1000 chars "
            f"({per_kchar / base:.2f}x English)  {n} articles of median {chars:.0f} chars, "
            f"{found} mentions  [{source}]"
        )
    print(f"worker RSS with all three parsers: {rss_mb():.0f} MB (bound: 700)")
    print()
    same_without_strings(parsers["fr"][1])


def same_without_strings(documents: list) -> None:
    """parse_fr.py's claim: its string table changes nothing the recogniser finds."""
    from copydesk.prepare import parse_fr
    from copydesk.prepare.parser import _spacy

    spacy = _spacy()
    lean = parse_fr.load(spacy)
    full = spacy.load(parse_fr.MODEL, exclude=[p for p in parse_fr.NOT_LOADED if p != "strings"])

    def ents(nlp, text: str) -> list[tuple[int, int, str]]:
        return [(e.start_char, e.end_char, e.label_) for e in nlp(text).ents]

    differing = [d for d in documents if ents(lean, d.text) != ents(full, d.text)]
    print(
        f"fr without its string table: the same entities in {len(documents) - len(differing)} "
        f"of {len(documents)} articles ({len(full.vocab.strings)} strings with it, "
        f"{len(lean.vocab.strings)} without)"
    )


if __name__ == "__main__":
    main()
