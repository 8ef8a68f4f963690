"""Deliver signed Standard Webhooks events only to destinations that are safe to reach.

A client names the webhook URL, so the worker must not become a proxy into the private
network (SSRF). Destinations are checked on their *resolved* addresses and the connection is
pinned to exactly the addresses that passed, so a second DNS answer (rebinding) cannot
redirect it. Uses ``http.client`` (no proxies from the environment, no redirects) and no
Celery: the task that retries deliveries is a thin adapter around :class:`WebhookSender`.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import random
import re
import socket
import ssl
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from copydesk.core.errors import WebhookDeliveryFailed, WebhookRefused
from copydesk.core.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]  # socket.getaddrinfo-compatible
USER_AGENT = "copydesk-webhooks/1"
EVENT_TYPES = ("job.succeeded", "job.partially_succeeded", "job.failed", "job.cancelled")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Never webhook targets. Explicit because ``is_global`` misses some (6to4 relay anycast) and
# its tables change between Python versions.
_ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(n)
    for n in ("100.64.0.0/10", "192.88.99.0/24", "64:ff9b:1::/48", "2001::/32", "fec0::/10")
)
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")
_PATH_SAFE = string.punctuation  # keep ASCII as written; only percent-encode non-ASCII


@dataclass(frozen=True, slots=True)
class ResolvedAddress:
    """One address a destination may be reached at; the connection goes exactly here."""

    ip: IPAddress
    port: int

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AF_INET6 if self.ip.version == 6 else socket.AF_INET

    @property
    def sockaddr(self) -> tuple[Any, ...]:
        if self.ip.version == 6:
            return (str(self.ip), self.port, 0, 0)
        return (str(self.ip), self.port)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """Outcome of one delivery attempt; ``retryable`` tells the task whether to try again."""

    delivered: bool
    status: int | None
    retryable: bool
    error: str | None
    duration_ms: float


@dataclass(frozen=True, slots=True)
class _Destination:
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    target: str  # path and query sent in the request line


class Sender(Protocol):
    """Anything that can deliver one signed event to one URL."""

    def send(self, *, url: str, event: dict, secret: str, msg_id: str) -> DeliveryResult: ...


# --- destination checks -------------------------------------------------------------------


def is_public_address(ip: IPAddress) -> bool:
    """Say whether ``ip`` is globally routable, judging wrapped IPv4 by the address inside."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return is_public_address(inner)
    special = (
        ip.is_private,
        ip.is_loopback,
        ip.is_link_local,
        ip.is_multicast,
        ip.is_reserved,
        ip.is_unspecified,
        getattr(ip, "is_site_local", False),
    )
    return ip.is_global and not any(special) and not any(ip in n for n in _ALWAYS_REFUSED)


def is_allowed_address(ip: IPAddress, *, allow_networks: Sequence[str]) -> bool:
    """Allow public addresses and those inside an operator-configured network."""
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        candidates.append(ip.ipv4_mapped)
    networks = [ipaddress.ip_network(cidr, strict=False) for cidr in allow_networks]
    if any(c in net for c in candidates for net in networks):
        return True
    return is_public_address(ip)


def check_destination(
    url: str,
    *,
    allow_networks: Sequence[str],
    resolve: bool = True,
    resolver: Resolver = socket.getaddrinfo,
) -> list[ResolvedAddress]:
    """Refuse a webhook URL that is malformed or reaches no allowed address; return those it may.

    Raises WebhookRefused for bad syntax or when no allowed address is left, and
    WebhookDeliveryFailed (retryable) when the name does not resolve. With ``resolve=False``
    only the syntax and IP literals are checked and a host name yields ``[]``: cheap enough
    for the intake to run at submission.
    """
    dest = _parse(url)
    return _allowed_addresses(
        dest, allow_networks=allow_networks, resolve=resolve, resolver=resolver
    )


def _parse(url: str) -> _Destination:
    if not isinstance(url, str) or not url or any(not c.isprintable() or c.isspace() for c in url):
        raise WebhookRefused("webhook URL is empty or contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookRefused(f"webhook URL is malformed: {exc}") from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise WebhookRefused("webhook URL must use http or https")
    if "@" in parts.netloc:
        raise WebhookRefused("webhook URL must not carry credentials (user info)")
    if not parts.hostname:
        raise WebhookRefused("webhook URL has no host")
    if port == 0:
        raise WebhookRefused("webhook URL port must be 1-65535")
    target = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_PATH_SAFE)
    return _Destination(
        scheme=parts.scheme,
        host=_normalise_host(parts.hostname),
        port=port or _DEFAULT_PORTS[parts.scheme],
        target=target,
    )


