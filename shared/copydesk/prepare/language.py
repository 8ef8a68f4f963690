"""Tell which language an article is in, once per article, from its opening.

The analyses refuse text their models were not trained on, so a wrong guess costs a client
its results: short texts need near certainty, English typed without capitals is recognised
by its function words, and a client's hint wins whenever detection is unsure.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lingua import LanguageDetector

LANGUAGE_SAMPLE = 2000
"""Characters from the start of the text that language detection looks at."""

LANGUAGE_MIN_LETTERS = 10
LANGUAGE_MIN_CONFIDENCE = 0.5
LANGUAGE_RELIABLE_LETTERS = 200
"""Below this many letters lingua's fast mode often calls plain English Danish or Dutch."""
LANGUAGE_SHORT_CONFIDENCE = 0.99
"""So a short text is given a language only when the detector is nearly certain."""

LANGUAGE_SURE_CONFIDENCE = 0.9
"""Below this, or on a short text, detection is unsure and a client's language hint wins."""

ENGLISH_FUNCTION_SHARE = 0.3
ENGLISH_MIN_WORDS = 6
_ENGLISH_FUNCTION_WORDS = frozenset(
    "the of and to in is that for it on was with as at by be this are from have has had not "
    "but an they he she his her we you will would said were been or which their its who what "
    "after about than there when more into our also can could should".split()
)

DETECTED_LANGUAGES = (
    "ENGLISH GERMAN FRENCH SPANISH ITALIAN PORTUGUESE DUTCH RUSSIAN UKRAINIAN POLISH CZECH "
    "SWEDISH DANISH BOKMAL FINNISH GREEK TURKISH ARABIC PERSIAN HEBREW HINDI CHINESE JAPANESE "
    "KOREAN INDONESIAN ARMENIAN GEORGIAN ROMANIAN HUNGARIAN THAI"
).split()


def detect_language(text: str) -> str | None:
    """Name the language of the text's opening (ISO 639-1), or None when unsure.

    Short texts need near certainty: a wrong guess refuses an English snippet outright.
    """
    return detect(text)[0]


def detect(text: str) -> tuple[str | None, bool]:
    """Detect the opening's language; also tell whether the detection is sure.

    English written without capitals or punctuation (chat, transcripts, headlines typed
    fast) fools the n-gram detector into Danish or French; its function words do not lie,
    so a sample that is mostly made of them is English whatever the n-grams say.
    """
    sample = text[:LANGUAGE_SAMPLE]
    if _letters(sample) < LANGUAGE_MIN_LETTERS:
        return None, False
    if _english_function_share(sample) >= ENGLISH_FUNCTION_SHARE:
        return "en", True
    values = _language_detector().compute_language_confidence_values(sample)
    needed = LANGUAGE_SHORT_CONFIDENCE if _is_short(sample) else LANGUAGE_MIN_CONFIDENCE
    if not values or values[0].value < needed:
        return None, False
    code = values[0].language.iso_code_639_1.name.lower()
    return code, values[0].value >= LANGUAGE_SURE_CONFIDENCE and not _is_short(sample)


def _english_function_share(sample: str) -> float:
    """Share of the sample's words that are English function words (about 0.4 in English)."""
    words = re.findall(r"[^\W\d_]+", sample.casefold())
    if len(words) < ENGLISH_MIN_WORDS:
        return 0.0
    return sum(w in _ENGLISH_FUNCTION_WORDS for w in words) / len(words)


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def _is_short(text: str) -> bool:
    """Tell whether detection on this text is too weak to override a client's hint."""
    return _letters(text[:LANGUAGE_SAMPLE]) < LANGUAGE_RELIABLE_LETTERS


def warm_up() -> None:
    """Build the detector and load its language models now (lingua loads them on first
    use), so workers hold them from the start and the first article is not slower."""
    _language_detector().compute_language_confidence_values("Le conseil a voté le budget.")


@functools.lru_cache(maxsize=1)
def _language_detector() -> LanguageDetector:
    """Build the lingua detector once per process.

    Low-accuracy mode: ~17 MB and ~0.15 s to first answer instead of ~280 MB and ~2 s; it is
    only weaker on very short texts, and articles are long.
    """
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in DETECTED_LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def language_code(hint: str | None) -> str | None:
    """Reduce a client's language hint ("en-US", "EN") to an ISO 639-1 code, if it is one."""
    code = re.split(r"[-_]", hint.strip().lower())[0] if hint else ""
    return code if len(code) == 2 and code.isalpha() else None
