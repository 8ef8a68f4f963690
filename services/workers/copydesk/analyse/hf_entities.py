"""Find entities with any Hugging Face token-classification model named by configuration.

``COPYDESK_ENTITIES_MODEL`` swaps the prepare stage's spaCy recogniser for a model such as
a CoNLL-2003 BERT: the model tags tokens (B-/I- or bare labels), tags are joined into
mentions with character offsets, and everything after that is the embedded analysis's own
(``EntityAnalyser.from_mentions``): canonical names, salience and sentence sentiment. Like
the other Hugging Face analysers it runs on its own worker as soon as the text is ready, so
it scores its sentences on the vectors when they are there, and embeds them otherwise.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from copydesk.analyse.base import Result
from copydesk.analyse.entities import EntityAnalyser
from copydesk.analyse.hf_common import HFAnalyser, Loaded, chunk_spans, sentence_spans
from copydesk.analyse.hf_common import special_tokens
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisUnavailable
from copydesk.core.options import EntitiesOptions, checked
from copydesk.core.parse import Mention

LABELS: Final = {"PER": "PERSON", "PERS": "PERSON", "LOCATION": "LOC", "ORGANIZATION": "ORG"}
"""Hub spellings of spaCy's labels; any other label not in spaCy's scheme counts as MISC."""
OUTSIDE: Final = "O"


@dataclass(frozen=True, slots=True)
class Chunks:
    """The text and the model-sized spans of it to tag."""

    text: str
    spans: list[Span]
    starts: list[int]  # where each document sentence starts


def label_of(tag: str) -> tuple[str, str]:
    """Split a tag into its position (B, I or '') and its spaCy-style label."""
    position, _, name = tag.partition("-") if tag[:2] in ("B-", "I-", "E-", "S-") else ("", "", tag)
    name = name.upper()
    return position, LABELS.get(name, name)


def join_tags(
    offsets: Sequence[tuple[int, int]], tags: Sequence[str], *, text: str
) -> list[tuple[int, int, str]]:
    """Join token tags into mentions ``(start, end, label)``: a mention starts at a B- tag,
    at a label change, or after an O; a word piece never starts one."""
    mentions: list[list[Any]] = []
    open_label: str | None = None
    for (start, end), tag in zip(offsets, tags, strict=True):
        if start == end:
            continue  # a special token
        position, label = label_of(tag)
        piece = bool(mentions) and mentions[-1][1] == start and start > 0 and text[start - 1] != " "
        if tag == OUTSIDE:
            if piece and open_label is not None:
                mentions[-1][1] = end  # the rest of a tagged word
                continue
            open_label = None
            continue
        if open_label == label and (position != "B" or piece):
            mentions[-1][1] = end
        else:
            mentions.append([start, end, label])
            open_label = label
    return [(a, b, label) for a, b, label in mentions]


class HFEntityRecogniser(HFAnalyser):
    """Entities from a token-classification model; salience and sentiment as embedded."""

    name = "entities"
    auto_class = "AutoModelForTokenClassification"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entities = EntityAnalyser()

    def _check_model(self, loaded: Loaded) -> None:
        tags = list(loaded.model.config.id2label.values())
        if OUTSIDE not in tags:
            raise AnalysisUnavailable(
                f"model {self.model_id} has no 'O' tag: it is not a token classifier of entities"
            )

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> Chunks:
        checked(EntitiesOptions, options)
        self.check(doc)
        loaded = self.load()
        budget = loaded.max_tokens - special_tokens(loaded.tokenizer)
        spans = chunk_spans(
            tokenizer=loaded.tokenizer, text=doc.text, spans=sentence_spans(doc), budget=budget
        )
        return Chunks(doc.text, spans, [s.start for s in doc.sentences])

    def _forward(self, inputs: Chunks) -> list[Mention]:
        return [
            Mention(a, b, label, max(bisect.bisect_right(inputs.starts, a) - 1, 0))
            for span in inputs.spans
            for a, b, label in self.tag(inputs.text, span)
        ]

    def postprocess(
        self, doc: Document, outputs: list[Mention], options: Mapping[str, Any]
    ) -> Result:
        return self._describe(doc, outputs, options, vectors=None)

    def __call__(
        self, doc: Document, options: Mapping[str, Any] | None = None, *, vectors: Any = None
    ) -> Result:
        """Tag the document, then describe its entities; ``vectors`` spare embedding the
        sentences that mention them when the prepare stage has made them already."""
        opts = options or {}
        return self._describe(doc, self._forward(self.preprocess(doc, opts)), opts, vectors)

    def _describe(
        self, doc: Document, mentions: Sequence[Mention], options: Mapping[str, Any], vectors: Any
    ) -> Result:
        result = self.entities.from_mentions(
            doc, mentions, parser=self.model_id, end=len(doc.text), options=options, vectors=vectors
        )
        return {**result, "model": f"{self.model_id} ({self.entities.model_name})"}

    def tag(self, text: str, span: Span) -> list[tuple[int, int, str]]:
        """Mentions in ``text[span]``, as offsets into ``text``."""
        import torch

        loaded = self.load()
        piece = text[span.start : span.end]
        encoded = loaded.tokenizer(
            piece,
            return_offsets_mapping=True,
            truncation=True,
            max_length=loaded.max_tokens,
            return_tensors="pt",
        )
        offsets = [tuple(pair) for pair in encoded.pop("offset_mapping")[0].tolist()]
        with torch.inference_mode():
            logits = loaded.model(**encoded.to(self.device)).logits[0]
        id2label = loaded.model.config.id2label
        tags = [id2label[int(i)] for i in logits.argmax(-1).tolist()]
        return [
            (span.start + a, span.start + b, label)
            for a, b, label in join_tags(offsets, tags, text=piece)
        ]
