"""Webhook delivery: pinned connections, signing, events, Retry-After and the sender.

No sockets: name resolution, connections and sockets are fakes injected at the boundary.
Which destinations are refused is tested in test_destinations.py.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import json
import socket
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from copydesk.deliver.destinations import ResolvedAddress
from resolvers import PUBLIC_V4, PUBLIC_V6, fake_resolver

from copydesk.core.errors import WebhookRefused
from copydesk.core.settings import Settings
from copydesk.deliver import webhooks as wh
from copydesk.deliver.webhooks import (
    DeliveryResult,
    PinnedHTTPConnection,
    PinnedHTTPSConnection,
    WebhookSender,
    build_batch_event,
    build_event,
    encode_event,
    event_type_for,
    sign_headers,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk="


# --- signing and events -------------------------------------------------------------------


def make_job(status: str = "succeeded") -> dict:
    return {"id": "job_123", "status": status, "results": {"summary": {"text": "Zürich – ok"}}}


def test_signature_verifies_with_standardwebhooks_and_only_with_that_secret() -> None:
    event = build_event(job=make_job(), event_type="job.succeeded", job_url="https://x/v1/jobs/1")
    payload = encode_event(event)
    now = int(datetime.now(UTC).timestamp())
    headers = sign_headers(payload=payload, secret=SECRET, msg_id="msg_1", timestamp=now)

    assert Webhook(SECRET).verify(payload, headers) == event
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER_SECRET).verify(payload, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(payload.replace(b"job_123", b"job_124"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(payload, {**headers, "webhook-id": "msg_2"})


def test_headers_follow_standard_webhooks() -> None:
    headers = sign_headers(payload=b"{}", secret=SECRET, msg_id="msg_abc", timestamp=1700000000)
    assert headers["webhook-id"] == "msg_abc"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].startswith("v1,")
    assert len(headers["webhook-signature"]) == len("v1,") + 44  # base64 of 32 bytes
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "copydesk-webhooks/1"


def test_signature_is_stable_for_the_same_message() -> None:
    sign = lambda secret: sign_headers(  # noqa: E731
        payload=b'{"a":1}', secret=secret, msg_id="msg_1", timestamp=1700000000
    )["webhook-signature"]
    assert sign(SECRET) == sign(SECRET)
    assert sign(SECRET) != sign(OTHER_SECRET)


@pytest.mark.parametrize("secret", ["", "whsec_"])
def test_empty_secret_is_rejected(secret: str) -> None:
    with pytest.raises(ValueError, match="invalid webhook secret"):
        sign_headers(payload=b"{}", secret=secret, msg_id="msg_1", timestamp=1700000000)


def test_payload_is_compact_ascii_json() -> None:
    payload = encode_event({"a": [1, 2], "b": "Zürich – ✓"})
    assert payload == b'{"a":[1,2],"b":"Z\\u00fcrich \\u2013 \\u2713"}'
    assert json.loads(payload) == {"a": [1, 2], "b": "Zürich – ✓"}


def test_event_shape() -> None:
    job = {**make_job("partially_succeeded"), "completed_at": "2025-01-02T03:04:05.678Z"}
    event = build_event(
        job={**job, "webhook": {"url": "https://h/", "state": "pending", "attempts": 0}},
        event_type="job.partially_succeeded",
        job_url="https://api/v1/jobs/job_123",
    )
    assert event == {
        "type": "job.partially_succeeded",
        "timestamp": "2025-01-02T03:04:05.678Z",  # when the job ended
        "data": {
            "job_id": "job_123",
            "job_url": "https://api/v1/jobs/job_123",
            "status": "partially_succeeded",
            "job": job,  # without the webhook's delivery state
        },
    }


def test_an_event_is_the_same_bytes_at_every_attempt() -> None:
    """The webhook-id is the receiver's idempotency key: what moves between attempts (the
    clock, the webhook's own state) stays out of the body it names."""
    job = {**make_job(), "completed_at": "2025-01-02T03:04:05.678Z"}
    first = {**job, "webhook": {"url": "u", "state": "pending", "attempts": 0, "error": None}}
    later = {**job, "webhook": {"url": "u", "state": "pending", "attempts": 3, "error": "HTTP 503"}}
    encoded = [
        encode_event(build_event(job=shown, event_type="job.succeeded", job_url="u"))
        for shown in (first, later)
    ]
    assert encoded[0] == encoded[1]


def test_event_timestamp_of_a_job_without_an_end_time_is_now_in_utc() -> None:
    event = build_event(job=make_job(), event_type="job.succeeded", job_url="u")
    stamp = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
    assert event["timestamp"].endswith("Z")
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 5


