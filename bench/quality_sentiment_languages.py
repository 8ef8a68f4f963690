"""Measure sentiment on rated tweets in six other languages, English beside them, same run.

No rated non-English news ships in any package we found, so this reads UMSAB, the Unified
Multilingual Sentiment Analysis Benchmark of XLM-T (Barbieri, Espinosa Anke and
Camacho-Collados, LREC 2022), committed in the public repository ``cardiffnlp/xlm-t``
(``data/sentiment/<language>/{train,val,test}_{text,labels}.txt``; label 0 negative,
1 neutral, 2 positive; 870 test tweets per language, 290 of each label). Its sources:
SemEval-2017 (ar, en), DEFT 2017 (fr), SB-10K (de), SAIL 2015 (hi, romanised), Sentipolc
2016 (it), SentiBR (pt), InterTASS 2017 (es). TWEETS ARE NOT NEWS: short, informal, full of
irony and emoji; the figures say how the head carries across languages, not how it rates
news in them. English tweets are the head's own genre: its training read VADER's English
tweets (another set, rated on VADER's scale).

Only the test files are read, and only the first ``--limit`` tweets of each in file order
(the labels there cycle negative, neutral, positive, so a prefix is balanced to one tweet); the train
and val files exist and are never opened. Nothing here is chosen: a reporting step.
Nothing of the tweets is committed: they are read at run time from a snapshot of the
repository (``/work/.mirror/cardiffnlp+xlm-t``, pinned to ``COMMIT``).

Every tweet goes through the deployed path, in-process: the prepare stage
(``PrepareStage``: cleaning, language, sentences, vectors) and ``copydesk.analyse.run.analyse``
with the registry built from default settings (``COPYDESK_SENTENCE_ENCODER=minilm+use-m3``):
English to MiniLM's head blended with VADER, the other languages to USE-m3's head alone. The
tweet's language goes in as the client's hint, which wins where detection is unsure (every
short text, unless its English function words make it sure of English). Rows per language,
on the tweets the service scored:

  ours          the service's document score and label (default settings)
  majority      the sample's most frequent gold label, for every tweet
  vader         English: VADER's compound alone, labelled at its documented +-0.05
  use-m3        English: COPYDESK_SENTENCE_ENCODER=use-m3 (its head blended with VADER)
  use-m3 head   English: USE-m3's head alone, as every non-English tweet is scored; the
                gap to the other languages is the cross-lingual drop, encoder held fixed

Figures: Spearman rho between the score and the 0/1/2 label, 3-class accuracy and macro-F1
of the label. A tweet the service refuses is counted by its error code: Hindi is outside
USE-m3 (``unsupported_language``), so the summary lists it as not covered, with the few
code-mixed tweets read as English beside it. ``detector alone`` says what detection names
each language's tweets without the hint (unsure: a client sending no hint would get them
read as English).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/quality_sentiment_languages.py [--limit 500]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from multilingual_data import MIRROR

REPO = "cardiffnlp/xlm-t"  # as ``fetch github:cardiffnlp/xlm-t`` brings it
COMMIT = "874214d64d96599eb869a033c22ec2cc57d19256"
LICENCE = (
    "repository Apache-2.0, 'restrictions may apply to individual datasets ... or Twitter'; "
    "tweet text belongs to its authors"
)
FOLDERS = {
    "en": "english", "ar": "arabic", "de": "german", "es": "spanish", "fr": "french",
    "it": "italian", "pt": "portuguese", "hi": "hindi",
}  # fmt: skip
LABELS = ("negative", "neutral", "positive")  # UMSAB's 0, 1, 2
VADER_CUT = 0.05


def test_tweets(language: str, limit: int) -> tuple[list[str], np.ndarray]:
    """The first ``limit`` test tweets of ``language`` and their labels, in file order."""
    folder = f"data/sentiment/{FOLDERS[language]}"
    texts = _show(f"{folder}/test_text.txt").split("\n")
    labels = np.array([int(x) for x in _show(f"{folder}/test_labels.txt").split()])
    if len(texts) != len(labels):
        raise SystemExit(f"{folder}: {len(texts)} tweets but {len(labels)} labels")
    return texts[:limit], labels[:limit]


def _show(path: str) -> str:
    root = MIRROR / REPO.replace("/", "+") / "repo"
    if not root.exists():
        raise SystemExit(f"bring the tweets onto this machine first: fetch github:{REPO}")
    git_dir = root / ".git" if (root / ".git").exists() else root
    out = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{COMMIT}:{path}"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return out.decode("utf-8")


@dataclass
class Outcome:
    """What the service made of one tweet: a score and label, or an error code."""

    score: float = 0.0
    label: str = ""
    error: str = ""
    language: str | None = None  # the document's language, as prepare chose it
    detected: str | None = None  # what detection alone said (None: unsure)
    model: str = ""
    head_alone: tuple[float, str] | None = None  # the head without VADER, same vectors


class Service:
    """The prepare stage and the sentiment analysis, in-process, as a worker runs them."""

    def __init__(self, **settings: str) -> None:
        from copydesk.analyse.registry import AnalyserRegistry
        from copydesk.analyse.run import analyse
        from copydesk.core.settings import Settings
        from copydesk.prepare.stage import PrepareStage

        self.settings = Settings(**settings)
        self.registry = AnalyserRegistry(self.settings)
        self.stage = PrepareStage(self.registry)
        self.analyse = analyse

    def __call__(self, text: str, language: str) -> Outcome:
        from copydesk.core.errors import AnalysisError

        try:
            prepared = self.stage(
                {"text": text, "language": language},
                analyses=["sentiment"],
                options={"sentiment": {}},
            )
        except AnalysisError as exc:
            return Outcome(error=exc.code)
        doc = prepared.doc
        seen = {"language": doc.language, "detected": doc.meta["language_detected"]}
        if "sentiment" in prepared.failures:
            return Outcome(error=prepared.failures["sentiment"].code, **seen)
        result = self.analyse(
            registry=self.registry,
            analysis="sentiment",
            doc=doc,
            options={},
            vectors=prepared.vectors,
        )
        if result["status"] != "succeeded":
            return Outcome(error=result["error"]["code"], **seen)
        return Outcome(
            score=result["score"],
            label=result["label"],
            model=result["model"],
            head_alone=self.head_alone(doc, prepared.vectors, result),
            **seen,
        )

    def head_alone(self, doc, vectors, result: dict) -> tuple[float, str] | None:
        """The document score and label the head gives without VADER (as for text VADER
        cannot read), from the same vectors; None when the vectors lack a sentence."""
        analyser = self.registry.for_request("sentiment", {}, language=doc.language)
        texts = [s["text"] for s in result["sentences"]]
        rows = vectors.lookup(texts) if vectors is not None else None
        if rows is None:
            return None
        head = analyser.head
        score = head.aggregate(
            head.score(rows, texts, lexicon=False), np.array([len(t) for t in texts])
        )
        return score, head.label(score)


def figures(scores, labels: list[str], gold: np.ndarray) -> dict[str, float]:
    """Spearman rho of score against the 0/1/2 label; accuracy and macro-F1 of the label."""
    predicted = np.array([LABELS.index(label) for label in labels])
    f1 = []
    for c in range(3):
        tp = np.sum((predicted == c) & (gold == c))
        p, r = tp / max(np.sum(predicted == c), 1), tp / max(np.sum(gold == c), 1)
        f1.append(0.0 if tp == 0 else 2 * p * r / (p + r))
    scores = np.asarray(scores, dtype=np.float64)
    rho = np.corrcoef(_ranks(scores), _ranks(gold))[0, 1] if np.ptp(scores) else float("nan")
    shares = [float(np.mean(predicted == c)) for c in range(3)]
    return {
        "rho": float(rho),
        "acc": float(np.mean(predicted == gold)),
        "f1": float(np.mean(f1)),
        "shares": shares,
    }


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank (as Spearman's rho takes them)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2)[inverse]


def row(name: str, n: int, figs: dict | None, note: str = "") -> None:
    if figs is None:
        print(f"  {name:12} {n:5}  {'n/a':>6}  {note}")
        return
    shares = "/".join(f"{s:.2f}" for s in figs["shares"])
    rho = "-" if np.isnan(figs["rho"]) else f"{figs['rho']:.3f}"  # a constant score has none
    line = f"  {name:12} {n:5}  {rho:>6} {figs['acc']:6.3f} {figs['f1']:6.3f}  {shares:17}  {note}"
    print(line.rstrip())


def report(language: str, limit: int, deployed: Service, use_m3: Service) -> dict:
    """Score one language's tweets; print its rows and return its headline figures."""
    from copydesk.analyse.sentiment import vader_compound

    texts, gold = test_tweets(language, limit)
    started = time.perf_counter()
    outcomes = [deployed(text, language) for text in texts]
    ms = 1000 * (time.perf_counter() - started) / len(texts)
    ok = [i for i, o in enumerate(outcomes) if not o.error]
    errors = Counter(o.error for o in outcomes if o.error)
    chosen = Counter(o.language for o in outcomes)
    detected = Counter(o.detected or "unsure" for o in outcomes)
    models = Counter(o.model for o in outcomes if o.model)
    print(f"\n{language} ({FOLDERS[language]}): {len(texts)} test tweets, {ms:.1f} ms/tweet")
    print(f"  read as: {_counts(chosen)}; detector alone: {_counts(detected)}")
    for model, count in models.most_common():
        print(f"  model: {model} ({count})")
    if errors:
        print(f"  refused: {_counts(errors)}")
    print(f"  {'':12} {'n':>5}  {'rho':>6} {'acc':>6} {'F1':>6}  neg/neu/pos")
    headline = {"n": len(ok), "ms": ms, "refused": errors, "read as": chosen}
    if not ok:
        row("ours", 0, None, "every tweet refused")
        return headline
    g = gold[ok]
    ours = figures([outcomes[i].score for i in ok], [outcomes[i].label for i in ok], g)
    row("ours", len(ok), ours)
    majority = int(np.argmax(np.bincount(g, minlength=3)))
    baseline = figures(np.zeros(len(ok)), [LABELS[majority]] * len(ok), g)
    row("majority", len(ok), baseline)
    headline |= {"ours": ours, "majority": baseline}
    if language != "en":
        return headline
    compound = vader_compound([texts[i] for i in ok])
    cut = np.where(compound <= -VADER_CUT, 0, np.where(compound >= VADER_CUT, 2, 1))
    row("vader", len(ok), figures(compound, [LABELS[c] for c in cut], g))
    other = [use_m3(texts[i], language) for i in ok]
    kept = [j for j, o in enumerate(other) if not o.error and o.head_alone]
    g = g[kept]
    blended = figures([other[j].score for j in kept], [other[j].label for j in kept], g)
    row("use-m3", len(kept), blended, "COPYDESK_SENTENCE_ENCODER=use-m3")
    alone = [other[j].head_alone for j in kept]
    head = figures([a[0] for a in alone], [a[1] for a in alone], g)  # type: ignore[index]
    row("use-m3 head", len(kept), head, "its head alone, as non-English text is scored")
    headline["use-m3 head"] = head
    return headline


