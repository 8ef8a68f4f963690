"""Read custom topic labels by the words an article uses as well as by what it means.

Sentence vectors say what an article is about; they blur the words that draw the edge between
neighbouring labels ("bribery" for corruption, "militants" for terrorism). A label's examples
and the pool articles it wins say those words, so a label also gets a tf-idf row: the mean
term vector of the pool articles it wins most clearly (``count``, as ``expand_labels`` picks
them), blended with its examples' mean as the example blend weighs them, and an English
article's score for it adds ``share`` times the cosine between the two term vectors
(``topics.TERMS``, chosen on dev articles by bench/topics_select.py --terms).

The vocabulary and its IDF are fitted by scikit-learn's ``TfidfVectorizer`` on the same
unlabelled dev news as the pool (training/build_topic_pool.py --terms: words of two or more
letters, English stop words out, seen in two or more articles and in at most half of them,
sub-linear term counts); ``data/topic_terms.npz`` keeps the words, their IDF and the pool
articles' term vectors, in the pool's order (by digest). At run time ``Terms.vectors``
counts words as the fitted vectorizer does (its token pattern, lower case, 1 + log of the
count times the IDF, unit length; tests/unit/analysis/test_terms.py holds the two equal), so
a worker does not import scikit-learn (about 70 MB a process) to count a few hundred words.
The vocabulary is English: other languages score by meaning alone.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

TERMS_FILE = Path(__file__).parent / "data" / "topic_terms.npz"
# what the build step gives TfidfVectorizer; TOKEN is its default token pattern
SETTINGS = {"sublinear_tf": True, "min_df": 2, "max_df": 0.5, "stop_words": "english"}
TOKEN = re.compile(r"(?u)\b\w\w+\b")


def article_text(title: str | None, text: str) -> str:
    """What an article's terms are counted over: its headline, then its text."""
    return f"{title}\n{text}" if title else text


@dataclass(frozen=True, slots=True)
class Terms:
    """The fitted vocabulary (word -> column), its IDF, and the pool articles' term vectors
    (unit rows, ordered by ``digests``)."""

    index: dict[str, int]
    idf: np.ndarray
    pool: sparse.csr_matrix
    digests: tuple[str, ...]

    @classmethod
    def fit(cls, texts: Sequence[str], digests: Sequence[str]) -> Terms:
        """Fit the vocabulary and IDF on ``texts`` (the build step) and count them."""
        from sklearn.feature_extraction.text import TfidfVectorizer  # build time only

        fitted = TfidfVectorizer(**SETTINGS).fit(texts)
        words = fitted.get_feature_names_out()
        made = cls({str(w): i for i, w in enumerate(words)}, fitted.idf_, _empty(len(words)), ())
        return cls(made.index, made.idf, made.vectors(texts), tuple(digests))

    @property
    def size(self) -> int:
        return len(self.idf)

    @property
    def words(self) -> list[str]:
        return sorted(self.index, key=self.index.__getitem__)

    def vectors(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """One unit tf-idf row per text (a text with no known word is a zero row)."""
        data: list[np.ndarray] = []
        columns: list[np.ndarray] = []
        starts = [0]
        for text in texts:
            counts = Counter(w for w in TOKEN.findall(text.lower()) if w in self.index)
            where = np.fromiter((self.index[w] for w in counts), np.int64, len(counts))
            order = np.argsort(where)
            weights = 1.0 + np.log(np.fromiter(counts.values(), np.float64, len(counts)))
            weights = (weights * self.idf[where])[order]
            norm = float(np.linalg.norm(weights))
            data.append(weights / norm if norm else weights)
            columns.append(where[order])
            starts.append(starts[-1] + len(counts))
        if not data:
            return _empty(self.size)
        return sparse.csr_matrix(
            (np.concatenate(data), np.concatenate(columns), np.asarray(starts)),
            shape=(len(texts), self.size),
        )

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
            terms=np.array(self.words, dtype=str),
            idf=self.idf.astype(np.float64),
            data=pool.data.astype(np.float16),
            indices=pool.indices.astype(np.int32),
            indptr=pool.indptr.astype(np.int64),
            meta=np.array(json.dumps(meta)),
        )

    @classmethod
    def read(cls, path: Path = TERMS_FILE) -> Terms:
        with np.load(path, allow_pickle=False) as data:
            words = [str(word) for word in data["terms"]]
            shape = (len(data["indptr"]) - 1, len(words))
            pool = sparse.csr_matrix(
                (data["data"].astype(np.float32), data["indices"], data["indptr"]), shape=shape
            )
            idf = data["idf"].astype(np.float64)
            digests = tuple(json.loads(str(data["meta"]))["digests"])
        return cls({word: i for i, word in enumerate(words)}, idf, pool, digests)


_LOADED: list[Terms] = []
_LOCK = threading.Lock()


def load() -> Terms:
    """The shipped vocabulary and pool term vectors, read once per process."""
    with _LOCK:
        if not _LOADED:
            _LOADED.append(Terms.read())
        return _LOADED[0]


def _empty(size: int) -> sparse.csr_matrix:
    return sparse.csr_matrix((0, size), dtype=np.float64)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