def test_batch_event_shape() -> None:
    batch = {"id": "b1", "counts": {"succeeded": 2}, "webhook": {"state": "pending"}}
    moment = datetime(2025, 1, 2, 4, 4, 5, 678000, tzinfo=timezone(timedelta(hours=1)))
    event = build_batch_event(batch=batch, batch_url="https://api/v1/batches/b1", now=moment)
    assert event == {
        "type": "batch.completed",
        "timestamp": "2025-01-02T03:04:05.678Z",
        "data": {
            "batch_id": "b1",
            "batch_url": "https://api/v1/batches/b1",
            "batch": {"id": "b1", "counts": {"succeeded": 2}},
        },
    }


@pytest.mark.parametrize("status", ["succeeded", "partially_succeeded", "failed", "cancelled"])
def test_event_type_for_terminal_status(status: str) -> None:
    event_type = event_type_for(status)
    assert event_type == f"job.{status}"
    assert build_event(job=make_job(status), event_type=event_type, job_url="u")["type"] == (
        event_type
    )


@pytest.mark.parametrize("status", ["queued", "running", "bogus"])
def test_non_terminal_status_emits_no_event(status: str) -> None:
    with pytest.raises(ValueError):
        event_type_for(status)


def test_unknown_event_type_is_rejected() -> None:
    with pytest.raises(ValueError):
        build_event(job=make_job(), event_type="job.running", job_url="u")


# --- Retry-After ------------------------------------------------------------------------


def test_retry_after_reads_delay_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert wh.retry_after_seconds("120", now=now) == 120.0
    assert wh.retry_after_seconds(" 0 ", now=now) == 0.0
    assert wh.retry_after_seconds("Thu, 01 Jan 2026 00:05:00 GMT", now=now) == 300.0
    assert wh.retry_after_seconds("Wed, 31 Dec 2025 00:00:00 GMT", now=now) == 0.0  # past


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e9", "Thu, 01 Jan 2026 00:05:00"])
def test_unreadable_retry_after_is_ignored(value: str | None) -> None:
    assert wh.retry_after_seconds(value, now=0.0) is None


# --- sender with a fake connection --------------------------------------------------------


class FakeResponse:
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self._headers = {k.lower(): v for k, v in (headers or {}).items()}

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self._headers.get(name.lower(), default)


class FakeConnection:
    def __init__(self, response: FakeResponse | BaseException) -> None:
        self.response = response
        self.requests: list[tuple] = []
        self.closed = False

    def request(self, method, target, body=None, headers=None) -> None:
        self.requests.append((method, target, body, headers))

    def getresponse(self) -> FakeResponse:
        if isinstance(self.response, BaseException):
            raise self.response
        return self.response

    def close(self) -> None:
        self.closed = True


class RecordingFactory:
    def __init__(self, response: FakeResponse | BaseException | None = None) -> None:
        response = FakeResponse(204) if response is None else response
        self.calls: list[dict] = []
        self.connections: list[FakeConnection] = []
        self.response = response

    def __call__(self, **kwargs) -> FakeConnection:
        self.calls.append(kwargs)
        conn = FakeConnection(self.response)
        self.connections.append(conn)
        return conn


def make_sender(factory, *, answers=None, allow=()) -> WebhookSender:
    resolver = fake_resolver({"hook.example.com": [PUBLIC_V4]} if answers is None else answers)
    return WebhookSender(allow_networks=allow, timeout=3.5, resolver=resolver, connect=factory)


def send(sender: WebhookSender, url: str = "https://hook.example.com/in?x=1") -> DeliveryResult:
    event = build_event(job=make_job(), event_type="job.succeeded", job_url="https://a/v1/jobs/1")
    return sender.send(url=url, payload=encode_event(event), secret=SECRET, msg_id="msg_42")


@pytest.mark.parametrize(
    ("url", "answers"),
    [
        ("http://127.0.0.1:8000/hook", {}),
        ("http://[::1]/hook", {}),
        ("http://169.254.169.254/latest/meta-data/", {}),
        ("http://localhost/hook", {"localhost": [PUBLIC_V4]}),
        ("https://rebind.example/hook", {"rebind.example": ["10.0.0.1"]}),
        ("https://mixed.example/hook", {"mixed.example": ["::ffff:127.0.0.1", "fc00::1"]}),
        ("ftp://hook.example.com/", {}),
        ("http://user:pw@hook.example.com/", {}),
    ],
)
def test_refused_destination_raises_before_any_connection(url: str, answers: dict) -> None:
    factory = RecordingFactory()
    with pytest.raises(WebhookRefused):
        send(make_sender(factory, answers=answers), url)
    assert factory.calls == []


