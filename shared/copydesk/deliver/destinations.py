"""Refuse webhook destinations that would turn copydesk into a proxy into private networks.

A client names the webhook URL, so both the intake (at submission) and the worker (before
every delivery) must judge it the same way (SSRF guard). Destinations are judged on their
*resolved* addresses and the caller gets exactly the addresses that passed, so it can pin its
connection to them and a second DNS answer (rebinding) cannot redirect it. Pure stdlib, in
the shared core, so the intake checks URLs without importing the workers.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from copydesk.core.errors import WebhookDeliveryFailed, WebhookRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]  # socket.getaddrinfo-compatible
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


class AddressRefused(WebhookRefused):
    """A destination with no allowed address: every one is private, reserved or the like.

    The reason a client reads (the 422, the job's webhook ``error``, /deliveries) names the
    host it gave but never what the host resolved to, or a client could map internal DNS
    through it. ``addresses`` keeps them for the operator's log.
    """

    def __init__(self, host: str, addresses: Sequence[ResolvedAddress], *, literal: bool) -> None:
        what = "is a" if literal else "resolves only to"
        kind = "private or reserved address" + ("" if literal else "es")
        super().__init__(f"webhook host {host!r} {what} {kind}", host=host)
        self.host = host
        self.addresses = tuple(addresses)


@dataclass(frozen=True, slots=True)
class Destination:
    """A webhook URL taken apart once, so checking and connecting read the same host."""

    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    target: str  # path and query sent in the request line


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
    dest = parse_destination(url)
    return allowed_addresses(
        dest, allow_networks=allow_networks, resolve=resolve, resolver=resolver
    )


def parse_destination(url: str) -> Destination:
    """Take a webhook URL apart, refusing anything but a plain http(s) URL to a valid host.

    Split from :func:`check_destination` so a sender can refuse a bad URL before signing and
    still connect with the very host and request target that were checked.
    """
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
    return Destination(
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


def allowed_addresses(
    dest: Destination, *, allow_networks: Sequence[str], resolve: bool, resolver: Resolver
) -> list[ResolvedAddress]:
    """Return the addresses of ``dest`` a connection may be pinned to, refusing if none.

    With ``resolve=False`` a host name (other than localhost) is not looked up and yields
    ``[]``; see :func:`check_destination` for the errors raised.
    """
    candidates = _candidates(dest, resolve=resolve, resolver=resolver)
    if candidates is None:
        return []
    allowed = [a for a in candidates if is_allowed_address(a.ip, allow_networks=allow_networks)]
    if not allowed:
        literal = len(candidates) == 1 and str(candidates[0].ip) == dest.host
        raise AddressRefused(dest.host, candidates, literal=literal)
    return allowed


def _candidates(
    dest: Destination, *, resolve: bool, resolver: Resolver
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
