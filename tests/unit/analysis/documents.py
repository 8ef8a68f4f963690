"""Build Documents for analyser tests without the text-preparation pipeline."""

from __future__ import annotations

import re

from copydesk.core.document import Document, Span


def make_doc(text: str, *, language: str | None = "en", title: str | None = None) -> Document:
    """Split on line breaks and sentence ends, as text preparation roughly does."""
    spans = []
    for line in re.finditer(r"[^\n]+", text):
        for piece in re.finditer(r".+?(?:[.!?]+[\"'”’]?(?=\s|$)|$)", line.group()):
            if piece.group().strip():
                start = line.start() + piece.start()
                spans.append(Span(start, start + len(piece.group())))
    return Document(text=text, sentences=tuple(spans), language=language, title=title)
