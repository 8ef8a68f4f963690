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

FUNCTION_WORDS = {
    "de": "der die das und ist nicht ein eine einen dem den des mit auf für von zu im sich auch "
    "es sie er wir hat haben wird werden sind war nach bei aus dass wie über noch nur am um",
    "nl": "de het een en van is niet op te dat die in met voor zijn er aan ook als bij door "
    "wordt worden heeft hebben naar om uit wil zegt zei maar nog al over tot",
    "fr": "le la les et est un une des du de dans pour pas que qui sur au aux avec il elle ils "
    "ont a été sont par plus ce cette ne se son sa ses mais selon",
    "es": "el la los las y es un una de del en que por con para no se su sus al lo como más "
    "pero fue ha han según este esta sobre",
    "pt": "o a os as e é um uma de do da dos das em no na nos nas que por com para não se seu "
    "sua ao à mais mas foi segundo sobre pelo pela este esta",
    "it": "il lo la i gli le e è un una di del della dei in nel nella che per con non si suo "
    "sua al alla più ma ha hanno sono stato secondo sul",
    "pl": "i w z na się nie do że to jest o od po za co jak ale przez dla już oraz a we który "
    "która które są był była będzie",
    "tr": "ve bir bu da de için ile olarak gibi daha çok en ama değil olan sonra kadar ya her "
    "şey mi ne",
}
"""The commonest words of the Latin-script languages the encoder reads (besides English).

On a sentence or two lingua's fast mode is often unsure between neighbours (Dutch and
Bokmål, Portuguese and Spanish); its first guess is taken there when the sample's words
back it: more of them are that language's function words than any other's."""
_FUNCTION_WORDS = {code: frozenset(words.split()) for code, words in FUNCTION_WORDS.items()}
FUNCTION_SHARE = 0.25
"""Least share of a short sample's words that must be the guessed language's function words."""

SCRIPTS = (
    ("ko", ((0xAC00, 0xD7AF), (0x1100, 0x11FF), (0x3130, 0x318F))),  # Hangul
    ("ja", ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))),  # kana
    ("th", ((0x0E00, 0x0E7F),)),
    ("el", ((0x0370, 0x03FF), (0x1F00, 0x1FFF))),
    ("he", ((0x0590, 0x05FF),)),
    ("hy", ((0x0530, 0x058F),)),
    ("ka", ((0x10A0, 0x10FF),)),
    ("hi", ((0x0900, 0x097F),)),  # the only language in Devanagari the detector knows
    ("zh", ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))),  # Han
)
"""Scripts that only one detected language writes, in the order they are tested: kana
beside Han is Japanese (``KANA_SHARE``), Han alone is Chinese."""
SCRIPT_SHARE = 0.5
"""Share of the sample's letters in one such script that names its language for sure."""
KANA_SHARE = 0.1
"""Japanese prose is a third kana; a kana or two among Han (a brand name) is Chinese still.
Han alone is called Chinese, so a Japanese headline all in kanji is too, unless a client's
hint says Japanese (``HAN_SURE_LETTERS``)."""
HAN_SURE_LETTERS = 40
"""Han without kana is surely Chinese from this many letters on: Japanese prose is a third
kana, but a Japanese headline can be all kanji, so below it a "ja" hint wins."""

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


def detect(text: str, *, hint: str | None = None) -> tuple[str | None, bool]:
    """Detect the opening's language; also tell whether the detection is sure.

    English written without capitals or punctuation (chat, transcripts, headlines typed
    fast) fools the n-gram detector into Danish or French; its function words do not lie,
    so a sample that is mostly made of them is English whatever the n-grams say. ``hint``
    (an ISO 639-1 code) only matters where a script is shared: a short run of Han with a
    "ja" hint is unsure, as a Japanese headline may be all kanji.
    """
    sample = text[:LANGUAGE_SAMPLE]
    script = _script_language(sample)
    if script == "zh" and hint == "ja" and _letters(sample) < HAN_SURE_LETTERS:
        return script, False
    if script is not None:
        return script, True
    if _letters(sample) < LANGUAGE_MIN_LETTERS:
        return None, False
    if _english_function_share(sample) >= ENGLISH_FUNCTION_SHARE:
        return "en", True
    values = _language_detector().compute_language_confidence_values(sample)
    if not values or values[0].value < LANGUAGE_MIN_CONFIDENCE:
        return None, False
    code = values[0].language.iso_code_639_1.name.lower()
    if _is_short(sample):
        backed = values[0].value >= LANGUAGE_SHORT_CONFIDENCE or _function_words_back(sample, code)
        return (code if backed else None), False
    return code, values[0].value >= LANGUAGE_SURE_CONFIDENCE


def _english_function_share(sample: str) -> float:
    """Share of the sample's words that are English function words (about 0.4 in English)."""
    words = re.findall(r"[^\W\d_]+", sample.casefold())
    if len(words) < ENGLISH_MIN_WORDS:
        return 0.0
    return sum(w in _ENGLISH_FUNCTION_WORDS for w in words) / len(words)


def _function_words_back(sample: str, code: str) -> bool:
    """Tell whether a short sample's words back the guess ``code`` (``FUNCTION_WORDS``)."""
    words = re.findall(r"[^\W\d_]+", sample.casefold())
    if code not in _FUNCTION_WORDS or len(words) < ENGLISH_MIN_WORDS:
        return False
    shares = {
        c: sum(w in table for w in words) / len(words) for c, table in _FUNCTION_WORDS.items()
    }
    best = max(shares.values())
    return (
        shares[code] >= FUNCTION_SHARE
        and shares[code] == best
        and (sorted(shares.values())[-2] < best)
    )


def _script_language(sample: str) -> str | None:
    """The language of a script only it writes, when most of the sample's letters are in it.

    Hangul, kana, Thai or Han say the language at a glance, even in a headline too short
    for the n-gram detector to be sure, and even when a client's hint says otherwise.
    """
    letters = _letters(sample)
    if letters < LANGUAGE_MIN_LETTERS // 2:
        return None
    counts = dict.fromkeys((code for code, _ in SCRIPTS), 0)
    for char in _IN_A_SCRIPT.findall(sample):  # Latin letters, most of most samples, skip this
        if char.isalpha():
            point = ord(char)
            for code, ranges in SCRIPTS:
                if any(low <= point <= high for low, high in ranges):
                    counts[code] += 1
                    break
    kana, han = counts["ja"], counts["zh"]
    if kana >= KANA_SHARE * (kana + han) and kana + han >= SCRIPT_SHARE * letters:
        return "ja"
    for code, _ in SCRIPTS:
        if counts[code] >= SCRIPT_SHARE * letters:
            return code
    return None


_IN_A_SCRIPT = re.compile(
    "["
    + "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for _, r in SCRIPTS for lo, hi in r)
    + "]"
)


def _letters(text: str) -> int:
    return sum(map(str.isalpha, text))


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


def is_english(language: str | None) -> bool:
    """Whether an article in ``language`` ("en", "en-GB") reads as English; one of no named
    language does too, as the English-only analyses have always read it."""
    return (language or "en").split("-")[0].lower() == "en"


def language_code(hint: str | None) -> str | None:
    """Reduce a client's language hint ("en-US", "EN") to an ISO 639-1 code, if it is one."""
    code = re.split(r"[-_]", hint.strip().lower())[0] if hint else ""
    return code if len(code) == 2 and code.isalpha() else None
