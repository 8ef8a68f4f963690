"""Choose and keep the analyser for each analysis, once per worker process.

Each analysis's declaration (:mod:`copydesk.core.analyses`) names its analysers: the
embedded one is the default; a Hugging Face model id or path in its setting swaps the other
in without code changes. Instances are cached so a model loads once per process, never per
task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from copydesk.analyse.base import MODEL_LOAD_LOCK, Analyser
from copydesk.analyse.embedded import EmbeddingAnalyser
from copydesk.analyse.hf import build_analyser
from copydesk.core.analyses import REGISTRY, Analysis, resolve
from copydesk.core.errors import AnalysisUnavailable
from copydesk.core.models_view import encoder_family
from copydesk.core.settings import EMBEDDED, Settings

if TYPE_CHECKING:
    import numpy as np

    from copydesk.analyse.embedder import SentenceEncoder


class AnalyserRegistry:
    """Build analysers from settings on first use and reuse them.

    All builds in a process share one lock: transformers' lazy imports are not safe when two
    threads trigger them at once, and a model must not load twice.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cache: dict[tuple[str, str, str], Analyser] = {}

    def for_request(
        self, analysis: str, options: Mapping[str, Any], *, language: str | None = None
    ) -> Analyser:
        """Return the analyser that serves ``analysis`` with these request options, for an
        article in ``language`` (which, with a mix of encoders, picks the encoder)."""
        return self.get(analysis, self.model_for(analysis, options), language=language)

    def family_for(self, language: str | None) -> str:
        """The sentence encoder that embeds an article in ``language`` here."""
        return encoder_family(language, self.settings)

    def model_for(self, analysis: str, options: Mapping[str, Any]) -> str:
        """The model that serves ``analysis`` with these options: ``EMBEDDED`` or a model id."""
        configured = _declared(analysis).configured(self.settings) or EMBEDDED
        if analysis != "summary":  # its mode option picks between the two summarisers
            return configured
        mode = options.get("mode") or ("extractive" if configured == EMBEDDED else "abstractive")
        if mode == "extractive":
            return EMBEDDED
        if configured == EMBEDDED:
            raise AnalysisUnavailable(
                "abstractive summaries need a seq2seq model: set COPYDESK_SUMMARY_MODEL"
            )
        return configured

    def get(self, analysis: str, model: str, *, language: str | None = None) -> Analyser:
        """The analyser of ``analysis`` with ``model``; an embedded one reads the vectors of
        the encoder that embeds ``language`` (one instance per encoder, each with its heads)."""
        family = self.family_for(language) if model == EMBEDDED else ""
        key = (analysis, model, family)
        if key in self._cache:
            return self._cache[key]
        with MODEL_LOAD_LOCK:
            if key not in self._cache:
                if model != EMBEDDED:
                    import_transformers()
                self._cache[key] = self._build(analysis, model, family)
            return self._cache[key]

    def close(self) -> None:
        """Close what the analysers built so far hold open; they stay, and reopen on use."""
        with MODEL_LOAD_LOCK:
            built = list(self._cache.values())
        for analyser in built:
            analyser.close()

    def embedder(self, family: str | None = None) -> SentenceEncoder:
        """Return this process's sentence encoder ``family`` (the first configured by
        default) with the configured backend."""
        from copydesk.analyse.embedder import get_embedder

        settings = self.settings
        family = family or settings.encoder_families[0]
        with MODEL_LOAD_LOCK:
            if family in ("minilm", "mpnet") and settings.encoder.startswith("torch"):
                import_transformers()
            return get_embedder(settings.embedding_model, encoder=settings.encoder, family=family)

    def _build(self, analysis: str, model: str, family: str) -> Analyser:
        if model != EMBEDDED:
            return build_analyser(analysis, model=model)
        cls = resolve(_declared(analysis).embedded)
        if issubclass(cls, EmbeddingAnalyser):
            embedder = LazyEmbedder(self, family)
            if getattr(cls, "reads_settings", False):  # stories: the database and its bounds
                return cls(embedder=embedder, settings=self.settings)
            second = cls.second_encoder(family, self.settings.encoder_families)
            if second is not None:  # topics: a second encoder reads the headline
                return cls(embedder=embedder, second=LazyEmbedder(self, second))
            return cls(embedder=embedder)
        return cls()


def _declared(analysis: str) -> Analysis:
    try:
        return REGISTRY[analysis]
    except KeyError:
        raise AnalysisUnavailable(f"unknown analysis {analysis!r}") from None


class LazyEmbedder:
    """Stand in for the encoder and load it only when something must really be embedded.

    In the service the embedded analysers work on the prepare stage's vectors, so their
    workers never pay for the model; only a text the vectors lack (or a direct call) loads it.
    """

    def __init__(self, registry: AnalyserRegistry, family: str) -> None:
        self._registry = registry
        self.family = family

    @property
    def name(self) -> str:
        from copydesk.analyse.embedder import encoder_name

        return encoder_name(self._registry.settings, self.family)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._registry.embedder(self.family).encode(texts)

    def total_tokens(self, texts: Sequence[str]) -> int:
        return self._registry.embedder(self.family).total_tokens(texts)

    def lead(self, text: str, max_tokens: int) -> str:
        return self._registry.embedder(self.family).lead(text, max_tokens)


def import_transformers() -> None:
    """Resolve transformers' lazy attributes once, under the lock, and silence progress bars."""
    import transformers
    from transformers import AutoModel, AutoTokenizer  # noqa: F401 - forces the lazy import
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    del transformers


_REGISTRIES: dict[str, AnalyserRegistry] = {}


def registry_for(settings: Settings) -> AnalyserRegistry:
    """Return the process-wide registry for these settings (one model copy per process)."""
    key = settings.model_dump_json()
    with MODEL_LOAD_LOCK:
        return _REGISTRIES.setdefault(key, AnalyserRegistry(settings))


def close_registries() -> None:
    """Close what every registry of the process holds open, as the process's worker ends
    (the stories analyser's PostgreSQL connections)."""
    with MODEL_LOAD_LOCK:
        registries = list(_REGISTRIES.values())
    for registry in registries:
        registry.close()
