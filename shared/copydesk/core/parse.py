"""Hold the linguistic parse the prepare stage makes once per article, compactly.

The entity (and, to come, keyphrase and quote) analyses read it from the stored document, as
summary and sentiment read the prepared vectors, so none of them loads a parser. Only what
they need is kept: entity mentions and noun chunks, as code-point offsets into the document's
text (the text ``GET /v1/jobs/{id}/text`` returns), each with the index of the document
sentence that holds it. A seed-sized article's parse is about 2 kB of JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Mention:
    """An entity mention ``[start, end)`` with the parser's label and its sentence's index;
    ``norm`` is its name in the nominative where the parser inflects names (Russian), else ""."""

    start: int
    end: int
    label: str
    sentence: int
    norm: str = ""


@dataclass(frozen=True, slots=True)
class Chunk:
    """A noun chunk ``[start, end)`` and its sentence's index."""

    start: int
    end: int
    sentence: int


@dataclass(frozen=True, slots=True)
class Cue:
    """A speech verb ``[start, end)`` ("said", "told", "according"), its subject's span and
    the span of the clause it reports ("X said that ..."); -1 where there is none."""

    start: int
    end: int
    subject_start: int
    subject_end: int
    content_start: int
    content_end: int
    sentence: int


@dataclass(frozen=True, slots=True)
class Parse:
    """What the parser found in ``text[:end]``; ``end`` < len(text) when a budget ran out."""

    model: str
    end: int
    mentions: tuple[Mention, ...] = ()
    chunks: tuple[Chunk, ...] = ()
    cues: tuple[Cue, ...] = ()
    windows: int = 0
    ms: float = 0.0

    def to_data(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "end": self.end,
            "windows": self.windows,
            "ms": self.ms,
            "ents": [
                [m.start, m.end, m.label, m.sentence, *([m.norm] if m.norm else [])]
                for m in self.mentions
            ],
            "chunks": [[c.start, c.end, c.sentence] for c in self.chunks],
            "cues": [
                [c.start, c.end, c.subject_start, c.subject_end, c.content_start, c.content_end]
                + [c.sentence]
                for c in self.cues
            ],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Parse:
        return cls(
            model=data["model"],
            end=data["end"],
            windows=data.get("windows", 0),
            ms=data.get("ms", 0.0),
            mentions=tuple(Mention(*mention) for mention in data["ents"]),
            chunks=tuple(Chunk(a, b, s) for a, b, s in data["chunks"]),
            cues=tuple(Cue(*cue) for cue in data.get("cues", ())),
        )
