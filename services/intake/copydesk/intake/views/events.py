"""Serve a job's events as Server-Sent Events, read from the job's Redis stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from flask import Blueprint, Response, request

from copydesk.core.api_models import EVENT_ID, EventHeaders, EventQuery, JobEvent
from copydesk.core.names import JOB_STATUSES, is_terminal
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.common import bad_arg, load, service

bp = Blueprint("events", __name__)
TERMINAL_EVENTS = {f"job.{status}" for status in JOB_STATUSES if is_terminal(status)}


@bp.get("/v1/jobs/<job_id>/events")
@documented(
    headers=EventHeaders,
    query=EventQuery,
    resp=responses({200: None}, 404, 410, 422, media="text/event-stream", events=JobEvent),
    tags=["jobs"],
)
def job_events(job_id: str) -> Response:
    """Stream the job's events (Server-Sent Events): each status change and analysis result.

    From the job's start (or after ``Last-Event-ID``), ending after the terminal state. A
    stream lasts at most COPYDESK_SSE_MAX_SECONDS; the client reconnects with Last-Event-ID
    and loses nothing."""
    job = load(job_id)
    store = service().store
    header, query = request.headers.get("Last-Event-ID"), request.args.get("last_event_id")
    for name, given in (("Last-Event-ID", header), ("last_event_id", query)):
        if given not in (None, "", "0") and not EVENT_ID.fullmatch(given):
            raise bad_arg(name, "not an event id this API gave out")  # both, if both are sent
    last = header or query or "0"
    stream_key = store.job_key(job["id"]) + ":stream"
    until = time.monotonic() + service().settings.sse_max_seconds

    def events() -> Iterator[str]:
        cursor = last
        yield "retry: 2000\n\n"
        while time.monotonic() < until:
            block = int(max(1, min(15, until - time.monotonic())) * 1000)
            found = store.redis.xread({stream_key: cursor}, block=block, count=100)
            if not found:
                current = store.get(job["id"])
                if current is None or is_terminal(current["status"]):
                    return  # nothing more will come (the terminal event was sent before)
                yield ": keep-alive\n\n"
                continue
            for entry_id, fields in found[0][1]:
                cursor = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                event = json.loads(fields[b"event"])
                if event["type"] == "analysis.completed":
                    current = store.get(job["id"]) or {"results": {}}
                    event["result"] = current["results"].get(event["analysis"])
                data = json.dumps(event, ensure_ascii=False)
                yield f"id: {cursor}\nevent: {event['type']}\ndata: {data}\n\n"
                if event["type"] in TERMINAL_EVENTS:
                    return

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(events(), mimetype="text/event-stream", headers=headers)
