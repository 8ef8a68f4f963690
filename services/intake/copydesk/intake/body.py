"""Read a request's JSON body within its limits, inflating ``Content-Encoding: gzip`` with a bound.

A body is read once, from the server's own input stream, never past the largest size the
route accepts (the ``ceiling``): a chunked body has no length to check up front, and
Werkzeug's stream would cut an oversized one silently. A gzip body is inflated in steps that
stop one byte past the ceiling, so a decompression bomb costs the intake no more memory than
an honest body. Once parsed, the job's own limit applies: a body carrying ``article.html`` may
be up to COPYDESK_MAX_HTML_BODY_BYTES, one carrying ``article.text`` COPYDESK_MAX_BODY_BYTES
(sizes after decoding). Each limit answers with its own code.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from flask import Request

from copydesk.core import errors
from copydesk.prepare.html import check_page
from copydesk.core.settings import Settings

GZIP = frozenset({"gzip", "x-gzip"})
IDENTITY = frozenset({"", "identity"})


def read_json(request: Request, *, ceiling: int) -> tuple[Any, int]:
    """Return the parsed body and its size in bytes after decoding (at most ``ceiling``)."""
    encoding = _content_encoding(request)
    if (request.content_length or 0) > ceiling:
        raise _too_large(ceiling)
    raw = request.environ["wsgi.input"].read(ceiling + 1)
    if len(raw) > ceiling:
        raise _too_large(ceiling)
    data = inflate(raw, limit=ceiling) if encoding in GZIP else raw
    try:
        return json.loads(data), len(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.MalformedJSON(f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise errors.MalformedJSON("the body nests JSON too deeply") from exc


def inflate(raw: bytes, *, limit: int) -> bytes:
    """Decode a gzip body (one or more members), refusing it once it passes ``limit`` bytes."""
    out: list[bytes] = []
    size = 0
    rest = raw
    while rest:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header required
        try:
            while rest and not inflater.eof:
                chunk = inflater.decompress(rest, limit + 1 - size)
                rest = inflater.unconsumed_tail
                size += len(chunk)
                out.append(chunk)
                if size > limit:
                    raise errors.DecompressedBodyTooLarge(
                        f"the gzip body inflates past {limit} bytes, the largest body this "
                        "route accepts; inflation was stopped there",
                        limit=limit,
                    )
                if not chunk and rest:
                    break  # no progress: zlib needs input it will never get
        except zlib.error as exc:
            raise errors.MalformedGzip(f"the body is not a valid gzip stream: {exc}") from exc
        if not inflater.eof:
            raise errors.MalformedGzip("the gzip stream of the body is truncated")
        rest = inflater.unused_data
    if not out:
        raise errors.MalformedGzip("the body is empty, not a gzip stream")
    return b"".join(out)


def check_job_size(article: Any, size: int, settings: Settings) -> None:
    """Hold a job's body to the limit of what it carries: HTML or plain text."""
    is_html = isinstance(article, dict) and article.get("html") is not None
    if is_html and size > settings.max_html_body_bytes:
        raise errors.HtmlBodyTooLarge(
            f"the body has {size} bytes; a body carrying article.html may have at most "
            f"{settings.max_html_body_bytes} (COPYDESK_MAX_HTML_BODY_BYTES)",
            bytes=size,
            limit=settings.max_html_body_bytes,
        )
    if not is_html and size > settings.max_body_bytes:
        raise errors.BodyTooLarge(
            f"the body has {size} bytes; a body carrying article.text may have at most "
            f"{settings.max_body_bytes} (COPYDESK_MAX_BODY_BYTES; send a page as article.html)",
            bytes=size,
            limit=settings.max_body_bytes,
        )
    check_html_page(article, settings)


def check_html_page(article: Any, settings: Settings) -> None:
    """Refuse a page over COPYDESK_MAX_HTML_CHARS or COPYDESK_MAX_HTML_TAGS now, rather than
    fail its job later."""
    html = article.get("html") if isinstance(article, dict) else None
    if isinstance(html, str):
        check_page(html, max_chars=settings.max_html_chars, max_tags=settings.max_html_tags)


def job_ceiling(settings: Settings) -> int:
    """The most bytes a job's body may have before it is parsed: the larger of its limits."""
    return max(settings.max_body_bytes, settings.max_html_body_bytes)


def _content_encoding(request: Request) -> str:
    encoding = (request.headers.get("Content-Encoding") or "").strip().lower()
    if encoding in IDENTITY or encoding in GZIP:
        return encoding
    raise errors.UnsupportedContentEncoding(
        f"Content-Encoding {encoding[:50]!r} is not supported; send the body as is or gzip it"
    )


def _too_large(ceiling: int) -> errors.CopydeskError:
    return errors.BodyTooLarge(
        f"the body exceeds the limit of {ceiling} bytes, the largest this route accepts",
        limit=ceiling,
    )
