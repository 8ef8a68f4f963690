"""Get an article's text out of an HTML page: its main content, and never its menus.

trafilatura finds the main content. Its own fallbacks take whatever text a page has, so a
page that is only navigation, a footer or a cookie banner would come back as "Home" or "We
use cookies" and be summarised. So the page's *content text* (every visible text node outside
navigation, headers, footers, asides, menus, dialogs and cookie or consent banners) is read
too: an extraction whose words are mostly not in it came from boilerplate and is dropped,
and the content text is also the fallback when trafilatura finds nothing or runs out of time.
A page with no content text yields "", which the prepare stage ends as ``empty_article``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from copydesk.core import errors
from copydesk.prepare.boilerplate import names_furniture

if TYPE_CHECKING:
    from lxml.html import HtmlElement

MIN_COVERAGE = 0.5
"""Share of an extraction's distinct words that must occur in the page's content text."""

_SKIP = frozenset(
    "script style noscript template title svg iframe head nav footer aside menu dialog "
    "button select option textarea".split()
)
_BLOCK = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 section article header footer nav aside main "
    "blockquote pre table tr td th figure figcaption body dd dt dl hr address".split()
)
_CONTENT = frozenset({"article", "main"})  # a <header> inside one is the article's own
_ROLES = frozenset(
    "navigation banner contentinfo complementary menu menubar search dialog alertdialog "
    "toolbar tablist".split()
)
_WORD = re.compile(r"\w+")
_SOURCE_BREAK = re.compile(r"[ \t\r\f]*\n[ \t\r\n\f]*")  # a line break of the page's source
# where line breaks mean something: preformatted text, and code (JSON-LD, scripts)
_PREFORMATTED = frozenset({"pre", "textarea", "listing", "plaintext", "xmp", "script", "style"})
_TAG_START = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)")
# elements whose content every parser here reads as text, not markup: a "<" inside them starts
# no tag. libxml2 also reads <textarea> and <title> so, but Python's HTMLParser (the fallback
# reader) does not, so tags inside those count.
_RAW_TEXT_END = {name: re.compile(rf"</{name}", re.IGNORECASE) for name in ("script", "style")}


def count_tags(html: str, *, stop_after: int) -> int:
    """Count a page's start tags outside scripts and styles, up to ``stop_after`` + 1.

    One pass with no backtracking, and it stops once past ``stop_after``, so a hostile page
    costs at most that many steps. Parsing and extraction cost grows with the number of
    elements (about 60 microseconds and a few kB each), not with the page's bytes, most of
    which are scripts on a real news page.
    """
    count, position = 0, 0
    while count <= stop_after:
        tag = _TAG_START.search(html, position)
        if tag is None:
            break
        count += 1
        position = tag.end()
        end = _RAW_TEXT_END.get(tag.group(1).lower())
        if end is not None:
            closing = end.search(html, position)
            if closing is None:
                break  # the rest of the page is the element's text
            position = closing.end()
    return count


def check_page(html: str, *, max_chars: int, max_tags: int) -> None:
    """Refuse a page over COPYDESK_MAX_HTML_CHARS (``html_too_large``) or with more start
    tags than COPYDESK_MAX_HTML_TAGS (``html_too_complex``), before anything parses it."""
    if len(html) > max_chars:
        raise errors.HtmlTooLarge(
            f"the HTML page has {len(html)} characters; the limit is {max_chars} "
            "(COPYDESK_MAX_HTML_CHARS)",
            characters=len(html),
            limit=max_chars,
        )
    if count_tags(html, stop_after=max_tags) > max_tags:
        raise errors.HtmlTooComplex(
            f"the HTML page has more than {max_tags} tags outside its scripts and styles "
            "(COPYDESK_MAX_HTML_TAGS); send the article's own markup or its text",
            limit=max_tags,
        )


def extract_html(html: str) -> tuple[str, str | None]:
    """Extract the article's main text (one block per paragraph) and its title from a page.

    Returns ("", title) for a page with no content text: the caller fails it as empty.
    """
    import trafilatura  # heavy import (lxml, justext): only the HTML path pays for it

    tree = _parse(html)
    content, sources = _content_text(tree) if tree is not None else ("", "")
    if not content:
        content = _deep_content_text(html)
    title = _title(tree) if tree is not None else None  # before extraction prunes the tree
    extracted = trafilatura.bare_extraction(
        tree if tree is not None else html,
        with_metadata=False,
        include_comments=False,
        include_tables=False,
    )
    body = ((extracted.text or "").strip()) if extracted is not None else ""
    if body and _coverage(body, content + "\n" + sources) >= MIN_COVERAGE:
        return body.replace("\n", "\n\n"), title
    return content, title


def _title(tree: HtmlElement) -> str | None:
    """The page's headline as trafilatura's metadata step finds it (meta tags, then JSON-LD,
    then <title> and <h1>), without the rest of that step: its date search alone reads the
    whole page with regular expressions, about a second on a 3 MB page."""
    from trafilatura.metadata import examine_meta, extract_meta_json, extract_title

    metadata = examine_meta(tree)
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception:  # noqa: BLE001 - trafilatura guards this call the same way
        pass
    title = (metadata.title or extract_title(tree) or "").strip()
    return title or None


def strip_tags(html: str) -> str:
    """Return the page's content text: visible text outside its navigation and furniture.

    The fallback when main-content extraction runs out of time; lxml's parser is linear.
    """
    tree = _parse(html)
    return (_content_text(tree)[0] if tree is not None else "") or _deep_content_text(html)


def _deep_content_text(html: str) -> str:
    """Read the content text with Python's own tokenizer, which has no nesting limit.

    libxml2 gives up on a whole page nested deeper than 256 elements and returns nothing;
    this slower, linear reader then keeps the page's text.
    """
    reader = _DeepReader()
    reader.feed(html)
    reader.close()
    return _blocks(reader.parts)


def _parse(html: str) -> HtmlElement | None:
    """Parse like trafilatura does; a fragment or plain text becomes a one-block document."""
    import lxml.html
    from lxml.etree import ParserError
    from trafilatura import load_html

    tree = load_html(html)
    if tree is None:
        try:
            tree = lxml.html.document_fromstring(html)
        except (ParserError, ValueError):
            return None
    _unwrap_source_lines(tree)
    return tree


def _unwrap_source_lines(tree: HtmlElement) -> None:
    """Read a line break of the page's source as a space, as a browser renders it, outside
    preformatted text. Trafilatura keeps them in a paragraph that holds a <br>, and its
    output's line breaks are paragraph breaks, so a hard-wrapped paragraph came out cut."""
    kept = {node for block in tree.iter(*_PREFORMATTED) for node in block.iter()}
    for element in tree.iter():
        if element not in kept and element.text and "\n" in element.text:
            element.text = _SOURCE_BREAK.sub(" ", element.text)
        if element.getparent() not in kept and element.tail and "\n" in element.tail:
            element.tail = _SOURCE_BREAK.sub(" ", element.tail)


