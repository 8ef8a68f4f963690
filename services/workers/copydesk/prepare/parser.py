"""Parse an article once, in the prepare stage, for the analyses that read a parse.

spaCy's pipeline finds what the requested analyses read (``PARTS``): entity mentions (by
default ``ner_head.NerHead`` on the shared token vectors, a fifteenth of the cost of the
pipeline's own recogniser, which ``COPYDESK_PARSER_RECOGNISER=spacy`` keeps), noun chunks (patterns of the tagger's tags, ``chunks.TagChunker``) and speech
cues with their subjects and reported clauses (the dependency parser, run on the sentences
that hold a speech verb alone). It reads the document's own sentences, grouped into windows
of whole sentences, so a long article never becomes one huge parser input and every offset
is a code-point offset into the document's text. The parse is bounded three ways: ``parse_max_chars``
characters, ``parse_seconds`` of time (checked between windows), and the worker process's
memory cap. What a budget leaves unparsed is reported as coverage, never a crash. The model
loads once per process, on the first job that asks for a parse, so a deployment that never
asks pays nothing.

Each language has its own parser (``parser_for``): English the configured pipeline, French
fr_core_news_md's recogniser (``parse_fr``), Russian natasha (``parse_ru``), each loaded on
the first article in its language. Outside English they find entities alone (``parts``):
noun chunks and speech cues read English tags and verbs.
"""

from __future__ import annotations

import bisect
import sys
import time
from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np

from copydesk.analyse.base import MODEL_LOAD_LOCK
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisUnavailable, UnsupportedLanguage
from copydesk.core.parse import Chunk, Cue, Mention, Parse
from copydesk.prepare.chunks import TagChunker
from copydesk.prepare.ner_head import HEAD_FILE, NerHead
from copydesk.prepare.pos_rules import PosRules

PIPES_NOT_NEEDED = ("lemmatizer",)  # chunks need the tagger, cues the parser, entities ner
PARTS: Final = frozenset({"entities", "chunks", "cues"})  # what a parse may keep
CUE_FORMS: Final = frozenset(
    """say says said saying tell tells told telling add adds added state states stated
    explain explains explained warn warns warned claim claims claimed insist insists insisted
    ask asks asked reply replies replied write writes wrote announce announces announced
    note notes noted argue argues argued declare declares declared admit admits admitted
    acknowledge acknowledges acknowledged confirm confirms confirmed deny denies denied
    vow vows vowed urge urges urged recall recalls recalled according""".split()
)
"""Speech verbs, as written (the lemmatizer is not loaded): what the quotes analysis reads."""
MAX_SUBJECT_TOKENS: Final = 12


@dataclass(frozen=True, slots=True)
class Budget:
    """What one article's parse may cost (``Settings.parse_*``)."""

    max_chars: int = 100_000
    window_chars: int = 10_000
    seconds: float = 20.0

    @classmethod
    def from_settings(cls, settings: Any) -> Budget:
        return cls(settings.parse_max_chars, settings.parse_window_chars, settings.parse_seconds)


class Parser(Protocol):
    """Parse a document into a compact ``Parse``; the prepare stage's only parser interface."""

    languages: tuple[str, ...]
    parts: frozenset[str]  # what it can find: PARTS in English, entities elsewhere

    def parse(self, doc: Document, budget: Budget, *, parts: Set[str] = PARTS) -> Parse: ...


def check_language(language: str | None, languages: Sequence[str]) -> None:
    """Refuse a language the parser was not trained on, rather than return nonsense."""
    if language and language.split("-")[0].lower() not in languages:
        raise UnsupportedLanguage(
            f"the parse reads {', '.join(languages)} only; this article is {language!r}",
            language=language,
        )


PART_NAMES: Final = {"entities": "entities", "chunks": "noun chunks", "cues": "speech cues"}


def refusal(
    analysis: str, needs: Sequence[str], parser: Parser, doc: Document
) -> UnsupportedLanguage | None:
    """Why ``analysis`` cannot run on ``doc``: it reads parts of the parse that ``parser``
    (its language's) does not find; None when it can."""
    missing = sorted(set(needs) - parser.parts)
    if not missing:
        return None
    return UnsupportedLanguage(
        f"{analysis} read English only: their {' and '.join(PART_NAMES[p] for p in missing)} "
        f"come from the English parse; in {doc.language!r} the parse finds "
        f"{', '.join(PART_NAMES[p] for p in sorted(parser.parts))} alone",
        language=doc.language,
    )


