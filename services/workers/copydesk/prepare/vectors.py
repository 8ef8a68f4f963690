"""Carry a document's sentence embeddings from the prepare stage to the embedded analysers.

The prepare stage embeds every sentence (and the title, and the label set a topics request
needs) once; summary, sentiment, topics, entities and stories then work on these vectors
without loading a model. Keyphrases and quotes read none: a job of those alone embeds
nothing. An English article scored against custom labels also carries a second encoder's
vector of its headline and that encoder's label rows (``Headline``, topics.HEADLINE). They
travel through Redis as float16 (half the bytes; cosines move by ~1e-3) behind a small JSON
header, and are deleted when the job ends.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from copydesk.core.document import Document

_HEADER = struct.Struct("<I")


@dataclass(frozen=True)
class Headline:
    """A second encoder's unit vector of the article's first text (its headline, or its lead
    sentence) and that encoder's rows for the topics label set."""

    model: str
    vector: np.ndarray
    label_matrix: np.ndarray


@dataclass(frozen=True)
class DocVectors:
    """Unit vectors for ``texts`` (rows of ``matrix``) and the topics label matrix, if any."""

    model: str
    texts: tuple[str, ...]
    matrix: np.ndarray
    labels: tuple[str, ...] = ()
    label_matrix: np.ndarray | None = None
    label_key: str = ""  # names the label set (with descriptions, examples) the matrix is for
    headline: Headline | None = None

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def lookup(self, texts: Sequence[str]) -> np.ndarray | None:
        """Return the rows for ``texts``, or None when any of them was not embedded."""
        index = {text: row for row, text in enumerate(self.texts)}
        rows = [index.get(text) for text in texts]
        if any(row is None for row in rows):
            return None
        return self.matrix[rows].astype(np.float32) if rows else self.matrix[:0]

    def labels_for(self, key: str) -> np.ndarray | None:
        if self.label_matrix is None or key != self.label_key:
            return None
        return self.label_matrix.astype(np.float32)

    def to_bytes(self) -> bytes:
        """Serialise without the texts: the reader rebuilds them from the document."""
        header = {
            "model": self.model,
            "rows": len(self.texts),
            "dim": self.dim,
            "labels": list(self.labels),
            "label_key": self.label_key,
        }
        if self.headline is not None:
            header["headline"] = {
                "model": self.headline.model,
                "dim": int(self.headline.vector.shape[0]),
                "labels": int(self.headline.label_matrix.shape[0]),
            }
        head = json.dumps(header).encode()
        parts = [_HEADER.pack(len(head)), head, self.matrix.astype("<f2").tobytes()]
        if self.label_matrix is not None:
            parts.append(self.label_matrix.astype("<f2").tobytes())
        if self.headline is not None:
            parts.append(self.headline.vector.astype("<f2").tobytes())
            parts.append(self.headline.label_matrix.astype("<f2").tobytes())
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes, doc: Document) -> DocVectors:
        (size,) = _HEADER.unpack_from(data)
        header = json.loads(data[_HEADER.size : _HEADER.size + size])
        rows, dim, labels = header["rows"], header["dim"], tuple(header["labels"])
        values = np.frombuffer(data, dtype="<f2", offset=_HEADER.size + size)
        matrix = values[: rows * dim].reshape(rows, dim)
        end = rows * dim + len(labels) * dim
        label_matrix = values[rows * dim : end].reshape(len(labels), dim) if labels else None
        headline = None
        if second := header.get("headline"):
            width, count = second["dim"], second["labels"]
            vector = values[end : end + width].astype(np.float32)
            rest = values[end + width : end + width + count * width].reshape(count, width)
            headline = Headline(second["model"], vector, rest.astype(np.float32))
        texts = embedded_texts(doc)
        # a job prepared before keyphrases /4 holds its candidates' rows after the document's
        own = rows - len(header.get("extra", ()))
        if len(texts) != own:
            raise ValueError(f"vectors hold {own} rows for {len(texts)} texts")
        key = header.get("label_key", "")
        return cls(header["model"], texts, matrix[:own], labels, label_matrix, key, headline)


def embedded_texts(doc: Document) -> tuple[str, ...]:
    """Name, in row order, the texts the prepare stage embeds: sentences, then the title."""
    texts = [t.strip() for t in doc.sentence_texts()]
    title = (doc.title or "").strip()
    return (*texts, title) if title else tuple(texts)