def _normalise_host(host: str) -> str:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if getattr(ip, "scope_id", None):
            raise WebhookRefused(f"webhook host {host!r} has an IPv6 zone")
        return str(ip)
    try:
        ascii_host = host.encode("idna").decode("ascii").lower().removesuffix(".")
    except UnicodeError:
        raise WebhookRefused(f"webhook host {host!r} is not a valid host name") from None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise WebhookRefused(f"webhook host {host!r} is not a valid host name")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        # "127.1", "2130706433", "0x7f.1": resolvers read these as IPv4; refuse the ambiguity.
        raise WebhookRefused(f"webhook host {host!r} is a non-canonical IP address")
    return ascii_host


def _allowed_addresses(
    dest: _Destination, *, allow_networks: Sequence[str], resolve: bool, resolver: Resolver
) -> list[ResolvedAddress]:
    candidates = _candidates(dest, resolve=resolve, resolver=resolver)
    if candidates is None:
        return []
    allowed = [a for a in candidates if is_allowed_address(a.ip, allow_networks=allow_networks)]
    if not allowed:
        refused = ", ".join(str(a.ip) for a in candidates)
        raise WebhookRefused(
            f"webhook host {dest.host!r} reaches no allowed address ({refused})", host=dest.host
        )
    return allowed


def _candidates(
    dest: _Destination, *, resolve: bool, resolver: Resolver
) -> list[ResolvedAddress] | None:
    try:
        return [ResolvedAddress(ipaddress.ip_address(dest.host), dest.port)]
    except ValueError:
        pass
    if dest.host == "localhost" or dest.host.endswith(".localhost"):
        # RFC 6761: always loopback; never ask DNS, which could answer otherwise.
        loopback = ("127.0.0.1", "::1")
        return [ResolvedAddress(ipaddress.ip_address(ip), dest.port) for ip in loopback]
    if not resolve:
        return None
    try:
        infos = resolver(dest.host, dest.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookDeliveryFailed(f"webhook host {dest.host!r} did not resolve: {exc}") from None
    found: dict[ResolvedAddress, None] = {}
    for family, *_, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            ip = ipaddress.ip_address(sockaddr[0])
            found[ResolvedAddress(ip, dest.port)] = None
    if not found:
        raise WebhookDeliveryFailed(f"webhook host {dest.host!r} has no IP address")
    return list(found)


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


def build_event(
    *, job: dict, event_type: str, job_url: str, now: datetime | None = None
) -> dict[str, Any]:
    """Wrap a job in a Standard Webhooks payload so receivers can route on ``type``."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "type": event_type,
        "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": {"job_id": job["id"], "job_url": job_url, "status": job["status"], "job": job},
    }


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


def backoff_seconds(
    attempt: int,
    *,
    base: float,
    cap: float = 3600,
    jitter: bool = False,
    rng: random.Random | None = None,
) -> float:
    """Space retries exponentially so a struggling receiver gets room to recover.

    Retry ``attempt`` (1-based) waits ``base * 2**(attempt-1)`` seconds, at most ``cap``;
    ``jitter=True`` draws uniformly below that ("full jitter") so receivers that failed
    together do not retry in lockstep.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    delay = min(cap, base * 2 ** min(attempt - 1, 64))
    return (rng or random).uniform(0, delay) if jitter else delay


# --- the sender ---------------------------------------------------------------------------


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

    def send(self, *, url: str, event: dict, secret: str, msg_id: str) -> DeliveryResult:
        """Deliver once; raise WebhookRefused before any connection to a refused destination."""
        started = time.perf_counter()
        dest = _parse(url)
        payload = encode_event(event)
        headers = sign_headers(
            payload=payload, secret=secret, msg_id=msg_id, timestamp=int(self._clock())
        )

        def result(status: int | None, *, retryable: bool, error: str | None) -> DeliveryResult:
            elapsed = (time.perf_counter() - started) * 1000
            return DeliveryResult(error is None, status, retryable, error, elapsed)

        try:
            addresses = _allowed_addresses(
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
        try:
            conn.request("POST", dest.target, body=payload, headers=headers)
            response = conn.getresponse()
            status, location = response.status, response.getheader("location")
        except (OSError, http.client.HTTPException) as exc:
            return result(None, retryable=True, error=f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
        if 200 <= status < 300:
            return result(status, retryable=False, error=None)
        if status == 410:
            return result(status, retryable=False, error="HTTP 410: endpoint gone")
        if 300 <= status < 400:
            where = (location or "?")[:200]
            error = f"HTTP {status}: redirect to {where} not followed"
            return result(status, retryable=True, error=error)
        return result(status, retryable=True, error=f"HTTP {status}")
