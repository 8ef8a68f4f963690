"""Drop the page furniture that scrapers leave around an article, keeping every real sentence.

Summaries, sentiment and topics all degrade when a repeated headline, a "Top stories" link list
or a cookie notice is analysed as if the reporter wrote it. The rules here work on whole lines
of normalised text and stay conservative: a line goes only when it *is* furniture on its own
(a share button, a photo credit), and a link-list heading cuts the rest of the text only when
what follows looks like a list of headlines rather than more article. The words a page's
markup names its furniture with ("site-nav", "cookie_banner") are kept here too, for the HTML
reader (``copydesk.prepare.html``) to skip those elements: one vocabulary of furniture.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from copydesk.prepare import furniture
from copydesk.prepare.dateline import split_dateline

SHORT_LINE = 200
"""Longest line (characters) still taken for a headline in a link list."""

_EDGE_LINES = 6
"""Bylines, datelines and cookie notices are only looked for this many lines from either end."""

_DATELINE_LINES = 3
"""A wire dateline is looked for in the first paragraph, after at most two headline lines."""

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
        (?:\ (?i:reporter|correspondent|editor|writer|staff|team))?
        (?:\ ?(?:,|and|&|\||-|–|—)\ ?[^.!?]{0,80})?
    )\)?$""",
)
_DATE_WORDS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july "
    "august september october november december mon tue wed thu fri sat sun monday tuesday "
    "wednesday thursday friday saturday sunday".split()
) | set(furniture.DATE_WORDS.split())
_DATE_FILLER = frozenset(
    "published updated posted last first modified on at am pm gmt utc bst cet cest est edt pst pdt "
    "et pt msk st nd rd th of".split()
) | set(furniture.DATE_FILLER.split())
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[-./]\d{1,2}[-./]\d{1,4}\b")
_COOKIE_NOTICE = re.compile(
    r"(?i)^(?:we|this (?:web)?site|our (?:web)?site) uses? cookies\b"
    r"|^by (?:using|continuing|clicking|browsing)\b.{0,100}\bcookies\b"
)
_ONLY_SYMBOLS = re.compile(r"^[\s\-_*=~#•·.…—–|/\\+<>]+$")
# a class or id that names a page's furniture (as a whole word of the name: "site-nav",
# "cookie_banner"), unless the name also says it is a state or a layout ("menu-open",
# "has-sidebar", "nav-wrapper") that may sit on the element holding the whole page
_FURNITURE_NAME = re.compile(
    r"(?:^|[-_])(?:cookies?|consent|gdpr|cmp|nav|navbar|navigation|menu|breadcrumbs?|footer|"
    r"masthead|sidebar|newsletter|subscribe|share|sharing|social|promo|advert|ads?|skip)"
    r"(?:$|[-_])",
    re.IGNORECASE,
)
_LAYOUT_NAME = re.compile(
    r"(?:^|[-_])(?:is|has|with|open|opened|active|visible|shown|layout|wrap|wrapper|container)"
    r"(?:$|[-_])",
    re.IGNORECASE,
)


def _phrases(table: dict[str, str]) -> str:
    """One alternation of a table's phrases, longest first, any spaces where one is."""
    phrases = {p for phrases in table.values() for p in phrases.split("|")}
    ordered = sorted(phrases, key=len, reverse=True)
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in ordered)


_MARKS_BEFORE = r"[\s【\[（(〔《<▶►▸»>·•|※■●◆-]*"
_MARKS_AFTER = r"[\s】\]）)〕》>»:：.。!！]*"
_OTHER_LIST_HEADING = re.compile(
    rf"(?i)^{_MARKS_BEFORE}(?:{_phrases(furniture.LIST_HEADINGS)}){_MARKS_AFTER}$"
)
_OTHER_FURNITURE = re.compile(
    rf"""(?ix) ^{_MARKS_BEFORE}(?:
        (?:{_phrases(furniture.LIST_HEADINGS)})\s*[】\]）)]?\s*[:：]\s*[^.!?。！？]{{1,150}}
      | (?:{_phrases(furniture.LINES)}){_MARKS_AFTER}
      | (?:{_phrases(furniture.OPENINGS)})[^.!?。！？]{{0,60}}
      | .{{0,160}}(?:{_phrases(furniture.RIGHTS_RESERVED)}).{{0,60}}
      | (?:{_phrases(furniture.CREDITS)})\s*[:：=/|]\s*.{{0,160}}
    )$"""
)
"""Furniture in the other languages, from the tables in ``copydesk.prepare.furniture``."""