def windows(sentences: Sequence[Span], *, size: int, limit: int) -> Iterator[Span]:
    """Group consecutive sentences into spans of at most ``size`` characters (a longer sentence
    is a window alone), stopping before the first sentence that ends past ``limit``."""
    start = end = None
    for sentence in sentences:
        if sentence.end > limit:
            break
        if start is not None and end is not None and sentence.end - start > size:
            yield Span(start, end)
            start = None
        if start is None:
            start = sentence.start
        end = sentence.end
    if start is not None and end is not None:
        yield Span(start, end)


def reached(doc: Document, spans: Sequence[Span], *, parsed: int, end: int) -> int:
    """How far a parse of ``spans`` (its windows) read when it stopped after ``parsed`` of them
    at ``end``: the whole text once every window was read and they reach the last sentence."""
    if parsed == len(spans) and (not doc.sentences or end >= doc.sentences[-1].end):
        return len(doc.text)
    return end


class SpacyParser:
    """A spaCy pipeline, loaded once; ``languages`` are those its package says it reads, and
    ``parts`` what it finds there (noun chunks and speech cues are English rules)."""

    def __init__(self, nlp: Any, *, recogniser: str = "head", parts: Set[str] = PARTS) -> None:
        self.nlp = nlp
        self.parts = frozenset(parts)
        meta = nlp.meta
        self.model = f"spacy/{meta.get('lang', '')}_{meta.get('name', '')}-{meta.get('version')}"
        self.languages: tuple[str, ...] = (meta.get("lang") or "en",)
        self.head = NerHead.load(nlp) if recogniser == "head" else None
        if self.head is not None:  # entities from the shared vectors: spaCy's recogniser rests
            self.model += f"+{HEAD_FILE.stem}"
            self.only_entities = [name for name in nlp.pipe_names if name != "tok2vec"]
        else:
            self.only_entities = _not_for_entities(nlp)
        self.pos_rules, self.replaced = _faster_pos(nlp)
        self.chunker = TagChunker()
        self.cue_forms = np.array(sorted(nlp.vocab.strings[form] for form in CUE_FORMS))

    def parse(self, doc: Document, budget: Budget, *, parts: Set[str] = PARTS) -> Parse:
        """Parse ``doc``'s sentences window by window within ``budget``; keep ``parts``."""
        parts = self.parts & parts
        began = time.perf_counter()
        spans = list(windows(doc.sentences, size=budget.window_chars, limit=budget.max_chars))
        starts = [s.start for s in doc.sentences]
        mentions: list[Mention] = []
        chunks: list[Chunk] = []
        cues: list[Cue] = []
        end, parsed = 0, 0
        texts = (doc.text[w.start : w.end] for w in spans)
        parsed_docs = self.nlp.pipe(texts, batch_size=4, disable=self._not_for(parts))
        for window, parsed_doc in zip(spans, parsed_docs, strict=False):
            base = window.start
            if self.head is not None and "entities" in parts:
                self.head.apply(parsed_doc)
            for ent in parsed_doc.ents if "entities" in parts else ():
                start = base + ent.start_char
                mentions.append(
                    Mention(start, base + ent.end_char, ent.label_, _index(starts, start))
                )
            for first, last in self.chunker.chunks(parsed_doc) if "chunks" in parts else ():
                start, stop = parsed_doc[first].idx, parsed_doc[last - 1]
                chunks.append(
                    Chunk(base + start, base + stop.idx + len(stop), _index(starts, base + start))
                )
            for offset, sentence in self._cue_sentences(parsed_doc, doc, window, parts):
                for cue in _cues(sentence, base + offset):
                    cues.append(Cue(*cue, _index(starts, cue[0])))
            end, parsed = window.end, parsed + 1
            if time.perf_counter() - began > budget.seconds:
                break
        end = reached(doc, spans, parsed=parsed, end=end)
        ms = round((time.perf_counter() - began) * 1000, 1)
        return Parse(self.model, end, tuple(mentions), tuple(chunks), tuple(cues), parsed, ms)

    def _not_for(self, parts: Set[str]) -> list[str]:
        """The pipes a window need not run for ``parts``: entities alone need the
        recogniser alone; noun chunks come from tags, and the dependency parser runs on the
        sentences with a speech verb only (``_cue_sentences``)."""
        if parts <= {"entities"}:
            return self.only_entities
        skip = [*self.replaced, "parser"] if "parser" in self.nlp.pipe_names else []
        return skip if "entities" in parts and self.head is None else [*skip, "ner"]

    def _cue_sentences(
        self, parsed: Any, doc: Document, window: Span, parts: Set[str]
    ) -> Iterator[tuple[int, Any]]:
        """Parse the window's sentences that hold a speech verb (``CUE_FORMS``), each alone,
        and yield each with its offset in the window.

        Speech cues are all that reads the dependency parse, and fewer than half of a news
        story's sentences hold one: parsing those alone, on the window's token vectors, took
        a quarter of the parser's time on 40 stories (6 ms of 23) and finds the same cues
        (tests/unit/test_parse_cues.py).
        """
        if "cues" not in parts or "parser" not in self.nlp.pipe_names:
            return
        at = np.flatnonzero(np.isin(parsed.to_array("LOWER"), self.cue_forms))
        if not len(at):
            return
        sentences = [s for s in doc.sentences if window.start <= s.start < window.end]
        begins = [s.start - window.start for s in sentences]
        chosen = sorted({max(bisect.bisect_right(begins, parsed[int(i)].idx) - 1, 0) for i in at})
        # as_doc would turn the whole window into an array of every attribute for each
        # sentence: the tags (for the parts of speech) are all the parse needs besides the
        # token vectors, which it copies anyway, so they are read once per window
        from spacy.attrs import TAG

        tags = parsed.to_array([TAG])
        offsets, docs = [], []
        for index in chosen:
            sentence = sentences[index]
            span = parsed.char_span(
                sentence.start - window.start, sentence.end - window.start, alignment_mode="expand"
            )
            if span is not None and len(span):
                offsets.append(span.start_char)
                docs.append(span.as_doc(array_head=[TAG], array=tags))  # with its token vectors
        ruler = self.pos_rules is None and "attribute_ruler" in self.nlp.pipe_names
        for name in ["parser", *(["attribute_ruler"] if ruler else [])]:
            docs = list(self.nlp.get_pipe(name).pipe(docs))
        for offset, sentence_doc in zip(offsets, docs, strict=True):
            if self.pos_rules is not None:
                self.pos_rules.apply(sentence_doc)  # what the attribute ruler would have set
            yield offset, sentence_doc


