"""Deliver signed Standard Webhooks events over connections pinned to checked addresses.

Whether a destination may be reached at all is decided in :mod:`copydesk.deliver.destinations`
(shared with the intake); this module connects only to the addresses that check returned, so
a second DNS answer (rebinding) cannot redirect a delivery. Uses ``http.client`` (no proxies
from the environment, no redirects) and no Celery or Redis: the schedule of attempts lives in
:mod:`copydesk.deliver.delivery`.
"""

from __future__ import annotations

import http.client
import email.utils
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from copydesk.deliver.destinations import (
    ResolvedAddress,
    Resolver,
    allowed_addresses,
    parse_destination,
)
from copydesk.core.errors import WebhookDeliveryFailed
from copydesk.core.names import JOB_STATUSES, TERMINAL_STATUSES
from copydesk.core.settings import Settings

USER_AGENT = "copydesk-webhooks/1"
EVENT_TYPES = tuple(f"job.{status}" for status in JOB_STATUSES if status in TERMINAL_STATUSES)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """Outcome of one delivery attempt; ``retryable`` says whether trying again may help, and
    ``retry_after`` is the wait a 429 or 503 asked for, in seconds."""

    delivered: bool
    status: int | None
    retryable: bool
    error: str | None
    duration_ms: float
    retry_after: float | None = None


class Sender(Protocol):
    """Anything that can deliver one signed body (an encoded event) to one URL."""

    def send(self, *, url: str, payload: bytes, secret: str, msg_id: str) -> DeliveryResult: ...


# --- pinned connections -------------------------------------------------------------------


def connect_pinned(
    addresses: Sequence[ResolvedAddress],
    *,
    timeout: float,
    socket_factory: Callable[..., socket.socket] = socket.socket,
) -> socket.socket:
    """Open a TCP connection to the first checked address that answers; never resolve again."""
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        sock = socket_factory(address.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(address.sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


class PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to ``host`` (Host header) over a socket to the pinned addresses."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        addresses: Sequence[ResolvedAddress],
        timeout: float,
        socket_factory: Callable[..., socket.socket] = socket.socket,
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = tuple(addresses)
        self._socket_factory = socket_factory

    def connect(self) -> None:
        self.sock = connect_pinned(
            self._addresses, timeout=self.timeout, socket_factory=self._socket_factory
        )


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the pinned addresses with SNI and certificate checks for ``host``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        addresses: Sequence[ResolvedAddress],
        timeout: float,
        context: ssl.SSLContext | None = None,
        socket_factory: Callable[..., socket.socket] = socket.socket,
    ) -> None:
        self._tls = context or _default_tls_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._addresses = tuple(addresses)
        self._socket_factory = socket_factory

    def connect(self) -> None:
        sock = connect_pinned(
            self._addresses, timeout=self.timeout, socket_factory=self._socket_factory
        )
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _default_tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()  # verifies the certificate against the host name
    context.set_alpn_protocols(["http/1.1"])
    return context


def open_pinned_connection(
    *,
    scheme: str,
    host: str,
    port: int,
    addresses: Sequence[ResolvedAddress],
    timeout: float,
    context: ssl.SSLContext | None = None,
) -> http.client.HTTPConnection:
    """Return an unopened connection that will reach ``host`` only at ``addresses``.

    ``context`` (HTTPS only) lets a deployment or a test trust its own CA.
    """
    if scheme == "https":
        return PinnedHTTPSConnection(
            host, port, addresses=addresses, timeout=timeout, context=context
        )
    return PinnedHTTPConnection(host, port, addresses=addresses, timeout=timeout)


# --- events and signatures ----------------------------------------------------------------


def event_type_for(status: str) -> str:
    """Name the event a job in a terminal ``status`` emits (``job.<status>``)."""
    event_type = f"job.{status}"
    if event_type not in EVENT_TYPES:
        raise ValueError(f"job status {status!r} emits no webhook event")
    return event_type


def build_event(*, job: dict, event_type: str, job_url: str) -> dict[str, Any]:
    """Wrap a finished job in a Standard Webhooks payload so receivers can route on ``type``.

    Only what stays fixed once the job has ended goes in: ``timestamp`` is when the event
    happened (``completed_at``; the attempt's time is the ``webhook-timestamp`` header), and
    the webhook's own delivery state, which moves with every attempt, is left out.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    shown = {key: value for key, value in job.items() if key != "webhook"}
    return {
        "type": event_type,
        "timestamp": job.get("completed_at") or _rfc3339(datetime.now(UTC)),
        "data": {"job_id": job["id"], "job_url": job_url, "status": job["status"], "job": shown},
    }


def build_batch_event(
    *, batch: dict, batch_url: str, now: datetime | None = None
) -> dict[str, Any]:
    """The ``batch.completed`` event: every job of the batch has ended (at ``now``), without
    the webhook's delivery state."""
    shown = {key: value for key, value in batch.items() if key != "webhook"}
    return {
        "type": "batch.completed",
        "timestamp": _rfc3339(now or datetime.now(UTC)),
        "data": {"batch_id": batch["id"], "batch_url": batch_url, "batch": shown},
    }


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_event(event: dict) -> bytes:
    """Serialise compactly and ASCII-only, so the signed bytes survive any receiver's decoding."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign_headers(*, payload: bytes, secret: str, msg_id: str, timestamp: int) -> dict[str, str]:
    """Return the request headers, signature included, that a receiver verifies."""
    from standardwebhooks.webhooks import Webhook  # workers extra only; the intake skips it

    try:
        signer = Webhook(secret)
    except Exception as exc:  # empty or undecodable secret
        raise ValueError(f"invalid webhook secret: {exc}") from None
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signer.sign(msg_id, moment, payload.decode("utf-8")),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """Read a Retry-After header: delay seconds or an HTTP date (RFC 9110); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - now)


