"""Measure English custom labels on news in other languages, beside English news, same run.

Articles and labels come from ``multilingual_data.py``: publishers' own sections mapped to six
English custom labels (business, entertainment, health, politics, sport, technology), in
German (derStandard), French (BBC Afrique), Japanese (livedoor), Portuguese (a Brazilian
site), Turkish (TTC-3600: six portals' category feeds) and English (BBC News 2020-2022, MasakhaNEWS; no topic choice saw it). This script is
the reporting step: it is the only code that reads the locked test list
``splits/multilingual_test.txt``; nothing here is chosen.

For each encoder family (COPYDESK_SENTENCE_ENCODER: minilm, use-m3) every test article goes
through the real ``copydesk.prepare.text.prepare`` (no language hint: detection decides, as
for a client that sends none) and the service's own embedded topics analyser with the six
labels as custom labels, top-1. An article the analyser refuses (``unsupported_language``:
MiniLM reads English only) counts as refused; a language whose articles are all refused
prints n/a. Rows:

  ours      the deployed analyser, default options, the six English labels
  baseline  bare label names embedded, plain mean of the article's sentence vectors
  gap       ours in this language minus ours on English, same encoder
  en-mix    English re-weighted to the language's own label counts (its labels and their mix
            differ from English's), and the gap to that
  iptc      the default taxonomy (the 17 IPTC Media Topics, no labels sent), top-1 against the
            section's topic (``multilingual_data.IPTC``: business -> economy, business and
            finance, and so on), beside the same without the topics' section names in other
            languages (ablation, ``topics.expanded_prototypes``) and bare topic names
            (baseline); reported, with no verdict

The verdicts: PASS when, with use-m3, every non-English language is at most 0.08 below
English (issue 19, acceptance 2), once against English overall and once against English on
the language's label mix; and the same for the default mix, whose English articles MiniLM
reads (the minilm column's English, with USE-m3 on the headline as the mix reads it) while
USE-m3 reads the others. The second comparison was added after the first run had printed
the per-label figures; neither changes what is measured.

One change to the classifier was chosen for these languages, on the dev split only
(``multilingual_select.py``): a label that names a news section brings the section's names in
the 14 other languages of USE-m3 (``copydesk.analyse.sections``) for an article not in
English. Its one test run, use-m3, ours (before it): en 0.783 (0.783), fr 0.753 (0.687),
de 0.711 (0.695), ja 0.867 (0.883), pt 0.875 (0.850); both verdicts PASS (before: FAIL, fr
-0.097, de -0.088). Each language has one source, so the choice was not held out by source.
Turkish was added after that choice, so no choice saw any of its articles, dev or test.
The IPTC rows were added later, and one change was then chosen for them on the dev split
(``multilingual_select.py``): for an article not in English, every topic's section names in
the 14 languages join its texts (``topics.prototypes_for``; dev mean of the five languages
0.678 -> 0.699). The ablation column prints the test split without it, and the dev gain did
not carry over: in its first test run fr +0.027, pt +0.010, tr +0.004, de -0.005, ja -0.025.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/quality_multilingual.py [--encoders minilm,use-m3]

The sources must be on this machine (``multilingual_data`` says which to fetch).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

import multilingual_data

TEST_FILE = multilingual_data.SPLITS / "multilingual_test.txt"  # read here and nowhere else
FAMILIES = ("minilm", "use-m3")
MARGIN = 0.08


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default=",".join(FAMILIES))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    corpora = {
        name: multilingual_data.listed(name, TEST_FILE) for name in multilingual_data.SOURCES
    }
    print(f"labels: {', '.join(multilingual_data.LABELS)}; split: test ({TEST_FILE.name})")
    table: dict[str, dict[str, dict]] = {}
    for family in args.encoders.split(","):
        table[family] = run(family, corpora)
    summary(table, corpora)


def run(family: str, corpora: dict[str, list]) -> dict[str, dict]:
    """Classify every test article of every source with one encoder; print and return rows."""
    from copydesk.analyse import iptc
    from copydesk.analyse.embedder import get_embedder
    from copydesk.analyse.topics import EmbeddingTopicClassifier

    embedder = get_embedder(family=family)
    # as the default mix (minilm+use-m3) reads English: USE-m3 on the headline beside MiniLM
    second = EmbeddingTopicClassifier.second_encoder(family, ("minilm", "use-m3"))
    classifier = EmbeddingTopicClassifier(
        embedder=embedder, second=get_embedder(family=second) if second else None
    )
    labels = multilingual_data.LABELS
    bare = embedder.encode(labels)
    topics = iptc.topic_names()
    bare_topics = embedder.encode(topics)
    print(f"\n== {family}: {embedder.name}")
    rows = {}
    for name, items in corpora.items():
        started = time.perf_counter()
        truth, ours, base, topic, topic_english, topic_base, refused = [], [], [], [], [], [], 0
        for item in items:
            picked = classify(classifier, item, labels)
            if picked is None:
                refused += 1
                continue
            top, top_topic, english_topic, plain = picked
            truth.append(item.label)
            ours.append(top)
            base.append(labels[int(np.argmax(bare @ plain))])
            topic.append(top_topic)
            topic_english.append(english_topic)
            topic_base.append(topics[int(np.argmax(bare_topics @ plain))])
        seconds = time.perf_counter() - started
        row = {"n": len(truth), "refused": refused, "seconds": seconds}
        if truth:
            row |= {"ours": _accuracy(ours, truth), "baseline": _accuracy(base, truth)}
            sections = [multilingual_data.IPTC[label] for label in truth]
            row |= {"iptc": _accuracy(topic, sections), "iptc_no_names": _accuracy(topic_english, sections),
                    "iptc_baseline": _accuracy(topic_base, sections)}  # fmt: skip
            row["counts"] = dict(Counter(truth))
            row["per_label"] = {
                label: _accuracy([o for o, t in zip(ours, truth) if t == label], [label] * n)
                for label, n in sorted(Counter(truth).items())
            }
            row["confused"] = Counter((t, o) for o, t in zip(ours, truth) if o != t).most_common(3)
        rows[name] = row
        _print_row(name, row)
    return rows


def classify(classifier, item, labels: list[str]) -> tuple[str, str, str, np.ndarray] | None:
    """Return the analyser's top label, its top IPTC topic (no labels sent), that topic
    scored by the topics' English texts alone (as deployed otherwise: an English article's
    words count as the analyser counts them), and the plain mean of the article's sentence
    vectors, or None when the analyser refuses the article's language."""
    from copydesk.analyse import iptc
    from copydesk.analyse.topics import expanded_prototypes, label_scores
    from copydesk.core.errors import AnalysisError, UnsupportedLanguage
    from copydesk.prepare.text import prepare

    try:
        doc = prepare(text=item.text, title=item.title or None)
        options = {"labels": labels, "top_k": 1}
        result = classifier(doc, options)
        default = classifier(doc, {"top_k": 1})
    except UnsupportedLanguage:
        return None
    except AnalysisError as error:  # nothing to classify once cleaned: a miss, not a refusal
        print(f"  {item.source} {item.id[:40]}: {error}")
        return "", "", "", np.zeros(classifier.embedder.dim, dtype=np.float32)
    inputs = classifier.preprocess(doc, {"top_k": 1})
    vectors = classifier.embedder.encode(list(inputs.texts))
    rows = classifier.label_matrix(tuple(iptc.topic_names()))
    english = label_scores(
        rows, vectors, taxonomy=iptc.TAXONOMY,
        family=classifier.embedder.family, prototypes=expanded_prototypes(classifier.embedder),
        lexical=classifier.lexical(doc, inputs, rows),
    )  # fmt: skip
    names = iptc.topic_names()
    plain = vectors.mean(0)
    top, topic = result["labels"][0]["label"], default["labels"][0]["label"]
    return (
        top,
        topic,
        names[int(english.argmax())],
        plain / max(float(np.linalg.norm(plain)), 1e-12),
    )


