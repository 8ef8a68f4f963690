"""Webhook delivery through a real worker to a real local receiver, and refusals."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook

from copydesk.core.store import RedisJobStore, now_rfc3339
from copydesk.devstack.waiting import wait_for

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records requests and answers scripted statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/copydesk"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _job(store: RedisJobStore, job_id: str, url: str, *, secret: str | None = SECRET) -> None:
    """Store a job whose only analysis already succeeded, ready for its webhook."""
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


def _deliver(start_worker, settings, store, job_id: str) -> None:  # noqa: ANN001
    from copydesk.workers.delivery import ensure_queued

    worker = start_worker(settings)
    ensure_queued(worker.app, store, job_id)


def test_signed_event_reaches_a_local_receiver(start_worker, settings, store, receiver) -> None:  # noqa: ANN001
    _job(store, "w1", receiver.url)
    _deliver(start_worker, settings, store, "w1")
    wait_for(lambda: store.get("w1")["webhook_state"] == "delivered", timeout=30)
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    event = Webhook(SECRET).verify(body, headers)
    assert event["type"] == "job.succeeded"
    assert event["data"]["job_id"] == "w1"
    assert event["data"]["job_url"] == "http://127.0.0.1:8000/v1/jobs/w1"
    assert event["data"]["job"]["results"]["sentiment"]["label"] == "neutral"
    assert "secret" not in json.dumps(event)
    with pytest.raises(Exception):
        Webhook("whsec_" + "B" * 32).verify(body, headers)
    assert store.deliveries("w1")[0]["status"] == 204


def test_failed_delivery_is_retried(start_worker, settings, store) -> None:  # noqa: ANN001
    fast = settings.model_copy(update={"webhook_backoff_seconds": 0.2})
    with Receiver(statuses=[503, 500]) as flaky:
        _job(store, "w2", flaky.url)
        _deliver(start_worker, fast, store, "w2")
        wait_for(lambda: store.get("w2")["webhook_state"] == "delivered", timeout=60)
        ids = {headers["webhook-id"] for headers, _ in flaky.requests}
    assert len(flaky.requests) == 3 and len(ids) == 1  # same message id: receivers can dedupe
    assert [entry["status"] for entry in store.deliveries("w2")] == [503, 500, 204]


def test_loopback_ipv6_destination_is_refused_without_connecting(
    start_worker, settings, store
) -> None:  # noqa: ANN001
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.bind(("::1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        _job(store, "w3", f"http://[::1]:{port}/hook")
        _deliver(start_worker, settings, store, "w3")
        wait_for(lambda: store.get("w3")["webhook_state"] == "refused", timeout=30)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()


def test_intake_refuses_private_literal_destinations(client) -> None:  # noqa: ANN001
    for url in ("http://[::1]:9/h", "http://10.0.0.1/h", "http://169.254.169.254/latest"):
        body = {"article": {"text": "Some text here."}, "webhook": {"url": url}}
        response = client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 422, url
        assert response.get_json()["code"] == "webhook_refused"


def test_minted_secret_is_returned_once(client) -> None:  # noqa: ANN001
    body = {"article": {"text": "Some text here."}, "webhook": {"url": "https://example.org/h"}}
    created = client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
    secret = created.get_json()["webhook"]["secret"]
    assert secret.startswith("whsec_")
    again = client.get(created.headers["Location"]).get_data(as_text=True)
    assert secret not in again


def test_a_receiver_that_drips_bytes_is_cut_off_at_the_deadline() -> None:
    import time

    from copydesk.workers.webhooks import WebhookSender

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    stop = threading.Event()

    def drip() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
            if stop.is_set():
                break
            try:
                conn.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)  # each byte well inside the socket timeout
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    sender = WebhookSender(allow_networks=["127.0.0.0/8"], timeout=1.5)
    began = time.monotonic()
    result = sender.send(
        url=f"http://127.0.0.1:{server.getsockname()[1]}/hook",
        event={"type": "job.succeeded", "data": {}},
        secret=SECRET,
        msg_id="msg_drip",
    )
    stop.set()
    server.close()
    assert time.monotonic() - began < 4
    assert not result.delivered and result.retryable
    assert "deadline" in (result.error or "")