def summary(table: dict[str, dict]) -> None:
    """One line per language: ours, the majority baseline, and the drop from English with
    the encoder held fixed (USE-m3's head alone on the English tweets)."""
    english = table.get("en", {}).get("use-m3 head")
    print("\nsummary: ours (majority); rho = Spearman vs 0/1/2, F1 = macro-F1 of the 3 labels")
    if english:
        print(f"  en use-m3 head alone: rho {english['rho']:.3f}  F1 {english['f1']:.3f}")
    for language, head in table.items():
        refused = sum(head["refused"].values())
        if refused > head["n"]:  # not a language the service reads (hi)
            others = Counter({k: n for k, n in head["read as"].items() if k and k != language})
            print(
                f"  {language}: not covered: {_counts(head['refused'])} of "
                f"{refused + head['n']}; {head['n']} scored, read as {_counts(others) or '-'}"
            )
            continue
        ours, majority = head["ours"], head["majority"]
        gap = ""
        if english and language != "en":
            gap = (
                f"  vs en use-m3 head: rho {ours['rho'] - english['rho']:+.3f}"
                f" F1 {ours['f1'] - english['f1']:+.3f}"
            )
        print(
            f"  {language}: n {head['n']:4}  rho {ours['rho']:.3f}  acc {ours['acc']:.3f} "
            f"({majority['acc']:.3f})  F1 {ours['f1']:.3f} ({majority['f1']:.3f})  "
            f"{head['ms']:.1f} ms/tweet{gap}"
        )


def _counts(counter: Counter) -> str:
    return ", ".join(f"{key} {n}" for key, n in counter.most_common())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=500, help="test tweets per language")
    parser.add_argument("--languages", default=",".join(FOLDERS))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    began = time.monotonic()
    print("TWEETS, NOT NEWS: UMSAB test tweets (XLM-T), 3 classes; a reporting step only")
    print(f"data: {REPO} {COMMIT[:7]}, test files only, first {args.limit} per language")
    print(f"licence: {LICENCE}")
    deployed = Service()  # default settings, as a worker reads them
    use_m3 = Service(sentence_encoder="use-m3")
    print(f"ours: COPYDESK_SENTENCE_ENCODER={deployed.settings.sentence_encoder}")
    for service, text, language in (
        (deployed, "What a wonderful day.", "en"),
        (deployed, "Was für ein schöner Tag.", "de"),
        (use_m3, "What a wonderful day.", "en"),
    ):
        service(text, language)  # load the encoders, heads and detector before timing
    table = {lang: report(lang, args.limit, deployed, use_m3) for lang in args.languages.split(",")}
    summary(table)
    print(f"total {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