# --- the sender ---------------------------------------------------------------------------


def _cut(conn: http.client.HTTPConnection, expired: threading.Event) -> None:
    """End an attempt that ran out of time: shut its socket so the blocked read returns."""
    expired.set()
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class WebhookSender:
    """Send one signed event over a pinned connection and classify the answer."""

    def __init__(
        self,
        *,
        allow_networks: Sequence[str] = (),
        timeout: float = 10.0,
        resolver: Resolver = socket.getaddrinfo,
        connect: Callable[..., http.client.HTTPConnection] = open_pinned_connection,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._allow = tuple(allow_networks)
        self._timeout = timeout
        self._resolver = resolver
        self._connect = connect
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WebhookSender:
        """Build the sender a worker uses; ``overrides`` swap the resolver or connection."""
        return cls(
            allow_networks=settings.webhook_allow_networks,
            timeout=settings.webhook_timeout_seconds,
            **overrides,
        )

    def send(self, *, url: str, payload: bytes, secret: str, msg_id: str) -> DeliveryResult:
        """Deliver ``payload`` once; raise WebhookRefused before any connection to a refused
        destination."""
        started = time.perf_counter()
        dest = parse_destination(url)
        headers = sign_headers(
            payload=payload, secret=secret, msg_id=msg_id, timestamp=int(self._clock())
        )

        def result(
            status: int | None,
            *,
            retryable: bool,
            error: str | None,
            retry_after: float | None = None,
        ) -> DeliveryResult:
            elapsed = (time.perf_counter() - started) * 1000
            return DeliveryResult(error is None, status, retryable, error, elapsed, retry_after)

        try:
            addresses = allowed_addresses(
                dest, allow_networks=self._allow, resolve=True, resolver=self._resolver
            )
        except WebhookDeliveryFailed as exc:
            return result(None, retryable=True, error=exc.detail)
        conn = self._connect(
            scheme=dest.scheme,
            host=dest.host,
            port=dest.port,
            addresses=addresses,
            timeout=self._timeout,
        )
        # Socket timeouts bound each read, not the attempt: a receiver that drips a byte at a
        # time would hold the delivery slot forever. A watchdog cuts the connection when the
        # whole attempt (connect, send, read) passes the deadline.
        expired = threading.Event()
        watchdog = threading.Timer(self._timeout, _cut, args=(conn, expired))
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.request("POST", dest.target, body=payload, headers=headers)
            response = conn.getresponse()
            status, location = response.status, response.getheader("location")
            wait = retry_after_seconds(response.getheader("retry-after"), now=self._clock())
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                error = f"the attempt passed its {self._timeout:g} s deadline"
                return result(None, retryable=True, error=error)
            return result(None, retryable=True, error=f"{type(exc).__name__}: {exc}")
        finally:
            watchdog.cancel()
            conn.close()
        if 200 <= status < 300:
            return result(status, retryable=False, error=None)
        if status == 410:
            return result(status, retryable=False, error="HTTP 410: endpoint gone")
        if 300 <= status < 400:
            where = (location or "?")[:200]
            error = f"HTTP {status}: redirect to {where} not followed"
            return result(status, retryable=True, error=error)
        if status in (429, 503):
            return result(status, retryable=True, error=f"HTTP {status}", retry_after=wait)
        return result(status, retryable=True, error=f"HTTP {status}")
