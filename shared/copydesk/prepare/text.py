"""Turn what a client submitted into the one analysed text every analysis shares.

Preparation runs once per article: HTML extraction, normalisation, boilerplate removal,
sentence spans and language detection all happen here, so the summary, sentiment and topics
workers agree on the text and on every offset they report (clients slice ``GET .../text``
with them). Heavy objects (the language detector) load lazily, once per process.
"""

from __future__ import annotations

import re
import unicodedata

from dataclasses import dataclass, fields

from copydesk.core import errors
from copydesk.prepare.boilerplate import Cleaned, remove_boilerplate
from copydesk.prepare.deadline import DeadlineExceeded, call_with_deadline
from copydesk.core.document import Document, Span
from copydesk.prepare.html import check_page, extract_html, strip_tags
from copydesk.prepare.language import detect, language_code
from copydesk.prepare.prose import check_prose
from copydesk.prepare.segment import (
    cjk_cuts,
    keeps_cut,
    pysbd_starts,
    regex_cuts,
    thai_cuts,
    uses_cjk_rules,
)

PYSBD_BUDGET = 200_000
"""Characters segmented with pysbd per article (~1.3 s); the rest uses the regex splitter."""

PYSBD_MAX_PARAGRAPH = 10_000
"""pysbd slows down super-linearly inside one long paragraph; longer ones use the regex."""

_WRAP_MIN_LINES = 5
_WRAP_WIDTHS = (40, 100)
"""Widths a fixed wrap is recognised at (72 and 80 columns are the usual ones)."""
_WRAP_FULL_SHARE = 0.6
_WRAP_SLACK = 20
"""Lines within this many characters of the widest are judged; shorter ones end a block."""

_HARD_BREAK = re.compile(r"(?<=[^\s.!?…。！？؟۔।:;])\n(?=[^\W\d_])")
_NEWLINES = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028]")
# Zero-width joiners (U+200C/D) stay: they change spelling in Persian and Indic scripts and
# build emoji. These others are invisible noise from CMSs and copy-paste.
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u200b\u200e\u200f\u2060\ufeff]"
)
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
# Runs of punctuation are matched from their first character only, possessively, so a page
# of "......" stays linear instead of backtracking quadratically.
_HAS_BOUNDARY = re.compile(r"""[.!?…؟۔।]["'”’»)\]]*+\s|[。！？｡](?=.)""")


@dataclass(frozen=True, slots=True)
class Limits:
    """What one article may cost; breaking a limit is a per-job error with its own code."""

    max_chars: int = 300_000
    max_sentences: int = 3000
    max_sentence_chars: int = 1500
    max_html_chars: int = 10_000_000
    max_html_tags: int = 100_000
    html_timeout_seconds: float | None = 10.0  # None: extract in this process, no deadline

    @classmethod
    def from_settings(cls, settings: object) -> Limits:
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})


