"""Get an article's text out of an HTML page: its main content, else every visible text node.

trafilatura finds the main content and drops navigation, asides and footers; a plain,
linear tag strip is the fallback when it finds nothing or runs out of time, so a client's
text is never lost because its page was odd.
"""

from __future__ import annotations

from html.parser import HTMLParser


def extract_html(html: str) -> tuple[str, str | None]:
    """Extract the article's main text (one block per paragraph) and its title from a page.

    trafilatura drops navigation, asides and footers; when it finds no main content (tiny or
    odd pages) a plain tag strip keeps the client's text rather than losing it.
    """
    import trafilatura  # heavy import (lxml, justext): only the HTML path pays for it

    extracted = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=False
    )
    if extracted is None:
        return strip_tags(html), None
    title = (extracted.title or "").strip() or None
    body = (extracted.text or "").strip()
    return (body.replace("\n", "\n\n") if body else strip_tags(html)), title


class _TagStripper(HTMLParser):
    """Collect a page's visible text, one paragraph per block element."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "title", "svg", "iframe"})
    _BLOCK = frozenset(
        "p div br li ul ol h1 h2 h3 h4 h5 h6 section article header footer nav aside "
        "blockquote pre table tr td th figure figcaption main body dd dt".split()
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data.replace("\n", " "))


def strip_tags(html: str) -> str:
    """Fall back to every visible text node when trafilatura finds no main content."""
    stripper = _TagStripper()
    stripper.feed(html)
    stripper.close()
    return "".join(stripper.parts)