_LINK = re.compile(r"https?://|www\.")
_PROMO_OPENING = re.compile(
    r"(?i)^\s*(?:read more|click here|sign up|subscribe|follow us|share (?:this|on)|advertisement"
    r"|related:|see also|image (?:source|caption)|photo(?:graph)?:|copyright|©)"
    r"|all rights reserved"
    rf"|^\s*(?:{_phrases(furniture.PROMOTIONS)}|{_phrases(furniture.OPENINGS)})"
    rf"|(?:{_phrases(furniture.RIGHTS_RESERVED)})"
)
"""Sentences opening with a promotion or a credit: kept in the text, never quoted."""

HEADLINE_CHARS = 150
"""Longest line still taken for a headline in a run under a link-list heading."""

_QUESTION_HEADLINE_CHARS = 100
"""A question is a headline only when shorter: longer ones are a reporter's own lines."""

_INTERVIEW = re.compile(r"^[QA][.:]\s")
"""An interview's "Q." and "A." lines are the article, even when they are short questions."""

_TERMINAL_END = re.compile(r"[.!…。！؟:;,][\"'”’»)\]]*$")


@dataclass(frozen=True, slots=True)
class Cleaned:
    """The text without furniture, the repeated headline if one was found, and what went.

    ``boilerplate_lines`` and ``removed_lines`` count the lines the client sent: a line that
    ``unwrap_lines`` joined from several counts as each of them (``sources``), so the report
    agrees with a count of the input's lines. ``removed_characters`` also holds a dateline
    cut from the first paragraph, which is part of a line, not a line.
    """

    text: str
    title: str | None
    title_repeats: int
    boilerplate_lines: int
    removed_characters: int = 0
    removed_lines: int = 0
    dateline: str | None = None


def remove_boilerplate(
    text: str, *, titles: Iterable[str] = (), sources: Sequence[int] | None = None
) -> Cleaned:
    """Strip headline copies, link-list runs, furniture lines and a wire dateline.

    ``titles`` are headlines known from elsewhere (the client's title, the page's <title>):
    copies of them at the top are removed, since the title travels in ``Document.title``.
    ``sources`` says how many lines of the input each line of ``text`` was joined from
    (one each when not given); the counts in the result are of those input lines.
    """
    lines: list[str | None] = list(text.split("\n"))
    original = list(lines)
    weights = list(sources) if sources is not None else [1] * len(lines)
    if len(weights) != len(lines):
        raise ValueError("sources must give one count per line of text")
    title, title_repeats = _drop_title_copies(lines, titles=titles)
    copies = sum(w for w, now in zip(weights, lines, strict=True) if now is None)
    _drop_list_runs(lines)
    _drop_furniture(lines)
    dateline, cut = _drop_dateline(lines)
    gone = [i for i, now in enumerate(lines) if now is None]
    removed_lines = sum(weights[i] for i in gone)
    # a joined line holds one space per join where the input had a line break
    characters = cut + sum(len(original[i]) - (weights[i] - 1) for i in gone)
    kept = re.sub(r"\n{3,}", "\n\n", "\n".join(line for line in lines if line is not None))
    return Cleaned(
        text=kept.strip(),
        title=title,
        title_repeats=title_repeats,
        boilerplate_lines=removed_lines - copies,
        removed_characters=characters,
        removed_lines=removed_lines,
        dateline=dateline,
    )


def is_list_heading(line: str) -> bool:
    """Tell whether a line is a link-list heading such as "Top stories" or "Related"."""
    return bool(_LIST_HEADING.match(line) or _OTHER_LIST_HEADING.match(line))


def is_furniture(line: str) -> bool:
    """Tell whether a line is page furniture on its own, wherever it stands."""
    return bool(
        _ALWAYS_FURNITURE.match(line)
        or _INLINE_PROMO.match(line)
        or _ONLY_SYMBOLS.match(line)
        or _OTHER_FURNITURE.match(line)
    )


