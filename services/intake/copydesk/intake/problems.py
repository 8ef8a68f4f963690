"""Turn every error into an RFC 9457 ``application/problem+json`` response.

One place maps exceptions to status and stable ``code``: copydesk's own errors carry theirs,
pydantic validation errors become 422 naming the field, and Werkzeug's HTTP errors (404, 405,
413, ...) are translated so that no client ever sees an HTML error page.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, Response, current_app, json, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from copydesk.core import errors

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

_HTTP_ERRORS: dict[int, type[errors.CopydeskError]] = {
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    413: errors.BodyTooLarge,
    415: errors.UnsupportedMediaType,
    429: errors.RateLimited,  # flask-limiter's; its description names the limit
}


def problem_response(error: errors.CopydeskError, **headers: str) -> Response:
    if error.status == 413:
        _drain_body(limit=8 * current_app.config["MAX_CONTENT_LENGTH"])
    body = json.dumps(error.to_problem(instance=request.path))
    response = Response(body, status=error.status, mimetype=PROBLEM_JSON)
    response.headers.update(headers)
    return response


def from_validation_error(exc: ValidationError) -> errors.CopydeskError:
    """Build a 422 problem that names each offending field (``article.text``, ...).

    Its code names the answer as a whole: ``unknown_analysis`` only when that is all that is
    wrong, else ``validation_failed`` (each error still carries its own ``type``), so a body
    missing ``article.text`` is never answered with the code of another field's error.
    """
    issues = [
        {
            "field": ".".join(str(part) for part in issue["loc"]) or "(body)",
            "message": issue["msg"],
            "type": issue["type"],
        }
        for issue in exc.errors(include_url=False, include_input=False)
    ]
    first = issues[0]
    detail = f"{first['field']}: {first['message']}"
    if all(issue["type"] == "unknown_analysis" for issue in issues):
        return errors.UnknownAnalysis(detail, errors=issues)
    return errors.ValidationFailed(detail, errors=issues)


def _drain_body(*, limit: int) -> None:
    """Read and drop an oversized body (up to ``limit`` bytes) before answering 413.

    The server keeps the connection alive after the answer, but drains at most 64 KB of an
    unread body and otherwise closes it silently, so the client's next request on that
    connection would fail. Reading the rest here keeps the connection usable; a body past
    ``limit`` is not read, and that connection closes.
    """
    stream, length = request.environ.get("wsgi.input"), request.content_length
    if stream is None or length is None or length > limit:
        return
    while length > 0:
        chunk = stream.read(min(length, 1 << 16))
        if not chunk:
            return
        length -= len(chunk)


def register(app: Flask) -> None:
    @app.errorhandler(errors.CopydeskError)
    def _copydesk_error(exc: errors.CopydeskError) -> Response:
        headers: dict[str, Any] = {}
        if exc.retryable:
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, errors.Unauthorized):
            headers["WWW-Authenticate"] = 'Bearer realm="copydesk"'
        if isinstance(exc, errors.UnsupportedContentEncoding):
            headers["Accept-Encoding"] = "gzip"  # RFC 9110 §12.5.3: the codings accepted
        return problem_response(exc, **headers)

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError) -> Response:
        return problem_response(from_validation_error(exc))

    @app.errorhandler(redis.RedisError)
    def _redis_error(exc: redis.RedisError) -> Response:
        if isinstance(exc, redis.exceptions.OutOfMemoryError):  # past maxmemory (noeviction)
            log.warning("Redis is full on %s %s: %s", request.method, request.path, exc)
            error: errors.CopydeskError = errors.StoreFull(
                "the job store is full; new jobs are accepted again as stored ones expire"
            )
        else:
            log.warning("Redis unavailable on %s %s: %s", request.method, request.path, exc)
            error = errors.ServiceUnavailable("the job store is unavailable; retry later")
        return problem_response(error, **{"Retry-After": str(error.retry_after)})

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        kind = _HTTP_ERRORS.get(status)
        if kind is errors.BodyTooLarge:
            limit = request.max_content_length or app.config["MAX_CONTENT_LENGTH"]
            error: errors.CopydeskError = kind(f"the body exceeds the limit of {limit} bytes")
        elif kind is errors.RateLimited:
            error = kind(f"this tenant's rate limit ({exc.description}) is spent; see Retry-After")
        elif kind is not None:
            error = kind(exc.description or kind.title)
        else:
            error = errors.OtherHTTPError(
                exc.description or exc.name, status=status, title=exc.name
            )
        response = problem_response(error)
        allow = exc.get_response().headers.get("Allow") if status == 405 else None
        if allow:
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(errors.CopydeskError("an unexpected error occurred"))
