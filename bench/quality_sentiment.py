"""Measure the sentiment analyser against human ratings of news, next to VADER on the same data.

The evaluation set is the VADER paper's NYT editorial corpus (5,190 sentences of ~500 opinion
pieces, each rated by ~20 people on -4..4), which training and the neutral band's choice never
see. Sentence figures:
Pearson r and polarity accuracy on clearly rated sentences (|mean rating| >= 0.5 and >= 1.0;
a score of exactly 0 has no polarity and counts as wrong); 3-class macro-F1 with gold neutral
when |mean rating| < 0.5 (ours labels by the head's thresholds, VADER by its documented
+-0.05 on compound). Editorial figures: Pearson r between the document score and the mean
human rating of the editorial's sentences. The three-class table compares the neutral band
``training/choose_neutral_band.py`` chose with the cuts shipped before it (-0.10/+0.14, and the
plain +-0.10) and with VADER's +-0.05, per sentence and per editorial (the API's label), gold
neutral when |mean rating| < 0.5: the corpus has no neutral class of its own, so that cut
defines one for reporting only. The whole path runs through
``EmbeddingSentimentAnalyser.batch``; only the sentence embeddings are cached. A "head" row
shows the embedding head without its VADER blend, to keep the blend's share visible.

    /work/main/.venv/bin/python bench/quality_sentiment.py [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

import numpy as np

import vader_data

ROOT = Path(__file__).resolve().parents[1]
SEED_ARTICLE = ROOT / "tests/unit/fixtures/seed_article.txt"


class CachedEmbedder:
    """Serve precomputed vectors by text and embed anything else with the real embedder."""

    def __init__(self, embedder, *, texts: list[str], vectors: np.ndarray) -> None:
        self.inner, self.name, self.dim = embedder, embedder.name, embedder.dim
        self.family = getattr(embedder, "family", "minilm")  # picks the head fitted on it
        self.table = dict(zip(texts, vectors, strict=True))  # duplicates embed identically

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self.table})
        if missing:
            self.table.update(zip(missing, self.inner.encode(missing), strict=True))
        return np.stack([self.table[t] for t in texts]) if texts else self.inner.encode([])


def editorial_documents(snippets):
    """Rebuild each editorial as one Document whose sentences are the rated snippets."""
    from copydesk.core.document import Document, Span

    docs, ratings = [], []
    for group, sents in vader_data.documents(snippets).items():
        text, spans = "", []
        for snip in sents:
            start = len(text) + (1 if text else 0)
            text = f"{text} {snip.text}" if text else snip.text
            spans.append(Span(start, len(text)))
        docs.append(Document(text=text, sentences=tuple(spans), language="en", title=group))
        ratings.append([s.rating for s in sents])
    return docs, ratings


def seed_document():
    """Prepare the seed article the way the service does (falls back to a regex splitter)."""
    raw = SEED_ARTICLE.read_text(encoding="utf-8")
    try:
        from copydesk.prepare.text import prepare

        return prepare(text=raw, language="en")
    except (ImportError, TypeError):
        from copydesk.core.document import Document, Span

        spans = tuple(
            Span(m.start(), m.end())
            for m in re.finditer(r"[^.!?\n]+[.!?]?", raw)
            if m.group().strip()
        )
        return Document(text=raw, sentences=spans, language="en")


def sentence_figures(pred: np.ndarray, ratings: np.ndarray, labels: np.ndarray) -> dict:
    gold = np.where(ratings <= -0.5, -1, np.where(ratings >= 0.5, 1, 0))
    out = {"pearson": float(np.corrcoef(pred, ratings)[0, 1])}
    for cut in (0.5, 1.0):
        clear = np.abs(ratings) >= cut
        out[f"acc|r|>={cut}"] = float(np.mean(np.sign(pred[clear]) == np.sign(ratings[clear])))
    f1 = []
    for c in (-1, 0, 1):
        tp = np.sum((labels == c) & (gold == c))
        p, r = tp / max(np.sum(labels == c), 1), tp / max(np.sum(gold == c), 1)
        f1.append(0.0 if tp == 0 else 2 * p * r / (p + r))
    out["macroF1_3class"] = float(np.mean(f1))
    return out


GOLD_NEUTRAL = 0.5  # |mean rating| below this counts as neutral, for reporting only
BEFORE = {"before: -0.10/+0.14": (-0.10, 0.14), "+-0.10": (-0.10, 0.10)}


def three_class(scores: np.ndarray, ratings: np.ndarray, cuts: tuple[float, float]) -> dict:
    """Macro-F1 and accuracy of labels cut at ``cuts`` against human ratings banded at 0.5."""
    gold = np.where(ratings <= -GOLD_NEUTRAL, -1, np.where(ratings >= GOLD_NEUTRAL, 1, 0))
    labels = np.where(scores <= cuts[0], -1, np.where(scores >= cuts[1], 1, 0))
    f1 = []
    for c in (-1, 0, 1):
        tp = np.sum((labels == c) & (gold == c))
        p, r = tp / max(np.sum(labels == c), 1), tp / max(np.sum(gold == c), 1)
        f1.append(0.0 if tp == 0 else 2 * p * r / (p + r))
    return {"macroF1": float(np.mean(f1)), "accuracy": float(np.mean(labels == gold))}


def print_band_table(*, neg, pos, sentences, editorials) -> None:
    """Print the three-class figures of the chosen band, the cuts before it and VADER's."""
    (ours, comp, ratings), (ours_doc, vader_doc, doc_truth) = sentences, editorials
    rows = {f"chosen: {neg:+.2f}/{pos:+.2f}": (ours, ours_doc, (neg, pos))}
    rows.update({name: (ours, ours_doc, cuts) for name, cuts in BEFORE.items()})
    rows["VADER +-0.05"] = (comp, vader_doc, (-0.05, 0.05))
    counts = [
        [int(np.sum(g)) for g in (r <= -GOLD_NEUTRAL, np.abs(r) < GOLD_NEUTRAL, r >= GOLD_NEUTRAL)]
        for r in (ratings, doc_truth)
    ]
    print(
        f"\nthree classes, gold neutral |mean rating| < {GOLD_NEUTRAL} (reporting only); "
        f"-1/0/+1 sentences {counts[0]}, editorials {counts[1]}"
    )
    heads = ("sent macroF1", "sent acc", "edit macroF1", "edit acc")
    print(f"{'band':22s}" + "".join(f"{h:>14s}" for h in heads))
    for name, (sent, doc, cuts) in rows.items():
        a, b = three_class(sent, ratings, cuts), three_class(np.asarray(doc), doc_truth, cuts)
        print(
            f"{name:22s}{a['macroF1']:14.3f}{a['accuracy']:14.3f}"
            f"{b['macroF1']:14.3f}{b['accuracy']:14.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--backend", help="COPYDESK_ENCODER for this run (MiniLM's and mpnet's)")
    args = parser.parse_args()
    if args.backend:
        os.environ["COPYDESK_ENCODER"] = args.backend
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from copydesk.analyse.embedder import get_embedder
    from copydesk.analyse.sentiment import EmbeddingSentimentAnalyser

    torch.set_num_threads(1)
    started = time.monotonic()
    nyt = vader_data.load_corpora(corpora=["nyt"], cache_dir=args.cache_dir)["nyt"]
    docs, doc_ratings = editorial_documents(nyt)
    texts = [t for d in docs for t in d.sentence_texts()]
    embedder = get_embedder()
    file_order = [s.text for s in nyt]
    vectors = vader_data.cached_embeddings(
        file_order, embedder=embedder, tag="nyt", cache_dir=args.cache_dir
    )
    analyser = EmbeddingSentimentAnalyser(
        embedder=CachedEmbedder(embedder, texts=file_order, vectors=vectors)
    )
    t0 = time.monotonic()
    results = analyser.batch(docs, [None] * len(docs))
    ours_secs = time.monotonic() - t0
    meta = analyser.head.meta

    ratings = np.array([r for rs in doc_ratings for r in rs])
    ours = np.array([s["score"] for res in results for s in res["sentences"]])
    neg, pos = analyser.head.thresholds
    ours_lab = np.where(ours <= neg, -1, np.where(ours >= pos, 1, 0))
    vader = SentimentIntensityAnalyzer()
    t0 = time.monotonic()
    comp = np.array([vader.polarity_scores(t)["compound"] for t in texts])
    vader_secs = time.monotonic() - t0
    vader_lab = np.where(comp <= -0.05, -1, np.where(comp >= 0.05, 1, 0))

    doc_truth = np.array([np.mean(rs) for rs in doc_ratings])
    ours_doc = np.array([res["score"] for res in results])
    bounds = np.cumsum([0, *(len(rs) for rs in doc_ratings)])
    vader_doc = np.array([comp[a:b].mean() for a, b in zip(bounds[:-1], bounds[1:])])

    print(f"model: {analyser.model_name}  head kind={meta['kind']} trained {meta['date']}; "
          f"encoder {embedder.name}")  # fmt: skip
    print(f"training corpora {meta['training_corpora']} (excluded: {meta['excluded_corpora']})")
    print(f"train sizes {meta['n']}  validation sizes {meta['n_val']}")
    print(f"validation (head): {meta['validation']['all']}")
    print(
        f"thresholds {neg:+.2f}/{pos:+.2f}  aggregation {meta['aggregation']['length_power']}"
        f"/{meta['aggregation']['polar_power']}"
    )
    print(
        f"\nNYT editorials: {len(texts)} sentences, {len(docs)} editorials; clearly rated: "
        f"{int(np.sum(np.abs(ratings) >= 0.5))} (|r|>=0.5), {int(np.sum(np.abs(ratings) >= 1))}"
        " (|r|>=1.0)"
    )
    head = analyser.head
    raw = np.clip(head.raw(analyser.embedder.encode(texts)), -1.0, 1.0)
    raw_lab = np.where(raw <= neg, -1, np.where(raw >= pos, 1, 0))
    raw_doc = [
        head.aggregate(raw[a:b], np.array([len(t) for t in texts[a:b]]))
        for a, b in zip(bounds[:-1], bounds[1:])
    ]
    rows = {
        "ours": sentence_figures(ours, ratings, ours_lab),
        "head": sentence_figures(raw, ratings, raw_lab),
        "vader": sentence_figures(comp, ratings, vader_lab),
    }
    for name, doc in (("ours", ours_doc), ("head", raw_doc), ("vader", vader_doc)):
        rows[name]["doc_pearson"] = float(np.corrcoef(doc, doc_truth)[0, 1])
    keys = list(rows["ours"])
    print(f"{'':8s}" + "".join(f"{k:>16s}" for k in keys))
    for name, row in rows.items():
        print(f"{name:8s}" + "".join(f"{row[k]:16.3f}" for k in keys))
    print(f"{'delta':8s}" + "".join(f"{rows['ours'][k] - rows['vader'][k]:+16.3f}" for k in keys))
    print("(ours = what ships: head blended with VADER; head = embedding head alone)")
    clear = np.abs(ratings) >= 1.0
    zero = comp[clear] == 0
    print(
        f"VADER scores {zero.mean():.1%} of |r|>=1.0 sentences exactly 0; on the rest its "
        f"accuracy is {np.mean(np.sign(comp[clear][~zero]) == np.sign(ratings[clear][~zero])):.3f}"
    )
    print_band_table(
        neg=neg,
        pos=pos,
        sentences=(ours, comp, ratings),
        editorials=(ours_doc, vader_doc, doc_truth),
    )
    labels = dict(zip(*np.unique([r["label"] for r in results], return_counts=True)))
    print(f"editorial labels (ours): { ({str(k): int(v) for k, v in labels.items()}) }")

    if SEED_ARTICLE.exists():
        seed = analyser(seed_document())
        print(
            f"\nseed article: label={seed['label']} score={seed['score']:+.3f} "
            f"({len(seed['sentences'])} sentences)"
        )
    print(
        f"\nscoring time: ours {ours_secs:.2f}s (cached embeddings), vader {vader_secs:.2f}s;"
        f" total {time.monotonic() - started:.0f}s"
    )


if __name__ == "__main__":
    main()
