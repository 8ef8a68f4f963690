"""Webhook delivery through a real dispatcher and real Redis to real local receivers.

The schedule is compressed (fractions of a second instead of minutes); what is tested is the
order of things: attempts, waits, outcomes, the log, redelivery and refusals.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from copydesk.core.settings import Settings
from copydesk.core.ids import now_rfc3339
from copydesk.store.base import DUE
from copydesk.store.jobs import RedisJobStore
from copydesk.devstack.receiver import Receiver
from copydesk.devstack.redis_server import free_port
from copydesk.devstack.waiting import wait_for

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_retry_delays": [0.2, 0.2]})


@pytest.fixture
def dispatch(redis_client) -> Iterator[Callable[[Settings], object]]:  # noqa: ANN001
    """Run real dispatchers on threads for the given settings; stopped after the test."""
    from copydesk.deliver.dispatcher import Dispatcher

    running: list[tuple[Dispatcher, threading.Thread]] = []

    def start(settings: Settings) -> Dispatcher:
        dispatcher = Dispatcher(settings)
        thread = threading.Thread(target=dispatcher.run, daemon=True)
        thread.start()
        running.append((dispatcher, thread))
        return dispatcher

    yield start
    for dispatcher, thread in running:
        dispatcher.stop()
        thread.join(timeout=20)
        dispatcher.store.redis.close()


def _job(store: RedisJobStore, job_id: str, url: str, *, secret: str | None = SECRET) -> None:
    """Store a job with a webhook and end it: its webhook becomes due in the same step."""
    from conftest import SECRETS_KEY

    from copydesk.core.secrets import SecretBox

    sealed = SecretBox(SECRETS_KEY).seal(secret) if secret else None
    webhook = {"url": url, **({"secret": sealed} if sealed else {})}
    record = {
        "id": job_id,
        "created_at": now_rfc3339(),
        "analyses": ["sentiment"],
        "options": {"sentiment": {}},
        "article": {"title": None, "characters": 9},
        "webhook": webhook,
        "base_url": "http://127.0.0.1:8000",
    }
    store.create(job_id=job_id, record=record, article={"text": "Hi there."})
    store.record_result(
        job_id, "sentiment", {"status": "succeeded", "label": "neutral", "score": 0.0}
    )


def _state(store: RedisJobStore, job_id: str, state: str, timeout: float = 30) -> dict:
    return wait_for(
        lambda: (job := store.get(job_id)) and job["webhook_state"] == state and job,
        timeout=timeout,
        every=0.05,
    )


def test_ending_a_job_makes_its_webhook_due_in_the_same_step(store, redis_client) -> None:  # noqa: ANN001
    _job(store, "w0", "http://127.0.0.1:9/h")
    assert redis_client.zscore(DUE, "w0") is not None
    job = store.get("w0")
    assert (job["webhook_state"], job["webhook_attempts"]) == ("pending", 0)
    assert job["webhook_next_at"] is not None


def test_signed_event_reaches_a_local_receiver(dispatch, settings, store, receiver) -> None:  # noqa: ANN001
    _job(store, "w1", receiver.url)
    dispatch(settings)
    job = _state(store, "w1", "delivered")
    assert job["webhook_next_at"] is None and job["webhook_error"] is None
    [(_, headers, body)] = receiver.requests
    event = Webhook(SECRET).verify(body, headers)
    assert event["type"] == "job.succeeded"
    assert event["data"]["job_id"] == "w1"
    assert event["data"]["job_url"] == "http://127.0.0.1:8000/v1/jobs/w1"
    assert event["data"]["job"]["results"]["sentiment"]["label"] == "neutral"
    assert "secret" not in json.dumps(event)
    with pytest.raises(Exception):
        Webhook("whsec_" + "B" * 32).verify(body, headers)
    [entry] = store.deliveries("w1")
    assert entry["status"] == 204 and entry["attempt"] == 1 and entry["error"] is None
    assert entry["delivery_id"] == headers["webhook-id"] == "msg_w1_job.succeeded"
    assert store.redis.zscore(DUE, "w1") is None


def test_failed_attempts_follow_the_schedule_with_the_same_webhook_id(
    dispatch, fast, store
) -> None:  # noqa: ANN001
    with Receiver(statuses=[503, 500]) as flaky:
        _job(store, "w2", flaky.url)
        dispatch(fast)
        _state(store, "w2", "delivered")
        times = [at for at, _, _ in flaky.requests]
    assert len(set(flaky.ids())) == 1 and len(flaky.ids()) == 3  # receivers can dedupe
    assert all(b - a >= 0.19 for a, b in zip(times, times[1:], strict=False))
    log = store.deliveries("w2")
    assert [(e["attempt"], e["status"]) for e in log] == [(1, 503), (2, 500), (3, 204)]


def test_every_attempt_and_a_redelivery_of_one_webhook_id_carry_the_same_bytes(
    dispatch, fast, store
) -> None:  # noqa: ANN001
    """Standard Webhooks: the webhook-id is the message's idempotency key, so a receiver that
    refused an attempt, or asked for a redelivery, gets the very body it would have kept."""
    with Receiver(statuses=[503]) as flaky:
        _job(store, "w13", flaky.url)
        dispatch(fast)
        _state(store, "w13", "delivered")
        assert store.redeliver("w13", url=flaky.url) == "pending"  # what the endpoint does
        wait_for(lambda: len(flaky.requests) == 3, timeout=30)
        _state(store, "w13", "delivered")
    assert flaky.ids() == ["msg_w13_job.succeeded"] * 3
    refused, retried, redelivered = (body for _, _, body in flaky.requests)
    assert refused == retried == redelivered
    event = json.loads(refused)
    assert event["timestamp"] == store.get("w13")["completed_at"]  # when it happened
    assert "webhook" not in event["data"]["job"]  # no delivery state inside the delivery
    for _, headers, body in flaky.requests:  # each attempt signed anew, at its own time
        assert Webhook(SECRET).verify(body, headers)["type"] == "job.succeeded"


def test_a_batch_event_keeps_its_bytes_while_its_jobs_expire(
    dispatch, settings, store, client
) -> None:  # noqa: ANN001
    jobs = [{"article": {"text": f"Story {i}."}, "analyses": ["sentiment"]} for i in range(2)]
    with Receiver(statuses=[503]) as flaky:
        body = {"jobs": jobs, "webhook": {"url": flaky.url, "secret": SECRET}}
        batch = client.post("/v1/batches", json=body).get_json()
        for job_id in batch["jobs"]:
            store.record_result(job_id, "sentiment", {"status": "succeeded"})
        dispatch(settings.model_copy(update={"webhook_retry_delays": [1.0]}))
        wait_for(lambda: len(flaky.requests) == 1, timeout=30)
        store.redis.delete(store.job_key(batch["jobs"][0]))  # expired between the attempts
        wait_for(lambda: len(flaky.requests) == 2, timeout=30)
    first, second = (payload for _, _, payload in flaky.requests)
    assert first == second
    assert json.loads(first)["data"]["batch"]["counts"]["succeeded"] == 2


def test_the_kept_body_is_compressed_and_lives_no_longer_than_its_job(
    dispatch, settings, store, receiver
) -> None:  # noqa: ANN001
    _job(store, "w14", receiver.url)
    dispatch(settings)
    _state(store, "w14", "delivered")
    [(_, _, body)] = receiver.requests
    key = store.webhook_body_key("w14")
    assert zlib.decompress(store.redis.get(key)) == body
    assert 0 < store.redis.ttl(key) <= store.redis.ttl(store.job_key("w14"))


def test_a_pending_webhook_shows_when_it_is_tried_next_and_why(dispatch, settings, store) -> None:  # noqa: ANN001
    slow = settings.model_copy(update={"webhook_retry_delays": [3600]})
    with Receiver(statuses=[500]) as failing:
        _job(store, "w4", failing.url)
        dispatch(slow)
        job = wait_for(lambda: (j := store.get("w4"))["webhook_attempts"] == 1 and j, timeout=30)
    assert job["webhook_state"] == "pending" and job["webhook_error"] == "HTTP 500"
    next_at = store.redis.zscore(DUE, "w4")
    assert 3500 < next_at - store.server_time() <= 3600
    assert job["webhook_next_at"].startswith(time.strftime("%Y-%m-%dT", time.gmtime(next_at)))


def test_a_webhook_fails_with_its_reason_once_the_schedule_is_spent(dispatch, fast, store) -> None:  # noqa: ANN001
    with Receiver(statuses=[500, 502, 500]) as failing:
        _job(store, "w5", failing.url)
        dispatch(fast)
        job = _state(store, "w5", "failed")
    assert job["webhook_error"] == "HTTP 500 (after 3 attempts)"
    assert len(failing.requests) == 3 and store.redis.zscore(DUE, "w5") is None


def test_retry_after_lengthens_the_wait(dispatch, fast, store) -> None:  # noqa: ANN001
    with Receiver(statuses=[(429, {"Retry-After": "2"})]) as limited:
        _job(store, "w6", limited.url)
        dispatch(fast)
        _state(store, "w6", "delivered")
        first, second = (at for at, _, _ in limited.requests)
    assert second - first >= 1.9  # not the schedule's 0.2 s


def test_a_410_stops_deliveries_to_that_url_until_a_redelivery(dispatch, fast, store) -> None:  # noqa: ANN001
    with Receiver(statuses=[410]) as gone:
        _job(store, "w7", gone.url)
        dispatch(fast)
        first = _state(store, "w7", "failed")
        assert "410 Gone" in first["webhook_error"] and len(gone.requests) == 1
        _job(store, "w8", gone.url)
        second = _state(store, "w8", "failed")
        assert "earlier delivery" in second["webhook_error"] and len(gone.requests) == 1
    assert store.redeliver("w8", url=gone.url) == "pending"  # what the endpoint does
    with Receiver(port=int(gone.url.split(":")[2].split("/")[0])) as back:
        _state(store, "w8", "delivered")
        assert back.ids() == ["msg_w8_job.succeeded"]


def test_redeliver_sends_the_same_event_again_over_the_api(
    dispatch, settings, store, client, receiver
) -> None:  # noqa: ANN001
    body = {"article": {"text": "Some text."}, "webhook": {"url": receiver.url}}
    response = client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
    job_id = response.get_json()["id"]
    listed = client.get(f"/v1/jobs/{job_id}/deliveries").get_json()
    assert listed["delivery_id"] is None and listed["attempts"] == []
    early = client.post(f"/v1/jobs/{job_id}/deliveries/msg_{job_id}_job.succeeded/redeliver")
    assert early.status_code == 409 and early.get_json()["code"] == "job_not_finished"
    store.record_result(job_id, "summary", {"status": "succeeded"})
    store.record_result(job_id, "sentiment", {"status": "succeeded"})
    store.record_result(job_id, "topics", {"status": "succeeded"})
    dispatch(settings)
    _state(store, job_id, "delivered")
    listed = client.get(f"/v1/jobs/{job_id}/deliveries").get_json()
    delivery = listed["delivery_id"]
    assert delivery == f"msg_{job_id}_job.succeeded" and listed["webhook"]["state"] == "delivered"
    wrong = client.post(f"/v1/jobs/{job_id}/deliveries/msg_other/redeliver")
    assert wrong.status_code == 404 and wrong.get_json()["code"] == "delivery_not_found"
    again = client.post(f"/v1/jobs/{job_id}/deliveries/{delivery}/redeliver")
    assert again.status_code == 202 and again.get_json()["webhook"]["state"] in (
        "pending",
        "delivered",
    )
    wait_for(lambda: len(receiver.requests) == 2, timeout=30)
    _state(store, job_id, "delivered")
    assert receiver.ids() == [delivery, delivery]
    attempts = client.get(f"/v1/jobs/{job_id}/deliveries").get_json()["attempts"]
    assert [a["status"] for a in attempts] == [204, 204]


def test_a_secret_that_cannot_sign_fails_the_webhook_with_a_reason(
    dispatch, settings, store, receiver
) -> None:  # noqa: ANN001
    _job(store, "w9", receiver.url, secret="whsec_not-base64!!")
    dispatch(settings)
    job = _state(store, "w9", "failed")
    assert "secret" in job["webhook_error"] and receiver.requests == []


def test_loopback_ipv6_destination_is_refused_without_connecting(dispatch, settings, store) -> None:  # noqa: ANN001
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.bind(("::1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        _job(store, "w3", f"http://[::1]:{port}/hook")
        dispatch(settings)
        job = _state(store, "w3", "failed")
        assert job["webhook_error"].startswith("destination refused")
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()


def test_a_refused_name_shows_the_client_no_address_and_the_operator_each_one(
    settings, store, client, caplog
) -> None:  # noqa: ANN001
    """Clients read a refusal through the job and /deliveries: naming what their host resolved
    to would let them map internal DNS. The dispatcher's log names the addresses."""
    from copydesk.deliver.delivery import Deliverer
    from copydesk.deliver.webhooks import WebhookSender
    from unit.resolvers import fake_resolver, ip_literals

    internal = ["10.20.30.40", "127.0.0.1", "fd00::7"]
    body = {"article": {"text": "Some text."}, "analyses": ["sentiment"],
            "webhook": {"url": "https://db.internal.example/hook"}}  # fmt: skip
    job_id = client.post("/v1/jobs", json=body).get_json()["id"]
    store.record_result(job_id, "sentiment", {"status": "succeeded"})
    closed = settings.model_copy(update={"webhook_allow_networks": []})
    resolver = fake_resolver({"db.internal.example": internal})
    sender = WebhookSender.from_settings(closed, resolver=resolver)
    with caplog.at_level("INFO", logger="copydesk.deliver.delivery"):
        assert Deliverer(store=store, settings=closed, sender=sender).deliver(job_id) == "failed"
    shown = [
        client.get(f"/v1/jobs/{job_id}{tail}").get_data(as_text=True)
        for tail in ("", "/deliveries")
    ]
    assert all("destination refused" in page for page in shown)
    assert [ip_literals(page) for page in shown] == [[], []]
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert warning.job_id == job_id
    assert all(ip in warning.getMessage() for ip in internal)