def names_furniture(name: str) -> bool:
    """Tell whether an HTML class or id names page furniture ("site-nav", "cookie_banner")."""
    return bool(_FURNITURE_NAME.search(name)) and not _LAYOUT_NAME.search(name)


def is_promotion(sentence: str) -> bool:
    """Tell whether a sentence carries a link, a promotion or a credit (never quoted)."""
    return bool(_LINK.search(sentence) or _PROMO_OPENING.search(sentence))


def is_edge_furniture(line: str) -> bool:
    """Tell whether a line is a byline, a dateline or a cookie notice (near the edges)."""
    return bool(_BYLINE.match(line)) or _is_dateline(line) or _is_cookie_notice(line)


def is_headline_like(line: str) -> bool:
    """Tell a headline or link from prose: short, and without a sentence's final stop."""
    if len(line) > HEADLINE_CHARS or _TERMINAL_END.search(line) or _INTERVIEW.match(line):
        return False
    return not line.rstrip("\"'”’»)]").endswith("?") or len(line) <= _QUESTION_HEADLINE_CHARS


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


def _drop_list_runs(lines: list[str | None]) -> int:
    """Remove each link-list heading and the run of headlines under it, up to the first prose.

    A heading ("Top stories", "Related", "More on this story") is furniture, but what
    follows it is removed only while it looks like a list: headline-like lines (short, no
    final stop), or, in text whose paragraphs are set apart by blank lines, short lines packed
    under the heading with no blank line between them (teasers under "Top stories"). The run
    ends at the first line of prose, so a heading in mid-article costs only its own list, and
    a reporter's paragraphs after it stay. A headline that ends like a sentence ("Drones.
    Crutches. Potatoes.") ends the run too: in text pasted with single newlines it cannot be
    told from a one-line paragraph, and keeping a headline costs less than losing prose.
    """
    content = _content_indices(lines)
    glued = _glued_lines(lines, content)
    removed = 0
    n = 1  # the first line is the article's, whatever it says
    while n < len(content):
        if not is_list_heading(lines[content[n]]):
            n += 1
            continue
        lines[content[n]] = None
        removed += 1
        n += 1
        while n < len(content) and _continues_list(lines[content[n]], glued=content[n] in glued):
            lines[content[n]] = None
            removed += 1
            n += 1
    return removed


def _continues_list(line: str, *, glued: bool) -> bool:
    return (
        is_headline_like(line)
        or is_list_heading(line)
        or is_furniture(line)
        or (glued and len(line) <= SHORT_LINE)
    )


def _glued_lines(lines: list[str | None], content: list[int]) -> set[int]:
    """Lines packed under the one before them, in text that sets paragraphs apart by blanks.

    When most paragraphs (long lines, if there are enough) follow a blank line, lines with
    none before them are a list or a block of teasers; in text pasted with single newlines
    nothing is glued.
    """
    glued = {i for i in content[1:] if lines[i - 1]}
    paragraphs = [i for i in content[1:] if len(lines[i]) > HEADLINE_CHARS]
    judged = paragraphs if len(paragraphs) >= 3 else content[1:]
    apart = sum(i not in glued for i in judged)
    return glued if len(judged) >= 2 and 2 * apart >= len(judged) else set()


def _drop_furniture(lines: list[str | None]) -> int:
    """Blank out lines that are furniture on their own; bylines and dates only near the edges."""
    content = _content_indices(lines)
    edges = set(content[:_EDGE_LINES] + content[-_EDGE_LINES:])
    removed = 0
    for i in content:
        line = lines[i]
        near_edge = i in edges and len(content) > 1
        if is_furniture(line) or (near_edge and is_edge_furniture(line)):
            lines[i] = None
            removed += 1
    return removed


def _drop_dateline(lines: list[str | None]) -> tuple[str | None, int]:
    """Cut a wire dateline from the first paragraph; return it and the characters cut.

    The first paragraph is the first content line, or the one after headline-like lines
    (a headline the client sent in the text) near the top; a dateline further on is text.
    A line that is only a dateline goes whole (and is counted as a line, not as a cut).
    """
    for i in _content_indices(lines)[:_DATELINE_LINES]:
        line = lines[i]
        split = split_dateline(line)
        if split is not None:
            dateline, rest = split
            lines[i] = rest or None
            return dateline.strip(), len(dateline) if rest else 0
        if not is_headline_like(line):
            break
    return None, 0


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