def _cues(parsed: Any, base: int) -> Iterator[tuple[int, int, int, int, int, int]]:
    """Each speech verb with its subject's and its reported clause's spans (-1: none)."""
    for token in parsed:
        if token.lower_ not in CUE_FORMS or token.pos_ != "VERB":
            continue
        subject = content = None
        if token.lower_ == "according":  # "according to X": X is the source
            to = next((c for c in token.children if c.lower_ == "to"), None)
            subject = next((c for c in to.children if c.dep_ == "pobj"), None) if to else None
        else:
            subject = next((c for c in token.children if c.dep_ in ("nsubj", "nsubjpass")), None)
            content = next((c for c in token.children if c.dep_ == "ccomp"), None)
        start, end = token.idx, token.idx + len(token)
        who = _extent(subject, limit=MAX_SUBJECT_TOKENS) if subject is not None else (-1, -1)
        what = _extent(content) if content is not None else (-1, -1)
        yield (
            base + start,
            base + end,
            *(base + offset if offset >= 0 else -1 for offset in (*who, *what)),
        )


def _extent(token: Any, *, limit: int | None = None) -> tuple[int, int]:
    """The characters of ``token``'s subtree; past ``limit`` tokens, of its head noun and
    what precedes it ("the former minister", not the relative clause after it)."""
    left, right = token.left_edge, token.right_edge
    if limit is not None and right.i - left.i + 1 > limit:
        right = token
    return left.idx, right.idx + len(right)


