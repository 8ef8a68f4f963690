"""A cheap entity recogniser on the parse's shared token vectors: a tagger, not a parser.

en_core_web_sm's own recogniser carries its own token encoder and decodes one transition at a
time: 42 of a news article's 87 ms of parse, more than the tagger, the dependency parser and
their shared encoder together. This head reads the vectors the shared encoder has already
made (``doc.tensor``, 96 per token), so an entity costs two small matrix products per token:

- features: a token's vector and a learned vector of its word (by its ``NORM``, for the
  words seen often enough in training; one shared zero vector for every other word, which
  training taught the head to read by dropping words at random), beside its two neighbours'
  on each side (zeros past the edges);
- one hidden layer (ReLU), then a score for each BILUO tag of each OntoNotes label (``O``,
  and ``B-``, ``I-``, ``L-``, ``U-`` of the 18 labels spaCy's recogniser uses);
- greedy decoding left to right, each token taking its best tag that continues the tags
  before it (inside an entity: ``I`` or ``L`` of its label; outside: ``O``, ``B`` or ``U``),
  as spaCy's own greedy decoding does.

The weights are trained by ``training/train_ner_head.py`` (distilled from en_core_web_md's
recogniser on news of publishers no benchmark reports) and shipped in
``data/ner_head_v1.npz`` with the name and version of the pipeline whose vectors they read;
``NerHead.load`` refuses another pipeline, and the parser then keeps spaCy's recogniser.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

HEAD_FILE: Final = Path(__file__).with_name("data") / "ner_head_v1.npz"
WINDOW: Final = 2  # neighbours on each side whose vectors a token's features hold
MAX_WORDS: Final = 1 << 15  # most words with a learned vector


def features(tensor: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Each token's vector beside its ``window`` neighbours' on each side, zeros past the
    edges: (tokens, width * (2 * window + 1))."""
    count, width = tensor.shape
    padded = np.zeros((count + 2 * window, width), dtype=np.float32)
    padded[window : window + count] = tensor
    return np.concatenate([padded[i : i + count] for i in range(2 * window + 1)], axis=1)


def word_rows(vocabulary: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """Each NORM hash's row in the word table: its place in the sorted ``vocabulary``, or
    ``len(vocabulary)`` (the unknown word's zero row) when it is not there."""
    if not len(vocabulary):
        return np.zeros(len(norms), dtype=np.int64)
    places = np.minimum(np.searchsorted(vocabulary, norms), len(vocabulary) - 1)
    return np.where(vocabulary[places] == norms, places, len(vocabulary))


def tag_names(labels: list[str]) -> list[str]:
    """The head's tags in output order: ``O``, then B, I, L, U of each label."""
    return ["O"] + [f"{move}-{label}" for label in labels for move in "BILU"]


def decode(scores: np.ndarray, label_count: int) -> list[tuple[int, int, int]]:
    """Greedy BILUO decoding of (tokens, 1 + 4 * labels) scores: (start, end, label index)
    token spans, each token's tag the best one that continues the tags before it."""
    count = scores.shape[0]
    if not count:
        return []
    by_label = scores[:, 1:].reshape(count, label_count, 4)  # B I L U
    outside = np.stack(  # outside an entity: O, the best B, the best U
        [scores[:, 0], by_label[:, :, 0].max(axis=1), by_label[:, :, 3].max(axis=1)], axis=1
    )
    choice = outside.argmax(axis=1).tolist()
    best_b = by_label[:, :, 0].argmax(axis=1).tolist()
    best_u = by_label[:, :, 3].argmax(axis=1).tolist()
    go_on = (by_label[:, :, 1] >= by_label[:, :, 2]).tolist()  # inside: I rather than L
    spans: list[tuple[int, int, int]] = []
    i = 0
    while i < count:
        kind = choice[i]
        if kind == 1 and i + 1 < count:  # B: I of its label until its L (or the last token)
            label, start = best_b[i], i
            i += 1
            while i < count - 1 and go_on[i][label]:
                i += 1
            spans.append((start, i + 1, label))
        elif kind:  # U, or a B on the last token
            spans.append((i, i + 1, best_u[i] if kind == 2 else best_b[i]))
        i += 1
    return spans


@dataclass(frozen=True)
class NerHead:
    """The trained head: weights, its labels, and the pipeline whose vectors it reads."""

    words: np.ndarray  # (known words + 1, width): their learned vectors, then zeros
    vocabulary: np.ndarray  # the known words' NORM hashes, sorted (uint64)
    hidden: np.ndarray
    hidden_bias: np.ndarray
    output: np.ndarray
    output_bias: np.ndarray
    labels: list[str]
    pipeline: str  # "<name>-<version>" of the spaCy package whose tok2vec it was trained on

    @classmethod
    def load(cls, nlp: Any, path: Path = HEAD_FILE) -> NerHead | None:
        """The head for ``nlp``'s shared vectors, or None when the file is missing or was
        trained on another pipeline's vectors."""
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            pipeline = str(data["pipeline"])
            if pipeline != pipeline_of(nlp):
                return None
            words = data["words"].astype(np.float32)
            return cls(
                np.vstack([words, np.zeros((1, words.shape[1]), dtype=np.float32)]),
                data["vocabulary"].astype(np.uint64),
                data["hidden"].astype(np.float32),
                data["hidden_bias"].astype(np.float32),
                data["output"].astype(np.float32),
                data["output_bias"].astype(np.float32),
                [str(label) for label in data["labels"]],
                pipeline,
            )

    def scores(self, tensor: np.ndarray, norms: np.ndarray) -> np.ndarray:
        """(tokens, tags) scores for a document's shared token vectors and NORM hashes."""
        rows = word_rows(self.vocabulary, norms)
        tokens = np.concatenate([tensor.astype(np.float32, copy=False), self.words[rows]], axis=1)
        hidden = features(tokens) @ self.hidden + self.hidden_bias
        np.maximum(hidden, 0.0, out=hidden)
        return hidden @ self.output + self.output_bias

    def apply(self, doc: Any) -> None:
        """Set ``doc.ents`` from its shared token vectors (``doc.tensor``)."""
        if not len(doc) or doc.tensor is None or doc.tensor.shape[0] != len(doc):
            return
        from spacy.attrs import NORM  # spaCy made ``doc``: imported already, without torch
        from spacy.tokens import Span

        norms = doc.to_array([NORM]).reshape(-1)
        found = decode(self.scores(doc.tensor, norms), len(self.labels))
        doc.set_ents(
            [Span(doc, start, end, label=self.labels[label]) for start, end, label in found],
            default="outside",
        )


def pipeline_of(nlp: Any) -> str:
    """The name and version that identify a spaCy pipeline's weights."""
    meta = nlp.meta
    return f"{meta.get('lang', '')}_{meta.get('name', '')}-{meta.get('version', '')}"