def summary(table: dict[str, dict[str, dict]], corpora: dict[str, list]) -> None:
    """Print one table of top-1 per language and encoder, the gaps to English, and the verdicts.

    A language's labels and their mix differ from English's (French has no entertainment,
    Japanese only sport, entertainment and technology), so beside English overall the table
    gives English on the language's mix: English's accuracy on each label, weighted by how
    many articles of that label the language has (``en-mix``).
    """
    sources = list(corpora)
    english = next(n for n in sources if multilingual_data.SOURCES[n].language == "en")
    head = "ours / base / gap / en-mix / gap"
    print("\nlanguage  source           n  " + "  ".join(f"{f:>40}" for f in table))
    print(" " * 32 + "  ".join(f"{head:>40}" for _ in table))
    for name in sources:
        cells = []
        for rows in table.values():
            row, en = rows[name], rows[english]
            if "ours" not in row or "ours" not in en:
                cells.append(f"{'n/a':>40}")
                continue
            mix = _on_mix(en, row["counts"])
            cells.append(
                f"{row['ours']:.3f} / {row['baseline']:.3f} / {row['ours'] - en['ours']:+.3f}"
                f" / {mix:.3f} / {row['ours'] - mix:+.3f}".rjust(40)
            )
        language = multilingual_data.SOURCES[name].language
        print(f"{language:9} {name:14} {len(corpora[name]):4}  " + "  ".join(cells))
    print("\nIPTC, the default taxonomy (no labels sent): top-1 / without section names / bare")
    for name in sources:
        cells = [
            f"{rows[name]['iptc']:.3f} / {rows[name]['iptc_no_names']:.3f} / "
            f"{rows[name]['iptc_baseline']:.3f}".rjust(40)
            if "iptc" in rows[name]
            else f"{'n/a':>40}"
            for rows in table.values()
        ]
        language = multilingual_data.SOURCES[name].language
        print(f"{language:9} {name:14} {len(corpora[name]):4}  " + "  ".join(cells))
    if "use-m3" not in table:
        return
    setups = {"use-m3": table["use-m3"]}
    if "minilm" in table:  # the default mix: English read by MiniLM, the rest by USE-m3
        setups["minilm+use-m3 (default)"] = {**table["use-m3"], english: table["minilm"][english]}
    others = [n for n in sources if n != english]
    for setup, rows in setups.items():
        for what, english_figure in (
            ("English overall", lambda n, rows=rows: rows[english]["ours"]),
            (
                "English on the language's label mix",
                lambda n, rows=rows: _on_mix(rows[english], rows[n]["counts"]),
            ),
        ):
            low = {n: rows[n]["ours"] - english_figure(n) for n in others}
            low = {n: gap for n, gap in low.items() if gap < -MARGIN}
            detail = ", ".join(f"{n} {gap:+.3f}" for n, gap in low.items()) or "none"
            print(f"{'PASS' if not low else 'FAIL'}: {setup}, every non-English language within "
                  f"{MARGIN} of {what}; below the margin: {detail}")  # fmt: skip


def _on_mix(english: dict, counts: dict[str, int]) -> float:
    """English top-1 re-weighted to another language's label counts."""
    total = sum(counts.values())
    return sum(english["per_label"][label] * n for label, n in counts.items()) / total


def _print_row(name: str, row: dict) -> None:
    if "ours" not in row:
        print(f"{name:14} n/a: {row['refused']} refused ({row['seconds']:.0f} s)")
        return
    per = " ".join(f"{label}={acc:.2f}" for label, acc in row["per_label"].items())
    confused = ", ".join(f"{t}->{o} x{c}" for (t, o), c in row["confused"])
    print(f"{name:14} n={row['n']:3} refused={row['refused']:3} top-1 {row['ours']:.3f} "
          f"baseline {row['baseline']:.3f} ({row['seconds']:.0f} s)  {per}  misses: {confused}")  # fmt: skip
    print(f"{'':14} IPTC top-1 {row['iptc']:.3f} (without section names {row['iptc_no_names']:.3f}, "
          f"bare topic names {row['iptc_baseline']:.3f})")  # fmt: skip


def _accuracy(predicted: list[str], truth: list[str]) -> float:
    return float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)])) if truth else 0.0


if __name__ == "__main__":
    main()