def prepare(
    *,
    text: str | None = None,
    html: str | None = None,
    title: str | None = None,
    language: str | None = None,
    limits: Limits | None = None,
    clean: bool = True,
) -> Document:
    """Build the shared Document from exactly one of ``text`` or ``html``.

    ``language`` is the client's hint: a confident detection wins over it, and both are kept
    in ``meta`` so a wrong hint is visible rather than silently applied. On short texts,
    where detection is weakest, or unsure, the hint wins. ``clean=False`` keeps page
    furniture (the client's choice); so does a ``text`` that cleaning would empty
    (``meta["cleaned"]`` says which was done). Text past ``limits.max_chars`` stays in the document but
    gets no sentences, so no analysis reads it and each reports ``coverage`` below 1. Every
    step is linear in the input, and ``limits`` bound the rest (an AnalysisError with the
    limit's code).
    """
    if (text is None) == (html is None):
        raise ValueError("pass exactly one of text= or html=")
    limits = limits or Limits()
    given_title = " ".join(normalise(title or "").split()) or None
    titles = [given_title] if given_title else []
    extraction = "text"
    if html is not None:
        raw, page_title, extraction = _extract_within_limits(html, limits)
        titles += [page_title] if page_title else []
    else:
        raw, page_title = text, None
    unwrapped, sources = unwrap_lines(normalise(raw))
    cleaned = (
        remove_boilerplate(unwrapped, titles=titles, sources=sources)
        if clean
        else Cleaned(unwrapped, None, 0, 0)
    )
    if clean and html is None and not cleaned.text.strip():
        # every line the client sent reads as furniture (a post opening "Pictures:", a lone
        # headline): read it as sent rather than refuse it, and say cleaning was not applied.
        # A page is different: one whose text is all furniture has no article
        cleaned, clean = Cleaned(unwrapped, None, 0, 0), False
    body = _unwrap_hard_breaks(cleaned.text)
    if not body.strip():
        raise errors.EmptyArticle("no article text remained after cleaning the input")
    analysed = _analysed_part(body, limits.max_chars)
    check_prose(analysed)  # what the analyses read must be words, not "xxxx" or digits
    hint = language_code(language)
    detected, sure = detect(body, hint=hint)
    chosen = hint if hint and not sure else detected or hint
    sentences = split_sentences(analysed, language=chosen, max_chars=limits.max_sentence_chars)
    if not sentences:
        raise errors.EmptyArticle("the article has no sentences after cleaning")
    if len(sentences) > limits.max_sentences:
        raise errors.TooManySentences(
            f"the article has {len(sentences)} sentences; this deployment analyses at most "
            f"{limits.max_sentences} (COPYDESK_MAX_SENTENCES)",
            sentences=len(sentences),
            limit=limits.max_sentences,
        )
    return Document(
        text=body,
        sentences=sentences,
        language=chosen,
        title=given_title or page_title or cleaned.title,
        meta={
            "language_hint": language,
            "language_detected": detected,
            "source": "html" if html is not None else "text",
            "extraction": extraction,
            "removed": {
                "title_repeats": cleaned.title_repeats,
                "boilerplate_lines": cleaned.boilerplate_lines,
                "lines": cleaned.removed_lines,
                "characters": cleaned.removed_characters,
            },
            "cleaned": clean,
            "analysed_characters": len(analysed),
            "original_characters": len(html if html is not None else text),
        },
    )


def normalise(raw: str) -> str:
    """Canonicalise Unicode and whitespace so equal texts get equal offsets and sentences.

    NFC, not NFKC: compatibility folding rewrites what the reporter typed ("…" to "...",
    "m²" to "m2", "½" to "1⁄2", full-width forms), which changes what the client sees in
    ``/text`` for no gain to the models.
    """
    text = unicodedata.normalize("NFC", raw)
    text = _NEWLINES.sub("\n", text).replace("\u2029", "\n\n")
    text = _INVISIBLE.sub("", text)
    lines = (_HORIZONTAL_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _extract_within_limits(html: str, limits: Limits) -> tuple[str, str | None, str]:
    """Extract main text under the size and time limits; returns (text, title, method).

    Past the deadline the extractor is killed and a linear tag strip keeps the page's
    visible text instead: slower pages still get analysed, never lost.
    """
    check_page(html, max_chars=limits.max_html_chars, max_tags=limits.max_html_tags)
    if limits.html_timeout_seconds is None:
        return (*extract_html(html), "trafilatura")
    try:
        body, title = call_with_deadline(
            lambda: extract_html(html), seconds=limits.html_timeout_seconds
        )
    except DeadlineExceeded:
        return strip_tags(html), None, "tag-strip (extraction deadline)"
    return body, title, "trafilatura"


def split_sentences(
    text: str, *, language: str | None = None, max_chars: int | None = None
) -> tuple[Span, ...]:
    """Find sentence spans line by line, so no sentence crosses a paragraph or heading.

    pysbd is accurate but slow (~150k chars/s), so it gets a per-article character budget;
    lines past the budget, and giant single paragraphs, use a simple regex splitter. A
    sentence longer than ``max_chars`` (a page with no punctuation) is cut at spaces into
    pieces no longer than that, so no model input grows without bound. Chinese and Japanese
    (and any line with a full-width stop), and Thai, have rules of their own
    (``copydesk.prepare.segment``); pysbd's cuts in other languages are checked against
    each language's abbreviations.
    """
    import pysbd
    from pysbd.languages import LANGUAGE_CODES

    segmenter = pysbd.Segmenter(
        language=language if language in LANGUAGE_CODES else "en", clean=False, char_span=True
    )
    budget = PYSBD_BUDGET
    spans: list[Span] = []
    for match in re.finditer(r"[^\n]+", text):
        line, offset = match.group(), match.start()
        cuts: list[int]
        if language == "th":
            cuts = thai_cuts(line)
        elif uses_cjk_rules(line, language):
            cuts = cjk_cuts(line, language)
        elif not _HAS_BOUNDARY.search(line):
            cuts = []
        elif len(line) <= min(budget, PYSBD_MAX_PARAGRAPH):
            budget -= len(line)
            found = {s for s in pysbd_starts(segmenter, line) if 0 < s < len(line)}
            cuts = sorted(c for c in found if keeps_cut(line, c, language))
        else:
            cuts = regex_cuts(line, language)
        for start, end in zip([0, *cuts], [*cuts, len(line)]):
            piece = line[start:end]
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece.rstrip())
            if trail > lead:
                begin, end = offset + start + lead, offset + start + trail
                if max_chars is None or end - begin <= max_chars:
                    spans.append(Span(begin, end))
                else:
                    spans.extend(_cut_long(text, begin, end, max_chars))
    return tuple(spans)


