"""Live events over SSE, batches and priorities: through the real intake, Redis and worker."""

from __future__ import annotations

import json
import threading

from copydesk.core.names import queue_key
from copydesk.devstack.waiting import wait_for

TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}


def _submit(client, body: dict) -> dict:  # noqa: ANN001
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()


def _events(response) -> list[dict]:  # noqa: ANN001
    """Parse an SSE body into events (id, event, data)."""
    events = []
    for block in response.get_data(as_text=True).split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":"
        )
        if "event" in fields:
            events.append({**fields, "data": json.loads(fields["data"])})
    return events


def test_a_finished_jobs_events_replay_from_the_start_and_end(client, start_worker) -> None:  # noqa: ANN001
    start_worker()
    job = _submit(client, {"article": {"text": "Shares rose sharply after the report."}})
    wait_for(lambda: client.get(f"/v1/jobs/{job['id']}").get_json()["status"] in TERMINAL)
    response = client.get(f"/v1/jobs/{job['id']}/events")
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = _events(response)
    kinds = [event["event"] for event in events]
    assert kinds[0] == "job.queued" and kinds[-1] == "job.succeeded"
    assert "job.running" in kinds
    results = {
        e["data"]["analysis"]: e["data"]["result"]
        for e in events
        if e["event"] == "analysis.completed"
    }
    assert set(results) == {"summary", "sentiment", "topics"}
    assert all(result["status"] == "succeeded" for result in results.values())
    resumed = _events(
        client.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": events[1]["id"]})
    )
    assert [e["id"] for e in resumed] == [e["id"] for e in events[2:]]
    bad = client.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": "x; DROP"})
    assert bad.status_code == 422


def test_a_live_stream_carries_each_result_as_it_arrives(client, start_worker) -> None:  # noqa: ANN001
    job = _submit(client, {"article": {"text": "The storm closed three ports."}})
    received: list[dict] = []

    def listen() -> None:
        received.extend(_events(client.get(f"/v1/jobs/{job['id']}/events")))

    listener = threading.Thread(target=listen)
    listener.start()
    start_worker()  # the job runs only now, while the stream is open
    listener.join(timeout=60)
    assert not listener.is_alive()
    kinds = [event["event"] for event in received]
    assert kinds[0] == "job.queued" and kinds[-1] == "job.succeeded"
    assert kinds.count("analysis.completed") == 3


def test_a_batch_is_normal_jobs_at_low_priority(client, redis_client, start_worker) -> None:  # noqa: ANN001
    jobs = [{"article": {"text": f"Story number {i} about the port."}} for i in range(5)]
    jobs[4]["priority"] = "high"
    response = client.post("/v1/batches", json={"jobs": jobs})
    assert response.status_code == 202
    batch = response.get_json()
    assert response.headers["Location"] == f"/v1/batches/{batch['id']}"
    assert batch["total"] == 5 and batch["counts"]["queued"] == 5 and batch["status"] == "running"
    assert redis_client.llen(queue_key("prepare", "low")) == 4
    assert redis_client.llen(queue_key("prepare", "high")) == 1
    first = client.get(f"/v1/jobs/{batch['jobs'][0]}").get_json()
    assert first["priority"] == "low" and first["batch"] == batch["id"]
    start_worker()
    done = wait_for(
        lambda: (
            (b := client.get(f"/v1/batches/{batch['id']}").get_json())["status"] == "completed"
            and b
        ),
        timeout=60,
    )
    assert done["counts"]["succeeded"] == 5


def test_batch_limits_validation_and_idempotency(client, settings, make_client) -> None:  # noqa: ANN001
    small = make_client(settings.model_copy(update={"max_batch_jobs": 3}))
    four = {"jobs": [{"article": {"text": "x"}}] * 4}
    too_many = small.post("/v1/batches", json=four)
    assert too_many.status_code == 413 and too_many.get_json()["code"] == "batch_too_large"
    invalid = client.post(
        "/v1/batches", json={"jobs": [{"article": {"text": "ok"}}, {"article": {}}]}
    )
    assert invalid.status_code == 422
    assert invalid.get_json()["errors"][0]["field"].startswith("jobs.1.article")
    assert client.post("/v1/batches", json={"jobs": []}).status_code == 422
    body = {"jobs": [{"article": {"text": "Once only."}}]}
    first = client.post("/v1/batches", json=body, headers={"Idempotency-Key": "b-1"})
    again = client.post("/v1/batches", json=body, headers={"Idempotency-Key": "b-1"})
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    other = client.post(
        "/v1/batches",
        json={"jobs": [{"article": {"text": "Else."}}]},
        headers={"Idempotency-Key": "b-1"},
    )
    assert other.status_code == 409 and other.get_json()["code"] == "idempotency_key_reused"


def test_an_idempotency_key_still_in_flight_is_409(client, store) -> None:  # noqa: ANN001
    claim = store.idempotency_key("public", "b-2")
    store.redis.set(claim, "processing abc", ex=60)  # another request is writing its batch
    response = client.post(
        "/v1/batches",
        json={"jobs": [{"article": {"text": "x"}}]},
        headers={"Idempotency-Key": "b-2"},
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "idempotency_key_in_flight"
    assert response.headers["Retry-After"]


def test_an_unknown_or_foreign_batch_is_404(client) -> None:  # noqa: ANN001
    for batch_id in ("0" * 32, "nope", "0" * 32 + ":x"):
        response = client.get(f"/v1/batches/{batch_id}")
        assert response.status_code == 404 and response.get_json()["code"] == "batch_not_found"
