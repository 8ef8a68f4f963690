"""Find the entities of Russian articles with natasha, and name each in the nominative.

natasha's news recogniser (slovnet, on navec's word vectors, both shipped in the wheel)
tags people, places and organisations (PER, LOC, ORG). Russian declines names ("Путина",
"Путину", "с Путиным"), so mentions of one person would not merge on their written forms:
each mention is also named in the nominative as natasha does it (``DocSpan.normalize``:
pymorphy2 inflects the words its morphological tagger read, and for organisations only the
head noun and the words that agree with it, found by its dependency parser, so "Министерства
иностранных дел" becomes "Министерство иностранных дел"). The tagger runs only on the
sentences that hold a mention, the parser only on those that hold an organisation.

Memory: each of natasha's three models keeps its own copy of navec's 250,002-word
vocabulary (50 MB each), and the vectors object keeps a fourth. The models read the same
list, so they share one copy and the vectors object is let go once its arrays are in the
models: loading them adds 79 MB to a worker's RSS (bench/parse_languages.py).
"""

from __future__ import annotations

import time
from collections.abc import Set
from typing import Any, Final

from copydesk.core.document import Document
from copydesk.core.parse import Mention, Parse
from copydesk.prepare.parser import PARTS, Budget, _index, reached, windows

LANGUAGE: Final = "ru"
MODEL: Final = "natasha-1.6.0/slovnet_ner_news_v1"


class NatashaParser:
    """natasha's news models, loaded once per process; entities alone (``parts``)."""

    languages: tuple[str, ...] = (LANGUAGE,)
    parts: frozenset[str] = frozenset({"entities"})
    model = MODEL

    def __init__(self) -> None:
        import pymorphy2_dicts_ru
        from natasha import (
            NewsEmbedding,
            NewsMorphTagger,
            NewsNERTagger,
            NewsSyntaxParser,
            Segmenter,
        )
        from natasha.morph.vocab import MorphForm, MorphVocab
        from pymorphy2.analyzer import MorphAnalyzer

        class Vocab(MorphVocab):  # type: ignore[misc]
            """natasha's MorphVocab, given its dictionary's folder: pymorphy2 would look it
            up through pkg_resources, which recent setuptools no longer ship."""

            def __init__(self) -> None:
                MorphAnalyzer.__init__(
                    self, path=pymorphy2_dicts_ru.get_path(), result_type=MorphForm
                )

        embedding = NewsEmbedding()
        self.segmenter = Segmenter()
        self.ner = NewsNERTagger(embedding)
        self.morph = _sharing_words(NewsMorphTagger(embedding), self.ner)
        self.syntax = _sharing_words(NewsSyntaxParser(embedding), self.ner)
        del embedding  # its arrays live on in the models; its vocabulary is not needed
        self.vocab = Vocab()

    def parse(self, doc: Document, budget: Budget, *, parts: Set[str] = PARTS) -> Parse:
        """Tag ``doc``'s sentences window by window within ``budget``; entities only."""
        began = time.perf_counter()
        spans = list(windows(doc.sentences, size=budget.window_chars, limit=budget.max_chars))
        starts = [s.start for s in doc.sentences]
        mentions: list[Mention] = []
        end, parsed = 0, 0
        for window in spans if "entities" in parts else ():
            for start, stop, label, norm in self.entities(doc.text[window.start : window.end]):
                at = window.start + start
                mentions.append(Mention(at, window.start + stop, label, _index(starts, at), norm))
            end, parsed = window.end, parsed + 1
            if time.perf_counter() - began > budget.seconds:
                break
        end = reached(doc, spans, parsed=parsed, end=end)
        ms = round((time.perf_counter() - began) * 1000, 1)
        return Parse(self.model, end, tuple(mentions), (), (), parsed, ms)

    def entities(self, text: str) -> list[tuple[int, int, str, str]]:
        """Each entity of ``text``: its span, natasha's label and its nominative name ("" when
        it is the text as written)."""
        from natasha import Doc
        from natasha.doc import inject_morph, inject_syntax, offset_syntax, sent_words

        found = Doc(text)
        found.segment(self.segmenter)
        found.tag_ner(self.ner)
        named = [(i, s) for i, s in enumerate(found.sents, 1) if s.spans]
        for (_, sentence), markup in zip(
            named, self.morph.map([sent_words(s) for _, s in named]), strict=True
        ):
            inject_morph(sentence.tokens, markup.tokens)
        organisations = [(i, s) for i, s in named if any(x.type == "ORG" for x in s.spans)]
        for (i, sentence), markup in zip(
            organisations,
            self.syntax.map([sent_words(s) for _, s in organisations]),
            strict=True,
        ):
            inject_syntax(sentence.tokens, markup.tokens)
            offset_syntax(i, sentence.tokens)
        result = []
        for span in found.spans:
            norm = ""
            if span.tokens:
                span.normalize(self.vocab)
                norm = span.normal if span.normal != span.text else ""
            result.append((span.start, span.stop, span.type, norm))
        return result


def _sharing_words(model: Any, owner: Any) -> Any:
    """``model`` reading ``owner``'s word vocabulary when both hold the same words (its own
    copy is then freed: 50 MB)."""
    mine, theirs = model.infer.encoder.words_vocab, owner.infer.encoder.words_vocab
    if mine.items == theirs.items:
        model.infer.encoder.words_vocab = theirs
    return model