def test_delivery_connects_to_the_checked_address_and_sends_a_verifiable_request() -> None:
    factory = RecordingFactory(FakeResponse(204))
    answers = {"hook.example.com": ["10.9.9.9", PUBLIC_V4]}
    result = send(make_sender(factory, answers=answers))

    assert result.delivered and result.status == 204
    assert not result.retryable and result.error is None and result.duration_ms >= 0
    [call] = factory.calls
    assert call == {
        "scheme": "https",
        "host": "hook.example.com",
        "port": 443,
        "addresses": [ResolvedAddress(ipaddress.ip_address(PUBLIC_V4), 443)],
        "timeout": 3.5,
    }
    [conn] = factory.connections
    [(method, target, body, headers)] = conn.requests
    assert (method, target) == ("POST", "/in?x=1")
    assert json.loads(body)["data"]["job_id"] == "job_123"
    assert Webhook(SECRET).verify(body, headers)["type"] == "job.succeeded"
    assert headers["webhook-id"] == "msg_42"
    assert conn.closed


@pytest.mark.parametrize(
    ("status", "retryable", "error"),
    [
        (200, False, None),
        (202, False, None),
        (410, False, "endpoint gone"),
        (400, True, "HTTP 400"),
        (404, True, "HTTP 404"),
        (408, True, "HTTP 408"),
        (429, True, "HTTP 429"),
        (500, True, "HTTP 500"),
        (503, True, "HTTP 503"),
    ],
)
def test_status_classification(status: int, retryable: bool, error: str | None) -> None:
    factory = RecordingFactory(FakeResponse(status))
    result = send(make_sender(factory))
    assert result.delivered is (error is None)
    assert (result.status, result.retryable) == (status, retryable)
    assert result.error is None if error is None else error in result.error
    assert factory.connections[0].closed


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_reported_on_429_and_503(status: int) -> None:
    factory = RecordingFactory(FakeResponse(status, {"Retry-After": "90"}))
    result = send(make_sender(factory))
    assert (result.status, result.retryable, result.retry_after) == (status, True, 90.0)


def test_retry_after_is_not_reported_on_other_errors() -> None:
    result = send(make_sender(RecordingFactory(FakeResponse(500, {"Retry-After": "90"}))))
    assert result.retry_after is None


def test_redirect_is_not_followed() -> None:
    factory = RecordingFactory(FakeResponse(302, {"Location": "http://169.254.169.254/"}))
    result = send(make_sender(factory))
    assert not result.delivered and result.status == 302 and result.retryable
    assert "redirect to http://169.254.169.254/ not followed" in result.error
    assert len(factory.calls) == 1


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
        http.client.RemoteDisconnected("Remote end closed connection"),
        OSError("certificate verify failed"),
    ],
)
def test_network_failure_is_retryable(exc: BaseException) -> None:
    factory = RecordingFactory(exc)
    result = send(make_sender(factory))
    assert not result.delivered and result.retryable and result.status is None
    assert type(exc).__name__ in result.error
    assert factory.connections[0].closed


def test_unresolvable_host_is_retryable_without_connecting() -> None:
    factory = RecordingFactory()
    result = send(make_sender(factory, answers={}))
    assert not result.delivered and result.retryable and result.status is None
    assert "did not resolve" in result.error
    assert factory.calls == []


def test_sender_from_settings() -> None:
    settings = Settings(webhook_allow_networks="127.0.0.0/8", webhook_timeout_seconds=2.5)
    factory = RecordingFactory()
    sender = WebhookSender.from_settings(settings, connect=factory)
    assert send(sender, "http://127.0.0.1:9/x").delivered
    assert factory.calls[0]["timeout"] == 2.5


# --- pinned connections over fake sockets -------------------------------------------------


class FakeSocket:
    def __init__(self, log: list, family, *, refuse: bool, reply: bytes) -> None:
        self.log, self.family, self.refuse, self.reply = log, family, refuse, reply
        self.sent = b""
        self.closed = False
        self.timeout = None

    def settimeout(self, timeout) -> None:
        self.timeout = timeout

    def connect(self, sockaddr) -> None:
        self.log.append(("connect", self.family, sockaddr))
        if self.refuse:
            raise ConnectionRefusedError(111, "Connection refused")

    def sendall(self, data) -> None:
        self.sent += bytes(data)

    def makefile(self, mode: str):
        return io.BytesIO(self.reply)

    def close(self) -> None:
        self.closed = True


