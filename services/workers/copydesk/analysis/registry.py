"""Choose and keep the analyser for each analysis, once per worker process.

The embedded MiniLM analysers are the default; a Hugging Face model id or path in the
settings swaps one in without code changes. Instances are cached so a model loads once per
process, never per task.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from copydesk.analysis.base import Analyser
from copydesk.core.errors import AnalysisUnavailable
from copydesk.core.settings import EMBEDDED, Settings


class AnalyserRegistry:
    """Build analysers from settings on first use and reuse them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cache: dict[tuple[str, str], Analyser] = {}
        self._lock = threading.Lock()

    def for_request(self, analysis: str, options: Mapping[str, Any]) -> Analyser:
        """Return the analyser that serves ``analysis`` with these request options."""
        return self.get(analysis, self.model_for(analysis, options))

    def model_for(self, analysis: str, options: Mapping[str, Any]) -> str:
        configured: str = getattr(self.settings, f"{analysis}_model")
        if analysis != "summary":
            return configured
        mode = options.get("mode") or ("extractive" if configured == EMBEDDED else "abstractive")
        if mode == "extractive":
            return EMBEDDED
        if configured == EMBEDDED:
            raise AnalysisUnavailable(
                "abstractive summaries need a seq2seq model: set COPYDESK_SUMMARY_MODEL"
            )
        return configured

    def get(self, analysis: str, model: str) -> Analyser:
        key = (analysis, model)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._build(analysis, model)
            return self._cache[key]

    def _build(self, analysis: str, model: str) -> Analyser:
        if model != EMBEDDED:
            from copydesk.analysis.hf import build_analyser

            return build_analyser(analysis, model=model)
        from copydesk.analysis.embedder import get_embedder

        embedder = get_embedder(self.settings.embedding_model)
        if analysis == "summary":
            from copydesk.analysis.summary import ExtractiveSummariser

            return ExtractiveSummariser(embedder=embedder)
        if analysis == "sentiment":
            from copydesk.analysis.sentiment import EmbeddingSentimentAnalyser

            return EmbeddingSentimentAnalyser(embedder=embedder)
        if analysis == "topics":
            from copydesk.analysis.topics import EmbeddingTopicClassifier

            return EmbeddingTopicClassifier(embedder=embedder)
        raise AnalysisUnavailable(f"unknown analysis {analysis!r}")
