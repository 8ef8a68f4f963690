"""Declare each analysis once: its name, options model, analysers and the setting naming its model.

The table is plain data, like packaging entry points: classes are named by ``"module:Class"``
strings and imported where they are used, so the intake reads an analysis's options model
without importing the workers' analysers (and torch), and ``copydesk.core.names`` (which the
stdlib-only client imports) can derive the queue and task names from it. Adding an analysis
is one entry here plus its analyser module (docs/analyses.md).

``BUILTIN`` is fixed: the request schema's ``Options`` and the OpenAPI document list exactly
these. ``register`` adds an analysis at run time (a deployment's own, or a test's); every
process that must know it (intake, workers, sweeper) registers it before it starts. Its
options are validated by its own model, though the OpenAPI document does not list them.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Final

NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # it names a queue and a Celery task too
RESERVED: Final = frozenset({"prepare"})  # the stage queue every job passes first


@dataclass(frozen=True, slots=True)
class Analysis:
    """One analysis, as every part of copydesk sees it.

    - ``options``: its pydantic options model, the one home of their defaults and bounds;
    - ``embedded``: the analyser that runs when no model is configured (the default), built
      with the package's own encoder, or with nothing at all;
    - ``hf``: the analyser built from a Hugging Face model id or path, if there is one;
    - ``setting``: the settings field naming that model (``"embedded"`` picks ``embedded``);
    - ``encoder``: its embedded analyser reads the sentence vectors the prepare stage makes,
      so that stage loads the encoder for it;
    - ``parse``: what it reads of the linguistic parse (``"entities"``, ``"chunks"``): the
      prepare stage parses only for jobs that ask for such an analysis, and stores only that;
    - ``default``: it runs when a request leaves ``analyses`` out (the first three do);
    - ``job``: its analyser reads the job itself (tenant, id, creation time, results so far),
      as ``stories`` does to compare the article with the tenant's others.
    """

    name: str
    options: str
    embedded: str
    hf: str | None = None
    setting: str | None = None
    encoder: bool = True
    parse: tuple[str, ...] = ()
    default: bool = True
    job: bool = False

    def configured(self, settings: object) -> str | None:
        """The model this deployment names for it, or None when it has no setting."""
        return getattr(settings, self.setting) if self.setting else None


BUILTIN: Final[tuple[Analysis, ...]] = (
    Analysis(
        name="summary",
        options="copydesk.core.options:SummaryOptions",
        embedded="copydesk.analyse.summary:ExtractiveSummariser",
        hf="copydesk.analyse.hf_summary:HFSummariser",
        setting="summary_model",
    ),
    Analysis(
        name="sentiment",
        options="copydesk.core.options:SentimentOptions",
        embedded="copydesk.analyse.sentiment:EmbeddingSentimentAnalyser",
        hf="copydesk.analyse.hf_sentiment:HFSentimentClassifier",
        setting="sentiment_model",
    ),
    Analysis(
        name="topics",
        options="copydesk.core.options:TopicsOptions",
        embedded="copydesk.analyse.topics:EmbeddingTopicClassifier",
        hf="copydesk.analyse.hf_topics:HFZeroShotClassifier",
        setting="topics_model",
    ),
    Analysis(
        name="entities",
        options="copydesk.core.options:EntitiesOptions",
        embedded="copydesk.analyse.entities:EntityAnalyser",
        hf="copydesk.analyse.hf_entities:HFEntityRecogniser",
        setting="entities_model",
        parse=("entities",),  # mentions from the prepare stage's parse; vectors: sentiment
        default=False,
    ),
    Analysis(
        name="keyphrases",
        options="copydesk.core.options:KeyphrasesOptions",
        embedded="copydesk.analyse.keyphrases:KeyphraseExtractor",
        encoder=False,  # scored by frequency and shared words over the parse: no vectors
        parse=("entities", "chunks"),  # candidates: noun chunks and entity mentions
        default=False,
    ),
    Analysis(
        name="quotes",
        options="copydesk.core.options:QuotesOptions",
        embedded="copydesk.analyse.quotes:QuoteFinder",
        encoder=False,  # the text and the parse: speech cues, and entities for the speakers
        parse=("entities", "cues"),
        default=False,
    ),
    Analysis(
        name="stories",
        options="copydesk.core.options:StoriesOptions",
        embedded="copydesk.analyse.stories:StoryAnalyser",
        default=False,  # the document vector from the sentence vectors; the rest in PostgreSQL
        job=True,
    ),
)

REGISTRY: Final[dict[str, Analysis]] = {analysis.name: analysis for analysis in BUILTIN}


def register(analysis: Analysis) -> Analysis:
    """Add ``analysis`` to the table of this process; its name must be new."""
    if not NAME.match(analysis.name) or analysis.name in RESERVED:
        raise ValueError(f"{analysis.name!r} cannot name an analysis: use [a-z][a-z0-9_]{{0,31}}")
    if analysis.name in REGISTRY:
        raise ValueError(f"an analysis named {analysis.name!r} is already registered")
    REGISTRY[analysis.name] = analysis
    return analysis


def unregister(name: str) -> None:
    """Remove an analysis ``register`` added (a test's, when it ends)."""
    if any(analysis.name == name for analysis in BUILTIN):
        raise ValueError(f"{name!r} is built in and cannot be unregistered")
    del REGISTRY[name]


def resolve(reference: str) -> Any:
    """Import what a ``"module:attribute"`` reference names."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)
