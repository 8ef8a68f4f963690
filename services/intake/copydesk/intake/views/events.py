"""Serve a job's events as Server-Sent Events, read from the job's Redis stream.

Each event leaves as Redis gets it: the view returns a generator that the server writes event
by event (``openapi.documented`` never reads a response). An open stream is a thread waiting on
a Redis connection with the GIL released; one process holds up to COPYDESK_SSE_MAX_STREAMS of
them (503 ``too_many_streams`` past that), and gunicorn gives each process that many threads
besides the API's own COPYDESK_HTTP_THREADS (``gunicorn_conf``), so streams never crowd out
the rest of the API.

A stream never waits on Redis longer than COPYDESK_SSE_KEEPALIVE_SECONDS, nor longer than
half the client's socket timeout (a blocking read that outlasts it fails as a timeout), and
sends a keep-alive comment whenever it has been silent that long. It reads the job's status
before each read of the stream: the status and its event are written in one script, so a job
that had ended before a read has its terminal event in the stream, and a read that finds
nothing after it ends the stream at once (a client resuming after the terminal event).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from flask import Blueprint, Response, current_app, request

from copydesk.core import errors
from copydesk.core.api_models import EVENT_ID, EventHeaders, EventQuery, JobEvent
from copydesk.core.names import JOB_STATUSES, is_terminal
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.common import bad_arg, load, service
from copydesk.store.jobs import RedisJobStore

bp = Blueprint("events", __name__)
TERMINAL_EVENTS = {f"job.{status}" for status in JOB_STATUSES if is_terminal(status)}
RETRY_MS = 2000  # how long a client waits before it reconnects (the stream's `retry` field)


@bp.get("/v1/jobs/<job_id>/events")
@documented(
    headers=EventHeaders,
    query=EventQuery,
    resp=responses({200: None}, 404, 410, 422, media="text/event-stream", events=JobEvent),
    tags=["jobs"],
)
def job_events(job_id: str) -> Response:
    """Stream the job's events (Server-Sent Events): each status change and analysis result.

    From the job's start (or after ``Last-Event-ID``), ending after the terminal state; a
    client that resumes after the terminal event gets an empty stream at once. An idle stream
    carries a keep-alive comment every COPYDESK_SSE_KEEPALIVE_SECONDS. A stream lasts at most
    COPYDESK_SSE_MAX_SECONDS; the client then reconnects with Last-Event-ID and loses
    nothing. Each intake process holds at most COPYDESK_SSE_MAX_STREAMS streams: past that,
    503 ``too_many_streams`` with Retry-After."""
    job = load(job_id)
    header, query = request.headers.get("Last-Event-ID"), request.args.get("last_event_id")
    for name, given in (("Last-Event-ID", header), ("last_event_id", query)):
        if given not in (None, "", "0") and not EVENT_ID.fullmatch(given):
            raise bad_arg(name, "not an event id this API gave out")  # both, if both are sent
    settings = service().settings
    return event_stream(
        follow(
            service().store,
            job["id"],
            after=header or query or "0",
            until=time.monotonic() + settings.sse_max_seconds,
            keepalive=settings.sse_keepalive_seconds,
        )
    )


def follow(
    store: RedisJobStore, job_id: str, *, after: str, until: float, keepalive: float
) -> Iterator[str]:
    """Yield the job's events after the entry ``after`` as SSE text, then end after the
    terminal one (or at ``until``, a monotonic time), with a keep-alive comment whenever
    ``keepalive`` seconds pass without one."""
    stream, cursor = store.job_key(job_id) + ":stream", after
    longest = longest_wait(store.redis, keepalive)
    yield f"retry: {RETRY_MS}\n\n"
    quiet_until = time.monotonic() + keepalive
    while (now := time.monotonic()) < until:
        status = store.statuses([job_id])[0]
        ended = status is None or is_terminal(status)
        block = (
            None if ended else max(1, int(1000 * (min(quiet_until, until, now + longest) - now)))
        )
        found = store.redis.xread({stream: cursor}, block=block, count=100)
        for entry_id, fields in found[0][1] if found else ():
            cursor = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            event = json.loads(fields[b"event"])
            if event["type"] == "analysis.completed":
                current = store.get(job_id) or {"results": {}}
                event["result"] = current["results"].get(event["analysis"])
            data = json.dumps(event, ensure_ascii=False)
            yield f"id: {cursor}\nevent: {event['type']}\ndata: {data}\n\n"
            if event["type"] in TERMINAL_EVENTS:
                return
        if found:
            quiet_until = time.monotonic() + keepalive
        elif ended:
            return  # its terminal event came before ``after``: nothing more will come
        elif time.monotonic() >= quiet_until:
            yield ": keep-alive\n\n"
            quiet_until = time.monotonic() + keepalive


def longest_wait(client: redis.Redis, keepalive: float) -> float:
    """The longest one blocking read may wait: the keep-alive interval, and at most half the
    client's socket timeout (a read blocked past it fails with a timeout error)."""
    timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
    return min(keepalive, timeout / 2) if timeout else keepalive


class StreamSlots:
    """The event streams one intake process may hold at once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = threading.BoundedSemaphore(size)

    def take(self) -> Callable[[], None]:
        """Take a slot and return what gives it back; 503 too_many_streams when none is free."""
        if not self._free.acquire(blocking=False):
            raise errors.TooManyStreams(
                f"this intake process already serves {self.size} event streams "
                "(COPYDESK_SSE_MAX_STREAMS); retry later, or poll GET /v1/jobs/{id}"
            )
        return self._free.release


def event_stream(events: Iterator[str]) -> Response:
    """Send ``events`` (SSE text) as the server writes them, holding one of the process's
    stream slots until it closes the response, however the stream ends; 503
    too_many_streams when none is free. Neither a cache nor a proxy may hold them back."""
    release = _slots().take()
    try:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        response = Response(events, mimetype="text/event-stream", headers=headers)
    except BaseException:
        release()
        raise
    response.call_on_close(release)
    return response


_SLOTS_MADE = threading.Lock()


def _slots() -> StreamSlots:
    """The process's stream slots, made once: two first streams arriving together on two
    threads must not each make a counter (the process would then hold more than its bound)."""
    extensions: dict[str, Any] = current_app.extensions
    with _SLOTS_MADE:
        if "copydesk.streams" not in extensions:
            extensions["copydesk.streams"] = StreamSlots(service().settings.sse_max_streams)
        return extensions["copydesk.streams"]
