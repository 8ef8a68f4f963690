"""Tell copies of an article apart from stories that merely share its topic.

Three kinds, strongest first (docs/analyses.md, ``stories``):

- ``exact``: the same normalised text (NFKC, case folded, words only), by a 16-byte hash;
- ``near``: wire copy with a new headline, a trimmed ending, a paragraph added or moved, a
  few words changed. MinHash (``datasketch``) over word shingles estimates the Jaccard
  similarity J of two texts' shingle sets; with the sets' sizes it also estimates how much of
  the shorter one the longer holds (containment), which stays high when a copy is trimmed to
  its first paragraphs while J falls. ``similarity`` is the larger of the two;
- ``rewrite``: the same report told in other words: document vectors close in meaning and
  entities in common.

Candidates come from locality-sensitive hashing: the signature's ``BANDS`` bands of ``ROWS``
values each are hashed, and an article that shares any band hash with this one is compared
(with the nearest document vectors, see :mod:`copydesk.archive.stories`). The thresholds were
chosen on the dev split of bench/quality_duplicates.py.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

VERSION = "copydesk-duplicates/1"
NUM_PERM = 128
SCHEME = "affine32"  # datasketch 2's permutation scheme: stored signatures depend on it
BANDS, ROWS = 32, 4  # LSH: 32 bands of 4 values; a pair at J = 0.42 shares one with p = 0.5
SHINGLE = 3  # words per shingle
NEAR = 0.3  # the least MinHash similarity (J or containment) of a near-copy
REWRITE = 0.95  # the least cosine of two document vectors of a rewrite ...
REWRITE_ENTITIES = 1  # ... that name at least this many entities in common
REWRITE_ALONE = 0.95  # a cosine this high is a rewrite whatever the entities (on dev, the
# names in common added nothing at the precision asked: every pair at 0.95 shared one)
MIN_WORDS = 20  # fewer words make no near or rewrite match (a one-line brief is no copy)

_WORD = re.compile(r"\w+")
_MINHASH = None  # one datasketch MinHash's permutations, made once per process


@dataclass(frozen=True, slots=True)
class Signature:
    """What an article is compared by: its text hash, MinHash values and shingle count."""

    text_hash: bytes
    minhash: np.ndarray  # NUM_PERM uint32 values
    shingles: int
    words: int

    def to_bytes(self) -> bytes:
        return self.minhash.astype("<u4").tobytes()

    @staticmethod
    def values(data: bytes) -> np.ndarray:
        return np.frombuffer(data, dtype="<u4")


def words(text: str) -> list[str]:
    """The text's words, normalised: NFKC, case folded, punctuation and spacing set aside."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(tokens: Sequence[str], size: int = SHINGLE) -> set[bytes]:
    """Every run of ``size`` consecutive words (the whole text when shorter)."""
    if len(tokens) <= size:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i : i + size]).encode() for i in range(len(tokens) - size + 1)}


def signature(text: str, *, size: int = SHINGLE) -> Signature:
    """The article's signature: text hash, MinHash of its shingles, their count."""
    from datasketch import MinHash

    global _MINHASH
    if _MINHASH is None:
        _MINHASH = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME)
    tokens = words(text)
    digest = hashlib.sha256(" ".join(tokens).encode()).digest()[:16]
    grams = shingles(tokens, size)
    minhash = MinHash(num_perm=NUM_PERM, permutations=_MINHASH.permutations, scheme=SCHEME)
    minhash.update_batch(list(grams))
    return Signature(digest, minhash.hashvalues.astype(np.uint32), len(grams), len(tokens))


def band_hashes(minhash: np.ndarray, *, bands: int = BANDS, rows: int = ROWS) -> list[int]:
    """One signed 64-bit hash per band (PostgreSQL's bigint), band by band."""
    data = minhash.astype("<u4")
    return [
        int.from_bytes(
            hashlib.blake2b(data[b * rows : (b + 1) * rows].tobytes(), digest_size=8).digest(),
            "little",
            signed=True,
        )
        for b in range(bands)
    ]


def minhash_similarity(a: np.ndarray, b: np.ndarray, *, size_a: int, size_b: int) -> float:
    """The larger of the estimated Jaccard similarity and containment of the shorter text."""
    jaccard = float(np.mean(a == b))
    if not size_a or not size_b:
        return jaccard
    common = jaccard / (1 + jaccard) * (size_a + size_b)  # |A & B| from J and the sizes
    return max(jaccard, min(1.0, common / min(size_a, size_b)))


@dataclass(frozen=True, slots=True)
class Match:
    """A duplicate found: which article, what kind, how similar (0..1)."""

    job_id: str
    kind: str  # exact | near | rewrite
    similarity: float


def classify(
    *,
    same_text: bool,
    near: float | None,
    cosine: float | None,
    shared_entities: int,
    words: int,
) -> tuple[str, float] | None:
    """The kind of duplicate two articles are, with its similarity, or None.

    ``near`` is their MinHash similarity, ``cosine`` that of their document vectors (None
    when either lacks one), ``words`` the shorter one's word count.
    """
    if same_text:
        return "exact", 1.0
    if words < MIN_WORDS:
        return None
    if near is not None and near >= NEAR:
        return "near", round(near, 4)
    if cosine is not None and (
        cosine >= REWRITE_ALONE or (cosine >= REWRITE and shared_entities >= REWRITE_ENTITIES)
    ):
        return "rewrite", round(cosine, 4)
    return None


def entity_keys(names: Iterable[str]) -> list[str]:
    """Entity names as compared across articles: case, dots and spacing set aside."""
    return sorted({" ".join(name.casefold().replace(".", "").split()) for name in names} - {""})
