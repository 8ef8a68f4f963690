"""The events view against real Redis, read chunk by chunk as a server would write it.

No worker runs here, so a submitted job stays queued: its stream has its first event and then
nothing, which is what liveness, keep-alives and the bound need. tests/e2e/test_live_events.py
holds the same properties through gunicorn.
"""

from __future__ import annotations

import json


ARTICLE = {"article": {"text": "The port reopened after the storm passed."}}


def _queued(client) -> str:  # noqa: ANN001
    response = client.post("/v1/jobs", json=ARTICLE)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def test_a_stream_gives_its_first_event_while_the_job_waits(client) -> None:  # noqa: ANN001
    """The view's answer is not read whole before it leaves (spectree's wrapper did that,
    so nothing left until the job ended)."""
    job_id = _queued(client)
    response = client.get(f"/v1/jobs/{job_id}/events", buffered=False)
    try:
        assert response.status_code == 200 and response.mimetype == "text/event-stream"
        chunks = iter(response.response)
        assert next(chunks) == b"retry: 2000\n\n"
        first = next(chunks).decode()
    finally:
        response.close()
    assert "event: job.queued\n" in first


def test_an_idle_stream_sends_keep_alive_comments(settings, make_client) -> None:  # noqa: ANN001
    client = make_client(settings.model_copy(update={"sse_keepalive_seconds": 0.2}))
    job_id = _queued(client)
    response = client.get(f"/v1/jobs/{job_id}/events", buffered=False)
    try:
        chunks = iter(response.response)
        seen = [next(chunks) for _ in range(5)]
    finally:
        response.close()
    assert seen[2:] == [b": keep-alive\n\n"] * 3


def test_after_the_terminal_event_a_stream_is_empty(client) -> None:  # noqa: ANN001
    job_id = _queued(client)
    assert client.post(f"/v1/jobs/{job_id}/cancel").status_code in (200, 202)
    whole = client.get(f"/v1/jobs/{job_id}/events").get_data(as_text=True)
    last = [line[4:] for line in whole.splitlines() if line.startswith("id: ")][-1]
    assert "event: job.cancelled" in whole
    resumed = client.get(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": last})
    assert resumed.get_data(as_text=True) == "retry: 2000\n\n"


def test_past_the_bound_a_stream_is_503_too_many_streams(settings, make_client) -> None:  # noqa: ANN001
    client = make_client(settings.model_copy(update={"sse_max_streams": 1}))
    job_id = _queued(client)
    held = client.get(f"/v1/jobs/{job_id}/events", buffered=False)
    refused = client.get(f"/v1/jobs/{job_id}/events")
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert refused.mimetype == "application/problem+json"
    assert json.loads(refused.get_data())["code"] == "too_many_streams"
    held.close()  # its place comes back
    again = client.get(f"/v1/jobs/{job_id}/events", buffered=False)
    assert again.status_code == 200
    again.close()
