"""Prepare an article once for every analysis: text, sentences, language, limits, parse, vectors.

The stage between accepting and analysing. It turns what the client sent into the shared
Document (HTML extraction, cleaning, sentence spans, language), enforces the per-article
limits, parses it once when a requested analysis reads a parse (entities), checks each
embedded analysis can run on the result, and embeds every sentence ONCE for all of them,
instead of once per analysis. Analyses configured with a Hugging Face model
are left to their own workers and never wait for the vectors. No Celery or Redis in here:
the worker task, the ``copydesk analyze --local`` CLI and the benchmarks all call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from copydesk.analyse.embedded import EmbeddingAnalyser
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.prepare.parser import Budget, Parser, parser_for, refusal
from copydesk.prepare.vectors import DocVectors, embedded_texts
from copydesk.core.analyses import REGISTRY
from copydesk.core.document import Document
from copydesk.core.errors import AnalysisError, TooManyTokens
from copydesk.core.render import article_view
from copydesk.core.settings import EMBEDDED
from copydesk.prepare.text import Limits, prepare


@dataclass
class Prepared:
    """One article, ready for its analyses; ``failures`` name those that cannot run on it.

    ``embedded`` maps each embedded analysis that accepted the document to its analyser and
    inputs: they need ``vectors``, which the ``embed`` step fills in. The other analyses
    (Hugging Face models) can start as soon as the text is ready.
    """

    doc: Document
    article: dict[str, Any]
    embedded: dict[str, tuple[EmbeddingAnalyser, Any]] = field(default_factory=dict)
    failures: dict[str, AnalysisError] = field(default_factory=dict)
    vectors: DocVectors | None = None


class PrepareStage:
    """Build Prepared articles with the analysers a registry serves: text, then vectors."""

    def __init__(self, registry: AnalyserRegistry, *, limits: Limits | None = None) -> None:
        self.registry = registry
        self.limits = limits or Limits.from_settings(registry.settings)
        self.max_tokens = registry.settings.max_tokens
        self.budget = Budget.from_settings(registry.settings)

    def parser(self, language: str | None = None) -> Parser:
        """This process's parser for ``language``, loaded on the first article that needs it."""
        settings = self.registry.settings
        return parser_for(
            language, model=settings.parser_model, recogniser=settings.parser_recogniser
        )

    def __call__(
        self,
        article: Mapping[str, Any],
        *,
        analyses: Sequence[str],
        options: Mapping[str, Mapping[str, Any]],
    ) -> Prepared:
        """Prepare one article; raises AnalysisError when no analysis can use it."""
        return self.embed([self.text(article, analyses=analyses, options=options)])[0]

    def text(
        self,
        article: Mapping[str, Any],
        *,
        analyses: Sequence[str],
        options: Mapping[str, Mapping[str, Any]],
    ) -> Prepared:
        """Extract, clean, split and check the article; which analyses can run on it."""
        doc = prepare(
            text=article.get("text"),
            html=article.get("html"),
            title=article.get("title"),
            language=article.get("language"),
            limits=self.limits,
            clean=article.get("clean", True),
        )
        doc, failures = self._parse(doc, analyses)
        ready = [name for name in analyses if name not in failures]
        embedded, refused = self._embedded(doc, ready, options)
        return Prepared(doc, article_view(article, doc), embedded, {**failures, **refused})

    def _parse(
        self, doc: Document, analyses: Sequence[str]
    ) -> tuple[Document, dict[str, AnalysisError]]:
        """Parse ``doc`` once when a requested analysis reads a parse; else leave it be.

        A language no parser reads, or a parser that cannot load, fails those analyses alone;
        so does a part its language's parser does not find (noun chunks and speech cues are
        English: in French and Russian only entities run).
        """
        needing = [
            name
            for name in analyses
            if name in REGISTRY
            and REGISTRY[name].parse
            and self.registry.model_for(name, {}) == EMBEDDED  # a hub model reads the text
        ]
        if not needing:
            return doc, {}
        try:
            parser = self.parser(doc.language)
        except AnalysisError as exc:
            return doc, dict.fromkeys(needing, exc)
        refused = {name: refusal(name, REGISTRY[name].parse, parser, doc) for name in needing}
        failures: dict[str, AnalysisError] = {k: v for k, v in refused.items() if v is not None}
        needing = [name for name in needing if name not in failures]
        if not needing:
            return doc, failures
        parts = frozenset(part for name in needing for part in REGISTRY[name].parse)
        try:
            parse = parser.parse(doc, self.budget, parts=parts)
        except AnalysisError as exc:
            return doc, {**failures, **dict.fromkeys(needing, exc)}
        return replace(doc, parse=parse), failures

    def embed(self, prepared: Sequence[Prepared]) -> list[Prepared]:
        """Fill in the vectors of every article that needs them, in one call per encoder
        (with a mix of encoders, each article's language chose its analysers' encoder).

        Raises TooManyTokens for the first article over the limit; a caller that needs the
        others isolates it by embedding it alone.
        """
        groups: dict[str, list[Prepared]] = {}
        for item in prepared:
            if item.embedded:
                family = next(iter(item.embedded.values()))[0].embedder.family
                groups.setdefault(family, []).append(item)
        for needing in groups.values():
            self._embed_with_one_encoder(needing)
        return list(prepared)

    def _embed_with_one_encoder(self, needing: Sequence[Prepared]) -> None:
        embedder = next(iter(needing[0].embedded.values()))[0].embedder
        texts = [embedded_texts(item.doc) for item in needing]
        for group in texts:
            tokens = embedder.total_tokens(group)
            if tokens > self.max_tokens:
                raise TooManyTokens(
                    f"the article has {tokens} tokens for the sentence encoder; this deployment "
                    f"embeds at most {self.max_tokens} (COPYDESK_MAX_TOKENS)",
                    tokens=tokens,
                    limit=self.max_tokens,
                )
        matrix = embedder.encode([t for group in texts for t in group])
        offset = 0
        for item, group in zip(needing, texts, strict=True):
            rows = matrix[offset : offset + len(group)]
            offset += len(group)
            labels, label_matrix, key, headline = (), None, "", None
            if "topics" in item.embedded:
                topics, inputs = item.embedded["topics"]
                labels, key = inputs.labels, inputs.key
                label_matrix = topics.label_matrix(inputs.specs, key=key)  # type: ignore[attr-defined]
                headline = topics.headline(inputs)  # type: ignore[attr-defined]
            item.vectors = DocVectors(
                embedder.name, group, rows, labels, label_matrix, key, headline
            )

    def _embedded(
        self, doc: Document, names: Sequence[str], options: Mapping[str, Mapping[str, Any]]
    ) -> tuple[dict[str, tuple[EmbeddingAnalyser, Any]], dict[str, AnalysisError]]:
        """Split the requested analyses: embedded ones that accept ``doc``, and failures."""
        embedded: dict[str, tuple[EmbeddingAnalyser, Any]] = {}
        failures: dict[str, AnalysisError] = {}
        for name in names:
            opts = options.get(name) or {}
            try:
                if self.registry.model_for(name, opts) != EMBEDDED:
                    continue  # a Hugging Face model: its own worker reads the text
                analyser = self.registry.get(name, EMBEDDED, language=doc.language)
                if isinstance(analyser, EmbeddingAnalyser):
                    inputs = analyser.preprocess(doc, opts)
                    analyser.ready(inputs)
                    embedded[name] = (analyser, inputs)
            except AnalysisError as exc:
                failures[name] = exc
        return embedded, failures
