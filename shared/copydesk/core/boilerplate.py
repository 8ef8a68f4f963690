"""Drop the page furniture that scrapers leave around an article, keeping every real sentence.

Summaries, sentiment and topics all degrade when a repeated headline, a "Top stories" link list
or a cookie notice is analysed as if the reporter wrote it. The rules here work on whole lines
of normalised text and stay conservative: a line goes only when it *is* furniture on its own
(a share button, a photo credit), and a link-list heading cuts the rest of the text only when
what follows looks like a list of headlines rather than more article.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SHORT_LINE = 200
"""Longest line (characters) still taken for a headline in a link list."""

_EDGE_LINES = 6
"""Bylines, datelines and cookie notices are only looked for this many lines from either end."""

_TERMINAL = ".!?…。！？؟"

_LIST_HEADING = re.compile(
    r"""(?ix) ^(?:
        top\ (?:stories|news) | partner\ (?:news|content) | from\ our\ partners
      | related(?:\ (?:articles?|stories|news|content|coverage|posts|links|topics|reading))?
      | read\ (?:more|next|also) | also\ read | see\ also | what\ to\ read\ next
      | more\ (?:from|on|in|about)\ [^.!?]{1,40} | more\ (?:stories|news|articles)
      | you\ (?:may|might)\ (?:also\ )?(?:like|enjoy|be\ interested\ in)
      | recommended(?:\ (?:for\ you|stories|articles|reading))? | editor'?s\ picks
      | most\ (?:read|popular|viewed|shared|watched) | trending(?:\ now|\ stories)?
      | latest\ (?:news|stories|articles) | don'?t\ miss | around\ the\ web
      | share\ this(?:\ (?:article|story|page|post))?
      | (?:sponsored|promoted)(?:\ (?:content|stories|links))?
      | comments | leave\ a\ (?:comment|reply) | tags
    )\s*:?$""",
)
_INLINE_PROMO = re.compile(
    r"(?i)^(?:read more|related|see also|also read|read also|watch)\s*:\s*[^.!?]{1,150}$"
)
_ALWAYS_FURNITURE = re.compile(
    r"""(?ix) ^(?:
        advertisement | advertising | sponsored | ad
      | story\ continues\ below(?:\ advertisement)?
      | continue\ reading(?:\ below)? | scroll\ to\ continue(?:\ with\ content)?
      | share | share\ (?:this|on\ \w+|via\ \w+)(?:\ (?:article|story|page|post))?
      | tweet | print | e-?mail
      | (?:facebook|twitter|x|linkedin|whatsapp|telegram|reddit|pinterest)(?:\ ?[|/,·•]\ ?\w+)*
      | follow\ us(?:\ on\ [\w ,&]{1,60})? | like\ us\ on\ facebook
      | subscribe(?:\ (?:now|today|here))? | subscribe\ to\ (?:our|the)\ [\w ,'-]{1,60}
      | sign\ up\ (?:for|to)\ (?:our|the)\ [\w ,'-]{1,60} | click\ here\ to\ [\w ,'-]{1,60}
      | (?:photo|photograph|image|picture|pic|video|credit|source)s?(?:\ credit)?
        \s*[:/|]\ ?.{0,160}
      | \((?:photo|image|picture|credit)s?\s*[:/]\ ?[^)]{0,120}\)
      | (?:©|\(c\)|copyright\ (?:©|\(c\))?\s*\d{4}).{0,160}
      | .{0,160}\ball\ rights\ reserved\.?
    )[.!]?$""",
)
_BYLINE = re.compile(
    r"""(?x) ^\(?(?:
        (?i:written|reporting|additional\ reporting|editing|compiled|words)\ by\ .{2,120}
      | By\ [A-Z][\w.'’-]*(?:\ [A-Z][\w.'’-]*){0,3}  # capitalised names, not "By Monday the"
        (?:\ ?(?:,|and|&|\||-|–|—)\ ?[^.!?]{0,80})?
    )\)?$""",
)
_DATE_WORDS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july "
    "august september october november december mon tue wed thu fri sat sun monday tuesday "
    "wednesday thursday friday saturday sunday".split()
)
_DATE_FILLER = frozenset(
    "published updated posted last first modified on at am pm gmt utc bst cet cest est edt pst pdt "
    "et pt msk st nd rd th of".split()
)
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[-./]\d{1,2}[-./]\d{1,4}\b")
_COOKIE_NOTICE = re.compile(
    r"(?i)^(?:we|this (?:web)?site|our (?:web)?site) uses? cookies\b"
    r"|^by (?:using|continuing|clicking|browsing)\b.{0,100}\bcookies\b"
)
_ONLY_SYMBOLS = re.compile(r"^[\s\-_*=~#•·.…—–|/\\+<>]+$")


@dataclass(frozen=True, slots=True)
class Cleaned:
    """The text without furniture, the repeated headline if one was found, and what went."""

    text: str
    title: str | None
    title_repeats: int
    boilerplate_lines: int


def remove_boilerplate(text: str, *, titles: Iterable[str] = ()) -> Cleaned:
    """Strip headline copies, link-list tails and furniture lines from normalised text.

    ``titles`` are headlines known from elsewhere (the client's title, the page's <title>):
    copies of them at the top are removed, since the title travels in ``Document.title``.
    """
    lines = text.split("\n")
    title, title_repeats = _drop_title_copies(lines, titles=titles)
    removed = _drop_list_tail(lines) + _drop_furniture(lines)
    kept = re.sub(r"\n{3,}", "\n\n", "\n".join(line for line in lines if line is not None))
    return Cleaned(kept.strip(), title, title_repeats, removed)


def title_key(line: str) -> str:
    """Reduce a headline to lowercase words so copies match despite case and punctuation."""
    return " ".join(re.findall(r"\w+", line.casefold()))


def _content_indices(lines: list[str | None]) -> list[int]:
    return [i for i, line in enumerate(lines) if line]


def _drop_title_copies(lines: list[str | None], *, titles: Iterable[str]) -> tuple[str | None, int]:
    """Blank out copies of the headline among the first lines; return the headline and count."""
    head = _content_indices(lines)[:5]
    keys = {title_key(t) for t in titles if title_key(t)}
    repeated = None
    if head:
        first = lines[head[0]]
        is_title_like = len(first) <= SHORT_LINE and first[-1] not in ".!?"
        if is_title_like and any(title_key(lines[i]) == title_key(first) for i in head[1:]):
            repeated = first
            keys.add(title_key(first))
    count = 0
    for i in head:
        if title_key(lines[i]) in keys:
            lines[i] = None
            count += 1
    return repeated, count


def _drop_list_tail(lines: list[str | None]) -> int:
    """Cut at a link-list heading ("Top stories", "Related") when a list of headlines follows.

    A heading alone is not enough: "Read more" in mid-article is often followed by more
    article. The tail must look like a list (headlines without final punctuation, or lines
    packed together with no blank line between them) and be short lines throughout, or
    mostly short when the heading comes after 40% of the text.
    """
    content = _content_indices(lines)
    total = sum(len(lines[i]) for i in content) or 1
    seen = 0
    for n, i in enumerate(content):
        if (
            n > 0
            and _LIST_HEADING.match(lines[i])
            and _looks_like_link_list(lines, tail=content[n + 1 :], position=seen / total)
        ):
            for j in content[n:]:
                lines[j] = None
            return len(content) - n
        seen += len(lines[i])
    return 0


def _looks_like_link_list(lines: list[str | None], *, tail: list[int], position: float) -> bool:
    if not tail:
        return True
    short = [j for j in tail if len(lines[j]) <= SHORT_LINE]
    headline_like = 2 * sum(lines[j][-1] not in _TERMINAL for j in short) >= len(tail)
    packed = 2 * sum(bool(lines[j - 1]) for j in tail) >= len(tail)
    all_short = len(short) == len(tail)
    mostly_short = 2 * len(short) >= len(tail)
    return (headline_like or packed) and (all_short or (position >= 0.4 and mostly_short))


def _drop_furniture(lines: list[str | None]) -> int:
    """Blank out lines that are furniture on their own; bylines and dates only near the edges."""
    content = _content_indices(lines)
    edges = set(content[:_EDGE_LINES] + content[-_EDGE_LINES:])
    removed = 0
    for i in content:
        line = lines[i]
        near_edge = i in edges and len(content) > 1
        if (
            _ALWAYS_FURNITURE.match(line)
            or _INLINE_PROMO.match(line)
            or (_LIST_HEADING.match(line) and i != content[0])
            or _ONLY_SYMBOLS.match(line)
            or (near_edge and _is_edge_furniture(line))
        ):
            lines[i] = None
            removed += 1
    return removed


def _is_edge_furniture(line: str) -> bool:
    return bool(_BYLINE.match(line)) or _is_dateline(line) or _is_cookie_notice(line)


def _is_dateline(line: str) -> bool:
    """Tell whether a line holds nothing but a publication date and time."""
    if len(line) > 80:
        return False
    words = re.findall(r"[^\W\d_]+", line.casefold())
    has_date = any(w in _DATE_WORDS for w in words) or bool(_NUMERIC_DATE.search(line))
    has_number = any(c.isdigit() for c in line)
    return has_date and has_number and all(w in _DATE_WORDS or w in _DATE_FILLER for w in words)


def _is_cookie_notice(line: str) -> bool:
    """Tell a consent banner from a sentence about cookies: banners open with the notice."""
    return len(line) <= 400 and bool(_COOKIE_NOTICE.match(line))
