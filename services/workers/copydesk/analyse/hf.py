"""Build the analyser for an analysis from any Hugging Face model id or local path.

A deployment with a model hub (or a directory of checkpoints) swaps in larger models by
configuration alone; which class serves an analysis is its declaration's ``hf``
(:mod:`copydesk.core.analyses`). The built-in classes are re-exported for direct use.
"""

from __future__ import annotations

from copydesk.analyse.base import Analyser
from copydesk.analyse.hf_entities import HFEntityRecogniser
from copydesk.analyse.hf_sentiment import HFSentimentClassifier
from copydesk.analyse.hf_summary import HFSummariser
from copydesk.analyse.hf_topics import HFZeroShotClassifier
from copydesk.core.analyses import REGISTRY, resolve
from copydesk.core.errors import AnalysisUnavailable

__all__ = [
    "HFEntityRecogniser",
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
    declared = REGISTRY.get(name)
    if declared is None or declared.hf is None:
        raise AnalysisUnavailable(f"no Hugging Face analyser for {name!r}")
    cls = resolve(declared.hf)
    return cls(model=model, device=device, languages=languages)  # type: ignore[no-any-return]