def _content_text(tree: HtmlElement) -> tuple[str, str]:
    """Return (content text, structured-data text) of a parsed page.

    The second is the text of its JSON-LD blocks, where some pages keep the article body:
    words trafilatura takes from there are the article's, not furniture.
    """
    from lxml import etree

    parts: list[str] = []
    sources: list[str] = []
    frames = _frames(tree)
    walk = etree.iterwalk(tree, events=("start", "end"))
    content_depth = 0
    for event, element in walk:
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _CONTENT:
                content_depth += 1
            if tag == "script" and "ld+json" in (element.get("type") or ""):
                sources.append(element.text or "")
            if not tag or _is_furniture(
                element.attrib, tag, inside_content=content_depth > 0, frame=element in frames
            ):
                walk.skip_subtree()
                continue
            if tag in _BLOCK:
                parts.append("\n\n")
            parts.append(_flat(element.text))
        else:
            if tag in _CONTENT:
                content_depth -= 1
            if tag in _BLOCK:
                parts.append("\n\n")
            parts.append(_flat(element.tail))
    return _blocks(parts), "\n".join(sources)


def _frames(tree: HtmlElement) -> set[HtmlElement]:
    """The elements that hold the page's headline (its first <h1>) or its <main>.

    Such an element is the page's frame whatever its class says: BBC Chinese wraps the
    whole page in ``class="blq-int-nav"``, a variant of its frame, not a menu. Not any
    <article>: sidebars and promotions hold teasers marked up as articles. Each ancestor
    chain is walked up only to the first element already marked.
    """
    frames: set[HtmlElement] = set()
    for tag in ("h1", "main"):
        element = next(tree.iter(tag), None)
        if element is None:
            continue
        parent = element.getparent()
        while parent is not None and parent not in frames:
            frames.add(parent)
            parent = parent.getparent()
    return frames


def _blocks(parts: list[str]) -> str:
    blocks = (" ".join(block.split()) for block in "".join(parts).split("\n\n"))
    return "\n\n".join(block for block in blocks if block)


def _is_furniture(
    attrs: Mapping[str, str | None], tag: str, *, inside_content: bool, frame: bool = False
) -> bool:
    """Tell whether an element (its tag and attributes) is page furniture, not content.

    A ``frame`` (an element holding the headline or the article) is never furniture by
    its class or id alone.
    """
    if tag in _SKIP or (tag == "header" and not inside_content):
        return True
    if tag in ("html", "body", "main", "article"):
        return False
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    if (attrs.get("role") or "").strip().lower() in _ROLES:
        return True
    names = f"{attrs.get('class') or ''} {attrs.get('id') or ''}".split()
    return not frame and any(names_furniture(name) for name in names)


class _DeepReader(HTMLParser):
    """Collect the content text as ``_content_text`` does, from a token stream."""

    _VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
    _REACH = 64  # open elements an end tag looks back through (a stray one costs no more)

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, starts a skipped region)
        self._skipping = 0
        self._content = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._VOID:
            if tag in _BLOCK and not self._skipping:
                self.parts.append("\n\n")
            return
        skip = bool(self._skipping) or _is_furniture(
            dict(attrs), tag, inside_content=self._content > 0
        )
        self._open.append((tag, skip and not self._skipping))
        self._skipping += skip and not self._skipping
        self._content += tag in _CONTENT
        if tag in _BLOCK and not self._skipping:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        for back in range(1, min(len(self._open), self._REACH) + 1):
            if self._open[-back][0] == tag:
                for closed, started in self._open[-back:]:
                    self._skipping -= started
                    self._content -= closed in _CONTENT
                del self._open[-back:]
                break
        if tag in _BLOCK and not self._skipping:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data.replace("\n", " "))


def _flat(text: str | None) -> str:
    return text.replace("\n", " ") if text else ""


def _coverage(extracted: str, content: str) -> float:
    """Share of the extraction's distinct words that occur in ``content``."""
    words = set(_WORD.findall(extracted.lower()))
    if not words:
        return 0.0
    return len(words & set(_WORD.findall(content.lower()))) / len(words)
