"""Read custom topic labels by the words an article uses as well as by what it means.

Sentence vectors say what an article is about; they blur the words that draw the edge between
neighbouring labels ("bribery" for corruption, "militants" for terrorism). A label's examples
and the pool articles it wins say those words, so a custom label also gets a tf-idf row: the
mean term vector of the pool articles it wins most clearly (``count``, as ``expand_labels``
picks them), blended with its examples' mean as the example blend weighs them, and an English
article's score for it adds ``share`` times the cosine between the two term vectors
(``topics.TERMS``, chosen on dev articles by bench/topics_select.py --terms).

The vocabulary and its IDF are fitted on the same unlabelled dev news as the pool
(training/build_topic_pool.py, scikit-learn's ``TfidfVectorizer``: English words of two or
more letters, stop words out, seen in two or more articles and in at most half of them,
sub-linear term counts); ``data/topic_terms.npz`` also keeps the pool articles' term
vectors, in the pool's order (by digest). The vocabulary is English: other languages
score by meaning alone.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

TERMS_FILE = Path(__file__).parent / "data" / "topic_terms.npz"
SETTINGS = {"sublinear_tf": True, "min_df": 2, "max_df": 0.5, "stop_words": "english"}


def article_text(title: str | None, text: str) -> str:
    """What an article's terms are counted over: its headline, then its text."""
    return f"{title}\n{text}" if title else text


def vectorizer(texts: Sequence[str]) -> TfidfVectorizer:
    """Fit the vocabulary and IDF on ``texts`` (the build step; the service loads them)."""
    return TfidfVectorizer(**SETTINGS).fit(texts)


@dataclass(frozen=True, slots=True)
class Terms:
    """The fitted vocabulary and the pool articles' term vectors (unit rows, pool order)."""

    vectorizer: TfidfVectorizer
    pool: sparse.csr_matrix
    digests: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.vectorizer.idf_)

    def vectors(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """One unit tf-idf row per text (a text with no known word is a zero row)."""
        if not texts:
            return sparse.csr_matrix((0, self.size), dtype=np.float64)
        return self.vectorizer.transform(texts)

    def mean(self, rows: sparse.csr_matrix) -> np.ndarray:
        """The unit mean of some term rows, dense (zeros when there are none)."""
        if rows.shape[0] == 0:
            return np.zeros(self.size, dtype=np.float32)
        return _unit(np.asarray(rows.mean(0), dtype=np.float32).ravel())

    def save(self, path: Path = TERMS_FILE) -> None:
        pool = self.pool.tocsr()
        meta = {"digests": list(self.digests), "built_by": "training/build_topic_pool.py"}
        np.savez_compressed(
            path,
            terms=np.array(self.vectorizer.get_feature_names_out(), dtype=str),
            idf=self.vectorizer.idf_.astype(np.float32),
            data=pool.data.astype(np.float16),
            indices=pool.indices.astype(np.int32),
            indptr=pool.indptr.astype(np.int64),
            meta=np.array(json.dumps(meta)),
        )

    @classmethod
    def read(cls, path: Path = TERMS_FILE) -> Terms:
        with np.load(path, allow_pickle=False) as data:
            terms = [str(term) for term in data["terms"]]
            made = TfidfVectorizer(**SETTINGS, vocabulary=terms)
            made.idf_ = data["idf"].astype(np.float64)
            shape = (len(data["indptr"]) - 1, len(terms))
            pool = sparse.csr_matrix(
                (data["data"].astype(np.float32), data["indices"], data["indptr"]), shape=shape
            )
            digests = tuple(json.loads(str(data["meta"]))["digests"])
        return cls(made, pool, digests)


_LOADED: list[Terms] = []
_LOCK = threading.Lock()


def load() -> Terms:
    """The shipped vocabulary and pool term vectors, read once per process."""
    with _LOCK:
        if not _LOADED:
            _LOADED.append(Terms.read())
        return _LOADED[0]


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
