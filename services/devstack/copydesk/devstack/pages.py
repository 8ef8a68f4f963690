"""Make a real page as big as big news sites ship theirs: megabytes of inline script state.

CNN-sized pages are mostly JSON state in ``<script>`` tags before ``</head>``. The e2e test of
a 3 MB page and bench/extraction.py's speed figure pad real article pages the same way.
"""

from __future__ import annotations

import json


def padded_page(html: str, size: int = 3_000_000) -> str:
    """Return ``html`` with inline script state before ``</head>`` until it has ``size``
    characters or more (in front of the page when it has no head)."""
    state = json.dumps([{"id": n, "headline": f"Story {n}", "tags": ["x"] * 30} for n in range(50)])
    script = f"<script>window.__STATE__ = {state};</script>"
    filler = script * max(0, (size - len(html)) // len(script) + 1)
    return html.replace("</head>", filler + "</head>", 1) if "</head>" in html else filler + html