def _cut_long(text: str, begin: int, end: int, max_chars: int) -> list[Span]:
    """Cut ``text[begin:end]`` into spans of at most ``max_chars``, at a space where one is."""
    spans = []
    while end - begin > max_chars:
        space = text.rfind(" ", begin + max_chars // 2, begin + max_chars + 1)
        cut = space if space > begin else begin + max_chars
        spans.append(Span(begin, cut))
        begin = cut
        while begin < end and text[begin] == " ":
            begin += 1
    if end > begin:
        spans.append(Span(begin, end))
    return spans


def _analysed_part(text: str, max_chars: int) -> str:
    """The opening of the text that the analyses read: all of it, or up to ``max_chars``.

    The cut falls at the last line or sentence end before the limit, so no sentence is
    analysed half; the rest stays in the text (and in ``/text``) and lowers ``coverage``.
    """
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    ends = [head.rfind("\n"), *(m.end() for m in _HAS_BOUNDARY.finditer(head, max_chars // 2))]
    cut = max(ends)
    return head[:cut].rstrip() if cut > 0 else head


def unwrap_lines(text: str) -> tuple[str, list[int]]:
    """Join lines that a fixed-width wrap (e-mail, 72 columns) broke inside paragraphs.

    Returns the text and, for each of its lines, how many input lines it was joined from,
    so cleaning can report the lines the client sent.

    Wrapped text is recognised by its lines: most long lines that another line follows are
    "full", meaning the next line's first word would not have fitted after them within the
    widest line, and most full lines end mid-sentence. Only then are full lines joined to
    the next; short lines (headlines in a list, the last line of a paragraph) stay apart,
    so a list or a column of one-sentence lines in ordinary text is never run together.
    """
    lines = text.split("\n")
    unchanged = text, [1] * len(lines)
    followed = [i for i in range(len(lines) - 1) if lines[i] and lines[i + 1]]
    if len(followed) < _WRAP_MIN_LINES:
        return unchanged
    width = max(len(lines[i]) for i in followed)
    if not _WRAP_WIDTHS[0] <= width <= _WRAP_WIDTHS[1]:
        return unchanged
    long = [i for i in followed if len(lines[i]) >= width - _WRAP_SLACK]
    full = {i for i in long if len(lines[i]) + 1 + len(lines[i + 1].split()[0]) > width}
    stops = sum(lines[i][-1] in '.!?"”’' for i in full)
    if len(full) < max(_WRAP_MIN_LINES, _WRAP_FULL_SHARE * len(long)) or 2 * stops > len(full):
        return unchanged
    sources = [1]
    for i in range(len(lines) - 1):
        if i in full:
            sources[-1] += 1
        else:
            sources.append(1)
    joined = "".join(line + (" " if i in full else "\n") for i, line in enumerate(lines))[:-1]
    return joined, sources


def _unwrap_hard_breaks(text: str) -> str:
    """Join lines a hard wrap split mid-sentence, so sentence spans see whole sentences."""
    return _HARD_BREAK.sub(lambda m: " " if text[m.end()].islower() else "\n", text)