def test_a_receiver_down_for_an_hour_still_gets_its_event(dispatch, settings, store) -> None:  # noqa: ANN001
    """The default schedule, compressed 1000 times: the receiver is away for "an hour"."""
    scale = 1000
    compressed = [delay / scale for delay in settings.webhook_retry_delays]
    squeezed = settings.model_copy(update={"webhook_retry_delays": compressed})
    port = free_port()  # nothing listens on it yet: connections are refused
    _job(store, "w10", f"http://127.0.0.1:{port}/hooks/copydesk")
    dispatch(squeezed)
    time.sleep(3600 / scale)
    refused = store.deliveries("w10")
    assert refused and all(entry["status"] is None for entry in refused)
    with Receiver(port=port) as back:
        _state(store, "w10", "delivered", timeout=60)
        assert back.ids() == ["msg_w10_job.succeeded"]
    assert len(store.deliveries("w10")) == len(refused) + 1


def test_a_dripping_receiver_is_cut_at_the_attempt_deadline(dispatch, settings, store) -> None:  # noqa: ANN001
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nx-slow: " + b"a" * 1000:
                if stop.wait(0.1):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    threading.Thread(target=drip, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/h"
    try:
        _job(store, "w11", url)
        started = time.monotonic()
        dispatch(settings.model_copy(update={"webhook_timeout_seconds": 1.0}))
        job = wait_for(lambda: (j := store.get("w11"))["webhook_attempts"] == 1 and j, timeout=20)
        assert time.monotonic() - started < 5
    finally:
        stop.set()
        listener.close()
    assert job["webhook_state"] == "pending"
    assert "deadline" in job["webhook_error"]


def test_an_abandoned_claim_comes_back_after_its_lease(dispatch, settings, store, receiver) -> None:  # noqa: ANN001
    _job(store, "w12", receiver.url)
    assert store.claim_deliveries(lease_seconds=1.0, limit=10) == ["w12"]  # then "dies"
    assert store.claim_deliveries(lease_seconds=1.0, limit=10) == []  # nobody else takes it
    dispatch(settings)
    _state(store, "w12", "delivered")
    assert receiver.ids() == ["msg_w12_job.succeeded"]


def test_several_dispatchers_deliver_each_event_once(dispatch, settings, store, receiver) -> None:  # noqa: ANN001
    ids = [f"m{i}" for i in range(30)]
    for job_id in ids:
        _job(store, job_id, receiver.url)
    for _ in range(3):
        dispatch(settings)
    for job_id in ids:
        _state(store, job_id, "delivered")
    assert sorted(receiver.ids()) == sorted(f"msg_{i}_job.succeeded" for i in ids)


def test_intake_refuses_private_literal_destinations(client) -> None:  # noqa: ANN001
    for url in ("http://[::1]:9/h", "http://10.0.0.1/h", "http://169.254.169.254/latest"):
        body = {"article": {"text": "Some text here."}, "webhook": {"url": url}}
        response = client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 422, url
        assert response.get_json()["code"] == "webhook_refused"


def test_a_batch_webhook_fires_once_when_its_last_job_ends(
    dispatch, settings, store, client, receiver
) -> None:  # noqa: ANN001
    body = {
        "jobs": [{"article": {"text": f"Story {i}."}, "analyses": ["sentiment"]} for i in range(3)],
        "webhook": {"url": receiver.url, "secret": SECRET},
    }
    created = client.post("/v1/batches", json=body)
    assert created.status_code == 202
    batch = created.get_json()
    assert batch["webhook"]["state"] is None and "secret" not in batch["webhook"]
    dispatch(settings)
    first, second, third = batch["jobs"]
    store.record_result(first, "sentiment", {"status": "succeeded"})
    client.post(f"/v1/jobs/{second}/cancel")  # a cancelled job has ended too
    time.sleep(1)
    assert receiver.requests == []  # one job is still running
    store.record_result(third, "sentiment", {"status": "failed", "error": {"code": "x"}})
    wait_for(lambda: receiver.requests, timeout=30)
    time.sleep(0.5)
    [(_, headers, payload)] = receiver.requests
    event = Webhook(SECRET).verify(payload, headers)
    assert event["type"] == "batch.completed"
    assert headers["webhook-id"] == f"msg_batch_{batch['id']}_batch.completed"
    counts = event["data"]["batch"]["counts"]
    assert (counts["succeeded"], counts["cancelled"], counts["failed"]) == (1, 1, 1)
    assert event["data"]["batch_url"].endswith(f"/v1/batches/{batch['id']}")
    shown = client.get(f"/v1/batches/{batch['id']}").get_json()
    assert shown["status"] == "completed" and shown["webhook"]["state"] == "delivered"
