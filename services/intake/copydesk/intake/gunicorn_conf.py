"""gunicorn settings for the intake: ``gunicorn -c python:copydesk.intake.gunicorn_conf ...``.

- Threaded workers (``worker_class``, ``threads``): each process answers with
  COPYDESK_HTTP_THREADS threads plus one per event stream it may hold open
  (COPYDESK_SSE_MAX_STREAMS, enforced by ``views/events.py`` with 503 too_many_streams), so
  open streams never take the threads the API answers with. A stream's thread waits on Redis
  with the GIL released. gevent workers did the same with greenlets, but under load their tail
  latency was several times the threads': POST /v1/jobs p99 115-385 ms against 45-100 ms for
  threads, at the same rate, in the same runs (bench/throughput.py's wrk load). Threads the
  pool never needs are never started. Requests with a body take turns
  (``post_worker_init``): at most COPYDESK_HTTP_BODIES_PER_PROCESS of them run at once in a
  process and the rest wait before their body is read, so the memory bodies take stays
  bounded however many threads the process has.
- gunicorn answers requests it cannot parse (a request line over ``limit_request_line``, bad
  headers) itself, before Flask sees them, with an HTML page. Each worker, once forked
  (``post_fork``), swaps gunicorn's error writer for one that answers with an RFC 9457
  problem instead, like every other error of the API. Importing this module changes nothing.
- gunicorn's own limits (``limit_request_line``, ``limit_request_fields``,
  ``limit_request_field_size``) bound the request line and headers only; it sets none on the
  body, whose limits (text, HTML, gzip inflation) the app enforces as it reads it.
- It refuses to start on a non-loopback address without API keys (unless
  COPYDESK_ALLOW_OPEN_ACCESS), whatever COPYDESK_HTTP_HOST says: the check is on the
  addresses gunicorn actually binds.
- No control socket. gunicorn 25+ opens one for ``gunicornc`` at a path per user
  ($XDG_RUNTIME_DIR/gunicorn.ctl or $HOME/.gunicorn/gunicorn.ctl), so every stack on a host
  would share it and each new one would take it from the last. copydesk never uses it; the
  arbiter is driven by signals (Ctrl-C, SIGTERM, SIGHUP) as before.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn import util

control_socket_disable = True  # gunicorn settings: see the module's docstring
worker_class = "gthread"


def _threads() -> int:
    from copydesk.core.settings import get_settings

    settings = get_settings()
    return settings.http_threads + settings.sse_max_streams


threads = _threads()

CODES = {400: "bad_request", 414: "uri_too_long", 431: "headers_too_large", 501: "not_implemented"}


def write_problem(sock, status_int: int, reason: str, mesg: str) -> None:  # noqa: ANN001
    code = CODES.get(status_int, f"http_{status_int}")
    body = json.dumps(
        {
            "type": "urn:copydesk:problem:" + code.replace("_", "-"),
            "title": reason,
            "status": status_int,
            "detail": mesg[:300] or reason,
            "code": code,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin1") + body)


def answer_bad_requests_with_problems() -> None:
    """Make gunicorn write :func:`write_problem` where it would write its HTML error page."""
    util.write_error = write_problem


def post_fork(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook
    answer_bad_requests_with_problems()  # in the worker, the process that parses requests


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's hook
    """Give requests with a body turns, in the worker that reads them."""
    from copydesk.core.settings import get_settings

    worker.wsgi = BodyTurns(worker.wsgi, size=get_settings().http_bodies_per_process)


class BodyTurns:
    """WSGI middleware: at most ``size`` requests with a body run at once; the others wait
    before the app reads a byte of theirs (a request without a body, an event stream
    included, never waits)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, size: int) -> None:
        self.app = app
        self.turns = threading.BoundedSemaphore(size)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not has_body(environ):
            return self.app(environ, start_response)
        with self.turns:  # the app has read the body, and built its answer, when it returns
            return self.app(environ, start_response)


def has_body(environ: dict[str, Any]) -> bool:
    length = environ.get("CONTENT_LENGTH") or "0"
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked or not length.isdigit() or int(length) > 0


LOOPBACK = ("127.", "[::1]", "::1", "localhost", "unix:")


def on_starting(server) -> None:  # noqa: ANN001 - gunicorn's hook
    from copydesk.core.settings import get_settings

    _fresh_metrics_dir()
    settings = get_settings()
    exposed = [str(b) for b in server.cfg.bind if not str(b).startswith(LOOPBACK)]
    if exposed and settings.api_keys is None and not settings.allow_open_access:
        raise SystemExit(
            f"copydesk: refusing to serve on {', '.join(exposed)} without API keys: set "
            "COPYDESK_API_KEYS (or COPYDESK_ALLOW_OPEN_ACCESS=true behind your own gateway)"
        )


def _fresh_metrics_dir() -> None:
    """prometheus-client's multiprocess mode keeps one file per worker process: start empty."""
    import os
    import shutil

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
