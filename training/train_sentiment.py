"""Train copydesk's sentiment head on human-rated text, choosing everything without news data.

The head maps all-MiniLM-L6-v2 sentence embeddings to the mean human rating (VADER's -4..4
scale, divided by 4). Training data are three corpora of Hutto & Gilbert (ICWSM 2014) --
tweets, movie review snippets, amazon review sentences -- plus the paper's word lexicon
(context-free human ratings of ~7.5k words). The paper's fourth corpus, NYT editorial
sentences, is news: copydesk's evaluation set, never used for training or for any choice here.

Choices aim at transfer to a domain none of the corpora covers:

1. Each candidate head (ridge, one-hidden-layer MLP; lexicon weight; corpora weighted equally
   or by size) is fitted leave-one-corpus-out: on two corpora, predicting the third.
2. Reviews and tweets judge opinions; news readers also judge events ("killed", "revenge"), which
   review-trained embeddings miss (war films get praised). VADER's compound, built from the
   word lexicon, carries that. The sentence score is ``a * head + b * vader + c``; a, b, c are
   least squares on the out-of-corpus head outputs, each corpus weighing the same.
3. The candidate with the best mean out-of-corpus Pearson r of that blend (blend weights also
   fitted without the held-out corpus) wins, is refitted on the 85% train split of all three
   corpora, and the 15% validation split gives the reported figures.
4. Document aggregation weights are picked on whole amazon reviews, scored by the head that
   never saw amazon, against each review's mean human rating.
5. The label's neutral band is chosen last, by ``training/choose_neutral_band.py`` (run from
   here), on that validation split and on human-labelled news articles.

Reproduce (from the repo root; the first run fetches the vaderSentiment sdist through pip and
embeds ~31k texts, ~4 min on one core, cached under ~/.cache/copydesk; then ~4 min):

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python training/train_sentiment.py

Options: ``--cache-dir DIR`` (data and embedding cache), ``--out PATH`` (head file),
``--encoder minilm|use-m3|mpnet`` (the sentence encoder whose vectors the head reads; each has its
own head file, ``copydesk.analyse.sentiment.HEADS``, and the same data and choices). Seeds are
fixed and torch runs on one thread, so reruns give the same weights; only ``date`` changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import choose_neutral_band
import numpy as np
import sentiment_fit as sf

from copydesk.core.settings import get_settings
from copydesk.analyse.sentiment import HEADS, SentimentHead, vader_compound

ROOT = Path(__file__).resolve().parents[1]
VAL_FRACTION = 0.15
CANDIDATES = [
    *(
        {"kind": "ridge", "alpha": 10.0, "lexicon": w, "balance": b}
        for w in (0.0, 0.3, 1.0, 3.0)
        for b in (False, True)
    ),
    *({"kind": "mlp", "lexicon": w, "balance": b} for w in (0.3, 1.0) for b in (False, True)),
]
AGGREGATIONS = [(a, b) for a in (0.0, 0.5, 1.0) for b in (0.0, 0.5, 1.0, 2.0)]


def load_vader_data():
    """Import bench/vader_data.py by path: bench/ holds scripts, not an installed package."""
    spec = importlib.util.spec_from_file_location("vader_data", ROOT / "bench/vader_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["vader_data"] = module
    spec.loader.exec_module(module)
    return module


def load_parts(vd, *, cache_dir: Path | None) -> tuple[dict, dict[str, sf.Part]]:
    """Embed every training text (cached) and split off validation; whole reviews stay together."""
    from copydesk.analyse.embedder import get_embedder

    corpora = vd.load_corpora(corpora=vd.TRAIN_CORPORA, cache_dir=cache_dir)
    assert vd.EVAL_CORPUS not in corpora, "NYT editorials are the evaluation set"
    corpora["lexicon"] = vd.load_lexicon(cache_dir=cache_dir)
    embedder = get_embedder()
    rng = np.random.default_rng(sf.SEED)
    parts = {}
    for name, snippets in corpora.items():
        texts = [s.text for s in snippets]
        x = vd.cached_embeddings(texts, embedder=embedder, tag=name, cache_dir=cache_dir)
        groups = [s.group for s in snippets]
        if name == "amazon":
            ids = sorted(set(groups))
            held = {g for g, r in zip(ids, rng.random(len(ids)), strict=True) if r < VAL_FRACTION}
            val = np.array([g in held for g in groups])
        else:
            val = rng.random(len(snippets)) < VAL_FRACTION
        if name == "lexicon":
            val[:] = False
        y = np.array([s.rating for s in snippets]) / 4
        parts[name] = sf.Part(name, x, y, vader_compound(texts), groups, val)
    return corpora, parts


def select(train: list[sf.Part], lexicon: sf.Part) -> tuple[dict, dict, list[dict]]:
    """Score every candidate out of corpus; return the winner, its blend and the table."""
    table, best = [], None
    for cand in CANDIDATES:
        loo = sf.leave_one_out(cand, train, lexicon)
        row = {
            **cand,
            "head_only": {p.name: round(sf.pearson(loo[p.name], p.y), 4) for p in train},
            "blended": sf.blend_transfer(loo, train),
        }
        row["blended_mean"] = round(float(np.mean(list(row["blended"].values()))), 4)
        row["blend"] = sf.fit_blend(
            [loo[p.name] for p in train], [p.vader for p in train], [p.y for p in train]
        )
        table.append(row)
        print(json.dumps(row), flush=True)
        if best is None or row["blended_mean"] > best["blended_mean"]:
            best = row
    cand = {k: best[k] for k in ("kind", "alpha", "lexicon", "balance") if k in best}
    return cand, best["blend"], table


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--cache-dir", type=Path, default=None)
    args.add_argument("--out", type=Path, default=None, help="default: the encoder's head file")
    args.add_argument("--encoder", choices=sorted(HEADS), default="minilm")
    opts = args.parse_args(argv)
    os.environ["COPYDESK_SENTENCE_ENCODER"] = opts.encoder  # what get_embedder() loads
    get_settings.cache_clear()
    opts.out = opts.out or HEADS[opts.encoder]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    started = time.monotonic()
    vd = load_vader_data()
    corpora, parts = load_parts(vd, cache_dir=opts.cache_dir)
    lexicon = parts.pop("lexicon")
    train = list(parts.values())
    print(f"data, embeddings, VADER ready in {time.monotonic() - started:.0f}s", flush=True)

    cand, blend, table = select(train, lexicon)
    print("chosen:", cand, "blend:", blend, flush=True)
    fitted = sf.fit(cand, train, lexicon, split=True)
    head = SentimentHead(arrays=fitted.arrays, meta={"blend": blend})
    val = {p.name: head.combine(head.raw(p.x[p.val]), p.vader[p.val]) for p in train}
    y_val = np.concatenate([p.y[p.val] for p in train])
    validation = {p.name: sf.figures(val[p.name], p.y[p.val]) for p in train}
    validation["all"] = sf.figures(np.concatenate(list(val.values())), y_val)
    validation["all_head_only"] = sf.figures(
        np.concatenate([head.raw(p.x[p.val]) for p in train]), y_val
    )
    amazon = parts["amazon"]
    unseen = sf.fit(cand, [p for p in train if p is not amazon], lexicon, split=False)
    aggregation = sf.choose_aggregation(
        head.combine(unseen.raw(amazon.x), amazon.vader),
        amazon,
        [s.text for s in corpora["amazon"]],
        AGGREGATIONS,
    )

    from copydesk.analyse.embedder import get_embedder

    embedder = get_embedder()
    meta = {
        "name": "copydesk-sentiment-head",
        "version": "1",
        "embedder": embedder.name,
        "encoder_family": embedder.family,
        "embedding_dim": int(embedder.dim),
        "kind": cand["kind"],
        "candidate": cand,
        "mlp": sf.MLP if cand["kind"] == "mlp" else None,
        "blend": {**blend, "vader_version": "3.3.2"},
        "target": "mean human rating (-4..4) / 4; score = clip(head*h + vader*compound + bias)",
        "source": f"{vd.VADER_SDIST} sdist, additional_resources/{vd.ARCHIVE_NAME}",
        "training_corpora": [*vd.TRAIN_CORPORA, "lexicon"],
        "excluded_corpora": [vd.EVAL_CORPUS],
        "n": {p.name: int((~p.val).sum()) for p in [*train, lexicon]},
        "n_val": {p.name: int(p.val.sum()) for p in train},
        "seed": sf.SEED,
        "date": dt.date.today().isoformat(),
        "validation": validation,
        "selection": table,
        "aggregation": aggregation,
        # scoring documents needs a band; choose_neutral_band.py (run below) replaces this one
        "thresholds": {"negative": -0.1, "positive": 0.1, "criterion": "placeholder"},
    }
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(opts.out, meta=np.array(json.dumps(meta)), **fitted.arrays)
    summary = {"validation": meta["validation"]}
    summary["aggregation"] = {k: v for k, v in aggregation.items() if k != "table"}
    print(json.dumps(summary, indent=1))
    print(f"wrote {opts.out} in {time.monotonic() - started:.0f}s; choosing its neutral band")
    band_args = ["--write", "--head", str(opts.out), "--encoder", opts.encoder]
    band_args += ["--cache-dir", str(opts.cache_dir)] if opts.cache_dir else []
    choose_neutral_band.main(band_args)


if __name__ == "__main__":
    main()
