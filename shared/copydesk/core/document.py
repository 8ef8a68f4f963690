"""Hold an article's analysed text and its sentence spans, prepared once for all analyses.

Offsets index into ``text`` (the cleaned text that ``GET /v1/jobs/{id}/text`` returns), so
every analysis reports positions a client can slice with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from copydesk.core.parse import Parse


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range ``[start, end)`` into the analysed text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Document:
    """The analysed text, its sentences and its detected language (ISO 639-1 or None).

    ``parse`` is the linguistic parse, made only when a requested analysis needs one.
    """

    text: str
    sentences: tuple[Span, ...]
    language: str | None = None
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    parse: Parse | None = None

    def sentence_texts(self) -> list[str]:
        return [self.text[s.start : s.end] for s in self.sentences]

    def to_json(self) -> str:
        data = {
            "text": self.text,
            "sentences": [[s.start, s.end] for s in self.sentences],
            "language": self.language,
            "title": self.title,
            "meta": self.meta,
        }
        if self.parse is not None:
            data["parse"] = self.parse.to_data()
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Document:
        data = json.loads(raw)
        return cls(
            text=data["text"],
            sentences=tuple(Span(a, b) for a, b in data["sentences"]),
            language=data.get("language"),
            title=data.get("title"),
            meta=data.get("meta") or {},
            parse=Parse.from_data(data["parse"]) if data.get("parse") else None,
        )