def socket_factory(log: list, *, refuse: set[int] = frozenset(), reply: bytes = b""):
    made: list[FakeSocket] = []

    def make(family, kind):
        assert kind == socket.SOCK_STREAM
        sock = FakeSocket(log, family, refuse=len(made) in refuse, reply=reply)
        made.append(sock)
        return sock

    make.made = made  # type: ignore[attr-defined]
    return make


@pytest.fixture
def forbid_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("a pinned connection must not resolve names")

    monkeypatch.setattr(socket, "getaddrinfo", boom)
    monkeypatch.setattr(socket, "create_connection", boom)


def addr(ip: str, port: int) -> ResolvedAddress:
    return ResolvedAddress(ipaddress.ip_address(ip), port)


@pytest.mark.usefixtures("forbid_dns")
def test_pinned_http_connection_goes_to_the_checked_address_with_the_host_header() -> None:
    log: list = []
    factory = socket_factory(log, reply=b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    def connect(**kwargs):
        kwargs.pop("scheme")
        host, port = kwargs.pop("host"), kwargs.pop("port")
        return PinnedHTTPConnection(host, port, socket_factory=factory, **kwargs)

    sender = WebhookSender(
        resolver=fake_resolver({"hook.example.com": [PUBLIC_V4]}), connect=connect, timeout=4
    )
    result = send(sender, "http://hook.example.com:8080/in")
    assert result.delivered and result.status == 204
    assert log == [("connect", socket.AF_INET, (PUBLIC_V4, 8080))]
    [sock] = factory.made
    head, _, body = sock.sent.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /in HTTP/1.1"
    assert "Host: hook.example.com:8080" in lines
    assert any(line.startswith("webhook-signature: v1,") for line in lines)
    assert json.loads(body)["type"] == "job.succeeded"
    assert sock.timeout == 4 and sock.closed


@pytest.mark.usefixtures("forbid_dns")
def test_pinned_connection_falls_back_to_the_next_checked_address() -> None:
    log: list = []
    factory = socket_factory(log, refuse={0})
    addresses = [addr(PUBLIC_V6, 80), addr(PUBLIC_V4, 80)]
    conn = PinnedHTTPConnection(
        "hook.example.com", 80, addresses=addresses, timeout=1, socket_factory=factory
    )
    conn.connect()
    assert log == [
        ("connect", socket.AF_INET6, (PUBLIC_V6, 80, 0, 0)),
        ("connect", socket.AF_INET, (PUBLIC_V4, 80)),
    ]
    assert factory.made[0].closed and conn.sock is factory.made[1]


@pytest.mark.usefixtures("forbid_dns")
def test_pinned_connection_raises_when_every_address_refuses() -> None:
    factory = socket_factory([], refuse={0, 1})
    addresses = [addr(PUBLIC_V4, 80), addr("8.8.8.8", 80)]
    conn = PinnedHTTPConnection(
        "h.example", 80, addresses=addresses, timeout=1, socket_factory=factory
    )
    with pytest.raises(ConnectionRefusedError):
        conn.connect()
    assert all(sock.closed for sock in factory.made)


class FakeTLSContext:
    verify_mode = 2  # ssl.CERT_REQUIRED
    check_hostname = True

    def __init__(self) -> None:
        self.wrapped: list[tuple] = []

    def wrap_socket(self, sock, *, server_hostname):
        self.wrapped.append((sock, server_hostname))
        return sock


@pytest.mark.usefixtures("forbid_dns")
def test_pinned_https_connection_verifies_tls_for_the_host_name_not_the_ip() -> None:
    log: list = []
    tls = FakeTLSContext()
    factory = socket_factory(log)
    conn = PinnedHTTPSConnection(
        "hook.example.com",
        443,
        addresses=[addr(PUBLIC_V4, 443)],
        timeout=1,
        context=tls,
        socket_factory=factory,
    )
    conn.connect()
    assert log == [("connect", socket.AF_INET, (PUBLIC_V4, 443))]
    assert tls.wrapped == [(factory.made[0], "hook.example.com")]


def test_default_connection_factory_verifies_certificates() -> None:
    conn = wh.open_pinned_connection(
        scheme="https",
        host="hook.example.com",
        port=443,
        addresses=[addr(PUBLIC_V4, 443)],
        timeout=1,
    )
    assert isinstance(conn, PinnedHTTPSConnection)
    assert conn._context.check_hostname and conn._context.verify_mode == 2
    plain = wh.open_pinned_connection(
        scheme="http", host="h.example", port=80, addresses=[addr(PUBLIC_V4, 80)], timeout=1
    )
    assert type(plain) is PinnedHTTPConnection