def _not_for_entities(nlp: Any) -> list[str]:
    """The pipes entities alone do not need: all but the recogniser, when it has its own
    token vectors (en_core_web_sm's does), which halves the parse (52 ms instead of 103 on
    the seed article, the same entities)."""
    if "ner" not in nlp.pipe_names:
        return []
    tok2vec = nlp.get_pipe_config("ner").get("model", {}).get("tok2vec", {})
    if "Listener" in str(tok2vec.get("@architectures", "")):
        return []  # it reads the shared tok2vec: keep it running
    return [name for name in nlp.pipe_names if name != "ner"]


def _faster_pos(nlp: Any) -> tuple[Any, list[str]]:
    """The attribute ruler's POS rules as ``PosRules`` and the pipe they replace, or
    (None, []) when the pipeline has no ruler or one ``PosRules`` cannot read."""
    if "attribute_ruler" not in nlp.pipe_names:
        return None, []
    rules = PosRules.from_ruler(nlp.get_pipe("attribute_ruler").patterns)
    if rules is None:
        return None, []
    rules.compile(nlp.vocab.strings)  # with the model's load, not on the first article
    return rules, ["attribute_ruler"]


def _index(starts: list[int], offset: int) -> int:
    """The index of the sentence that holds ``offset``."""
    return max(bisect.bisect_right(starts, offset) - 1, 0)


_PARSERS: dict[tuple[str, str], SpacyParser] = {}
_BUILT_IN: dict[str, Parser] = {}
BUILT_IN: Final = ("fr", "ru")
"""Languages with a parser of their own whatever COPYDESK_PARSER_MODEL names (entities)."""


def parser_for(language: str | None, *, model: str, recogniser: str = "head") -> Parser:
    """Return this process's parser for an article in ``language`` (undetected: the
    configured one), loading it on the first such article; raises UnsupportedLanguage for a
    language no parser reads."""
    code = (language or "").split("-")[0].lower()
    if code not in BUILT_IN:
        parser = get_parser(model, recogniser=recogniser)
        if code:
            check_language(code, (*parser.languages, *BUILT_IN))
        return parser
    with MODEL_LOAD_LOCK:
        if code not in _BUILT_IN:
            _BUILT_IN[code] = _load_built_in(code)
        return _BUILT_IN[code]


def _load_built_in(code: str) -> Parser:
    try:
        if code == "ru":
            from copydesk.prepare.parse_ru import NatashaParser

            return NatashaParser()
        from copydesk.prepare import parse_fr

        nlp = parse_fr.load(_spacy())
    except (ImportError, OSError) as exc:
        raise AnalysisUnavailable(f"the {code!r} parser cannot be loaded: {exc}") from exc
    return SpacyParser(nlp, recogniser="spacy", parts={"entities"})


def get_parser(model: str, *, recogniser: str = "head") -> SpacyParser:
    """Return this process's parser for ``model`` (a package name or a folder), loading it once;
    ``recogniser`` says what finds entities (``Settings.parser_recogniser``).

    Weights come from the installed package: nothing is downloaded.
    """
    with MODEL_LOAD_LOCK:
        if (model, recogniser) not in _PARSERS:
            try:
                nlp = _spacy().load(model, exclude=list(PIPES_NOT_NEEDED))
            except (ImportError, OSError) as exc:
                raise AnalysisUnavailable(
                    f"the parser {model!r} cannot be loaded (COPYDESK_PARSER_MODEL): {exc}"
                ) from exc
            _PARSERS[model, recogniser] = SpacyParser(nlp, recogniser=recogniser)
        return _PARSERS[model, recogniser]


def _spacy() -> Any:
    """Import spaCy, without torch unless this process runs torch already.

    thinc, spaCy's machine-learning library, imports torch whenever it is installed, only to
    offer torch layers that the small English pipeline never uses. The prepare worker runs
    the ONNX encoder without torch, and that import alone would add about 260 MB to its RSS
    (measured: 263 MB for ``import spacy``, 50 MB for the model). Hiding torch while thinc is
    imported leaves it its numpy ops; a later ``import torch`` works as usual.
    """
    if "torch" in sys.modules or "thinc" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # import torch: ImportError
    try:
        import spacy
    finally:
        del sys.modules["torch"]
    return spacy
