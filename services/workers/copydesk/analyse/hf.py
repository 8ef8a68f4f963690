"""Build the analyser for an analysis from any Hugging Face model id or local path.

A deployment with a model hub (or a directory of checkpoints) swaps in larger models by
configuration alone; the classes live in ``hf_summary``, ``hf_sentiment`` and ``hf_topics``.
"""

from __future__ import annotations

from copydesk.analyse.base import Analyser
from copydesk.analyse.hf_sentiment import HFSentimentClassifier
from copydesk.analyse.hf_summary import HFSummariser
from copydesk.analyse.hf_topics import HFZeroShotClassifier
from copydesk.core.errors import AnalysisUnavailable

ANALYSERS: dict[str, type[Analyser]] = {
    HFSummariser.name: HFSummariser,
    HFSentimentClassifier.name: HFSentimentClassifier,
    HFZeroShotClassifier.name: HFZeroShotClassifier,
}

__all__ = [
    "ANALYSERS",
    "HFSentimentClassifier",
    "HFSummariser",
    "HFZeroShotClassifier",
    "build_analyser",
]


def build_analyser(
    name: str,
    *,
    model: str,
    device: str = "cpu",
    languages: frozenset[str] | None = None,
) -> Analyser:
    """Return an unloaded analyser for ``name`` backed by ``model``; it loads on first use."""
    try:
        cls = ANALYSERS[name]
    except KeyError:
        raise AnalysisUnavailable(f"no Hugging Face analyser for {name!r}") from None
    return cls(model=model, device=device, languages=languages)  # type: ignore[call-arg]
