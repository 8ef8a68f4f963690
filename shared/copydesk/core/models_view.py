"""What /v1/models says about each analysis, from the settings and the live workers.

The live workers (:mod:`copydesk.store.presence`) report what they loaded: the encoder the
prepare stage runs for the embedded analysers, and any Hugging Face model. Without a live
worker, the settings still name the model, with ``loaded: false``. Which analyses there are,
and which setting names each one's model, the analysis table says. Which languages each
analysis reads is said here too, so the intake refuses a language hint no requested analysis
can read (``check_language``) with the same answer /v1/models gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from copydesk.core.analyses import REGISTRY, Analysis
from copydesk.core.errors import UnsupportedLanguage
from copydesk.core.names import PREPARE_QUEUE
from copydesk.core.settings import EMBEDDED, Settings

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
USE_M3_MODEL = "universal-sentence-encoder-multilingual-3"
MPNET_MODEL = "all-mpnet-base-v2"

ENCODER_LANGUAGES: Final = {
    "minilm": ("en",),
    "mpnet": ("en",),  # all-mpnet-base-v2, English as MiniLM
    "use-m3": tuple("ar de en es fr it ja ko nl pl pt ru th tr zh".split()),
}
"""What the embedded analysers that read the encoder's vectors accept, per encoder
(COPYDESK_SENTENCE_ENCODER): MiniLM is English; USE-m3 was trained on these 16 languages (zh
is both zh-CN and zh-TW). The analysers refuse other text
(``copydesk.analyse.embedded.require_language``)."""

PARSER_LANGUAGES: Final = {"entities": ("en", "fr", "ru"), "chunks": ("en",), "cues": ("en",)}
"""What the embedded analyses that read the prepare stage's parse accept, per part of the
parse, whatever the encoder: English pipeline finds all three; fr_core_news_md (French) and
natasha (Russian) find entities alone, so keyphrases (chunks) and quotes (cues) read English."""


def languages(declared: Analysis, settings: Settings) -> tuple[str, ...] | None:
    """The ISO 639-1 codes an analysis reads in this deployment; None when any language goes.

    None for a Hugging Face model, whose languages the deployment does not declare (its
    analyser takes every language and the model answers), and for an embedded analysis that
    reads no encoder vectors (code alone, such as a word count).
    """
    configured = declared.configured(settings) or EMBEDDED
    if configured == EMBEDDED and declared.parse:
        return tuple(
            code
            for code in PARSER_LANGUAGES["entities"]
            if all(code in PARSER_LANGUAGES[part] for part in declared.parse)
        )
    if configured == EMBEDDED and declared.encoder:
        return encoder_languages(settings)
    return None


def encoder_languages(settings: Settings) -> tuple[str, ...]:
    """Every language some configured sentence encoder reads (a mix reads each one's)."""
    codes = {code for family in settings.encoder_families for code in ENCODER_LANGUAGES[family]}
    return tuple(sorted(codes))


def encoder_family(language: str | None, settings: Settings) -> str:
    """The configured encoder that embeds an article in ``language``: the first (in the
    order COPYDESK_SENTENCE_ENCODER names them) that reads it. Undetected text goes to the
    first; a language none reads, to the one that reads most, whose analysers refuse it
    naming those languages."""
    families = settings.encoder_families
    code = (language or "").split("-")[0].lower()
    for family in families:
        if code in ENCODER_LANGUAGES[family]:
            return family
    if not code:
        return families[0]
    return max(families, key=lambda family: len(ENCODER_LANGUAGES[family]))


def encoder_model(settings: Settings, family: str | None = None) -> str:
    """An encoder's model (the first configured by default), as /v1/models names it before
    a worker reports."""
    family = family or settings.encoder_families[0]
    if family == "use-m3":
        return USE_M3_MODEL
    if family == "mpnet":
        return MPNET_MODEL
    return settings.embedding_model or DEFAULT_ENCODER


def offers_abstractive(settings: Settings) -> bool:
    """Whether summaries may be abstractive here: only a seq2seq model (not embedded) writes."""
    return settings.summary_model != EMBEDDED


def reads_label_examples(settings: Settings) -> bool:
    """Whether topic labels may bring examples: the embedded classifier reads them; an NLI
    model reads only label names and descriptions."""
    return settings.topics_model == EMBEDDED


def check_language(hint: str | None, analyses: Iterable[str], settings: Settings) -> None:
    """Refuse a language hint that none of the requested analyses reads (422
    ``unsupported_language``, naming what they read), as each would fail on it later.

    One analysis that reads it is enough: the others then fail alone, in the job's results.
    """
    if not hint:
        return
    code = hint.split("-")[0].lower()
    read = {name: languages(REGISTRY[name], settings) for name in analyses if name in REGISTRY}
    if not read or any(codes is None or code in codes for codes in read.values()):
        return
    supported = sorted({c for codes in read.values() for c in codes or ()})
    raise UnsupportedLanguage(
        f"no analysis of this job reads {code!r}: {', '.join(read)} read "
        f"{', '.join(supported)} in this deployment (GET /v1/models lists them); omit "
        "article.language to let detection decide",
        language=code,
        supported=supported,
    )


def describe(settings: Settings, workers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    encoders = [w["models"]["encoder"] for w in workers if "encoder" in w.get("models", {})]
    described = {}
    for analysis, declared in REGISTRY.items():
        serving = [w for w in workers if analysis in w["queues"]]
        configured = declared.configured(settings) or EMBEDDED
        if configured == EMBEDDED and not declared.encoder:  # code alone, no model
            info: dict[str, Any] = {"backend": "embedded", "model": declared.embedded}
            loaded = bool(serving)
            if declared.parse:
                info["parser"] = settings.parser_model
                info["stages"] = {"parser": PREPARE_QUEUE, "rules": analysis}
        elif configured == EMBEDDED:
            info = {
                "backend": "embedded",
                "model": encoder_model(settings),
                "encoder": settings.encoder,
            }
            if encoders:
                info.update(encoders[0], backend="embedded", encoder=encoders[0]["backend"])
            loaded = bool(serving) and bool(encoders)
            if len(settings.encoder_families) > 1:  # which encoder reads which language
                info["encoders"] = [
                    {
                        "model": encoder_model(settings, family),
                        "languages": [
                            code
                            for code in ENCODER_LANGUAGES[family]
                            if encoder_family(code, settings) == family
                        ],
                    }
                    for family in settings.encoder_families
                ]
            info["stages"] = {"encoder": PREPARE_QUEUE, "head": analysis}
            if declared.parse:  # the prepare stage parses for it, on its first such job
                info["parser"] = settings.parser_model
                info["stages"]["parser"] = PREPARE_QUEUE
        else:
            reported = [w["models"][analysis] for w in serving if analysis in w.get("models", {})]
            info = {"backend": "huggingface", "model": configured}
            if reported:
                info.update(reported[0])
            loaded = bool(reported)
        reads = languages(declared, settings)
        info["languages"] = list(reads) if reads is not None else None
        info["loaded"] = loaded
        info["workers"] = len(serving)
        described[analysis] = info
    return described
