"""Write what the command prints: results on stdout, a progress bar and messages on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any


def say(message: str) -> None:
    """Tell the user something on stderr, as one line starting ``copydesk:``."""
    print(f"copydesk: {message}", file=sys.stderr, flush=True)


def emit(document: dict[str, Any], *, indent: int | None = None) -> None:
    """Print one JSON document (a line, unless indented) and flush it, so that a reader such
    as ``head`` or ``jq`` gets it now, and a reader that has gone is noticed now."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=indent) + "\n")
    sys.stdout.flush()


def progress(items: Iterable[Any], *, total: int, show: bool | None) -> Iterable[Any]:
    """Count ``items`` on stderr as they pass: by default only when stderr is a terminal and
    there are several."""
    show = show if show is not None else sys.stderr.isatty()
    if not show or total < 2:
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # a client-only install: a plain counter
        return _counted(items, total)
    return tqdm(items, total=total, unit="article", file=sys.stderr)


def _counted(items: Iterable[Any], total: int) -> Iterator[Any]:
    for done, item in enumerate(items, 1):
        print(f"\r{done}/{total} articles", end="", file=sys.stderr, flush=True)
        yield item
    print(file=sys.stderr)
