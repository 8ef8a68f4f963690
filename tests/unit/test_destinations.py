"""Destination guard: which webhook URLs and addresses may be reached, and which are refused.

No sockets: name resolution is a fake resolver injected at the boundary.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys

import pytest

from copydesk.deliver.destinations import (
    Destination,
    ResolvedAddress,
    check_destination,
    parse_destination,
)
from resolvers import PUBLIC_V4, PUBLIC_V6, fake_resolver, ip_literals

from copydesk.core.errors import WebhookDeliveryFailed, WebhookRefused


REFUSED_ADDRESSES = [
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "0.0.0.0",
    "0.1.2.3",
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # deprecated IPv4-compatible
    "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
    "2002:a01:203::",  # 6to4 wrapping 10.1.2.3
    "64:ff9b::a01:203",  # NAT64 wrapping 10.1.2.3
    "64:ff9b::7f00:1",  # NAT64 wrapping 127.0.0.1
    "64:ff9b:1::808:808",  # local-use NAT64 prefix
    "2001::1",  # Teredo
    "fc00::1",  # unique local
    "fd12:3456::1",
    "fe80::1",  # link-local
    "fec0::1",  # site-local (deprecated)
    "224.0.0.1",
    "224.0.1.1",  # multicast that ipaddress calls "global"
    "ff02::1",
    "ff0e::1",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.2.1",  # documentation
    "2001:db8::1",
    "198.18.0.1",  # benchmarking
    "192.88.99.1",  # deprecated 6to4 relay anycast
]
PUBLIC_ADDRESSES = [PUBLIC_V4, "8.8.8.8", PUBLIC_V6, "::ffff:8.8.8.8", "64:ff9b::808:808"]


def literal_url(ip: str, *, scheme: str = "http", port: int | None = None) -> str:
    host = f"[{ip}]" if ":" in ip else ip
    return f"{scheme}://{host}{f':{port}' if port else ''}/hook"


def no_resolver(*args, **kwargs):
    raise AssertionError(f"resolver must not be called: {args} {kwargs}")


# --- destination guard --------------------------------------------------------------------


@pytest.mark.parametrize("ip", REFUSED_ADDRESSES)
@pytest.mark.parametrize("resolve", [True, False])
def test_literal_non_public_address_is_refused(ip: str, resolve: bool) -> None:
    with pytest.raises(WebhookRefused):
        check_destination(literal_url(ip), allow_networks=[], resolve=resolve, resolver=no_resolver)


@pytest.mark.parametrize("ip", REFUSED_ADDRESSES)
def test_name_resolving_to_non_public_address_is_refused(ip: str) -> None:
    resolver = fake_resolver({"hook.example.com": [ip]})
    with pytest.raises(WebhookRefused, match="resolves only to private or reserved addresses"):
        check_destination("https://hook.example.com/x", allow_networks=[], resolver=resolver)


@pytest.mark.parametrize("ip", PUBLIC_ADDRESSES)
def test_public_address_is_allowed(ip: str) -> None:
    expected = [ResolvedAddress(ipaddress.ip_address(ip), 443)]
    resolver = fake_resolver({"hook.example.com": [ip]})
    got = check_destination("https://hook.example.com/x", allow_networks=[], resolver=resolver)
    assert got == expected
    literal = check_destination(literal_url(ip, scheme="https"), allow_networks=[])
    assert literal == expected


def test_resolution_asks_for_the_url_port_and_returns_every_allowed_address() -> None:
    calls: list[tuple] = []
    resolver = fake_resolver({"hook.example.com": [PUBLIC_V6, PUBLIC_V4, PUBLIC_V4]}, calls)
    got = check_destination(
        "http://Hook.Example.COM.:8080/x?y=1", allow_networks=[], resolver=resolver
    )
    assert calls == [("hook.example.com", 8080, socket.SOCK_STREAM)]
    assert [(str(a.ip), a.port) for a in got] == [(PUBLIC_V6, 8080), (PUBLIC_V4, 8080)]
    assert got[0].family == socket.AF_INET6 and got[1].family == socket.AF_INET
    assert got[0].sockaddr == (PUBLIC_V6, 8080, 0, 0)
    assert got[1].sockaddr == (PUBLIC_V4, 8080)


def test_only_allowed_addresses_of_a_mixed_answer_are_kept() -> None:
    resolver = fake_resolver({"hook.example.com": ["10.0.0.7", PUBLIC_V4, "::1"]})
    got = check_destination("http://hook.example.com/", allow_networks=[], resolver=resolver)
    assert [str(a.ip) for a in got] == [PUBLIC_V4]


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "api.localhost"])
def test_localhost_names_are_loopback_without_asking_dns(host: str) -> None:
    calls: list[tuple] = []
    resolver = fake_resolver({host.lower(): [PUBLIC_V4]}, calls)  # a lying resolver
    with pytest.raises(WebhookRefused) as caught:
        check_destination(f"http://{host}:8000/", allow_networks=[], resolver=resolver)
    assert [str(a.ip) for a in caught.value.addresses] == ["127.0.0.1", "::1"]
    with pytest.raises(WebhookRefused):
        check_destination(f"http://{host}:8000/", allow_networks=[], resolve=False)
    assert calls == []


def test_allow_networks_admit_loopback_v4_but_not_v6() -> None:
    allow = ["127.0.0.0/8"]
    got = check_destination("http://127.0.0.1:9000/hook", allow_networks=allow)
    assert got == [ResolvedAddress(ipaddress.ip_address("127.0.0.1"), 9000)]
    mapped = check_destination("http://[::ffff:127.0.0.1]:9000/", allow_networks=allow)
    assert [str(a.ip) for a in mapped] == ["::ffff:7f00:1"]
    with pytest.raises(WebhookRefused):
        check_destination("http://[::1]:9000/hook", allow_networks=allow)
    with pytest.raises(WebhookRefused):
        check_destination("http://10.1.2.3/", allow_networks=allow)
    # localhost keeps only the loopback address the operator allowed
    local = check_destination("http://localhost:9000/", allow_networks=allow)
    assert [str(a.ip) for a in local] == ["127.0.0.1"]
    resolver = fake_resolver({"receiver.internal": ["::1", "127.0.0.1"]})
    named = check_destination("http://receiver.internal/", allow_networks=allow, resolver=resolver)
    assert [str(a.ip) for a in named] == ["127.0.0.1"]


def test_allow_networks_admit_private_v6_network() -> None:
    got = check_destination("http://[fd00::5]/", allow_networks=["fd00::/8"])
    assert [str(a.ip) for a in got] == ["fd00::5"]


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "example.com/hook",
        "//example.com/hook",
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "ws://example.com/",
        "http://",
        "http:///hook",
        "http://user:pw@example.com/hook",
        "http://user@example.com/hook",
        "http://@example.com/hook",
        "http://exa mple.com/",
        "http://example.com/a b",
        "http://example.com\n.evil/",
        "http://example.com/\x00",
        "http://[::1/",
        "http://::1/",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://example.com:abc/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://017700000001/",
        "http://[fe80::1%25eth0]/",
        "http://exa%6dple.com/",
        "http://-bad-.example/",
        "http://a..b/",
        "http://" + "a" * 64 + ".example/",
        "http://exa_mple.com<>/",
    ],
)
def test_malformed_or_unsupported_url_is_refused(url: str) -> None:
    with pytest.raises(WebhookRefused):
        check_destination(url, allow_networks=["0.0.0.0/0", "::/0"], resolver=no_resolver)


def test_non_string_url_is_refused() -> None:
    with pytest.raises(WebhookRefused):
        check_destination(None, allow_networks=[])  # type: ignore[arg-type]


def test_resolve_false_checks_syntax_only_for_names() -> None:
    assert (
        check_destination(
            "https://hook.example.com:8443/x",
            allow_networks=[],
            resolve=False,
            resolver=no_resolver,
        )
        == []
    )
    idn = check_destination("https://bücher.example/", allow_networks=[], resolve=False)
    assert idn == []


def test_idn_host_is_resolved_in_its_ascii_form() -> None:
    calls: list[tuple] = []
    resolver = fake_resolver({"xn--bcher-kva.example": [PUBLIC_V4]}, calls)
    check_destination("https://bücher.example/", allow_networks=[], resolver=resolver)
    assert calls[0][0] == "xn--bcher-kva.example"


def test_unresolvable_name_is_a_retryable_failure_not_a_refusal() -> None:
    with pytest.raises(WebhookDeliveryFailed) as caught:
        check_destination("http://nope.example/", allow_networks=[], resolver=fake_resolver({}))
    assert not isinstance(caught.value, WebhookRefused)
    assert caught.value.retryable
    with pytest.raises(WebhookDeliveryFailed, match="no IP address"):
        resolver = fake_resolver({"empty.example": []})
        check_destination("http://empty.example/", allow_networks=[], resolver=resolver)


def test_refusal_is_a_422_problem_naming_the_code() -> None:
    with pytest.raises(WebhookRefused) as caught:
        check_destination("http://10.0.0.1/", allow_networks=[])
    problem = caught.value.to_problem()
    assert problem["status"] == 422 and problem["code"] == "webhook_refused"
    assert "10.0.0.1" in problem["detail"]


def test_a_refusal_shows_the_client_no_resolved_address() -> None:
    """A client reads the reason through /deliveries: listing what its name resolved to would
    let it map internal DNS. The addresses stay on the error for the operator's log."""
    answers = {"db.internal.example": ["127.0.0.1", "10.1.2.3", "fd00::5"]}
    with pytest.raises(WebhookRefused) as caught:
        check_destination(
            "https://db.internal.example/x", allow_networks=[], resolver=fake_resolver(answers)
        )
    shown = json.dumps(caught.value.to_problem())
    assert ip_literals(shown) == [], shown
    assert "private or reserved" in caught.value.detail and "db.internal.example" in shown
    assert [str(a.ip) for a in caught.value.addresses] == answers["db.internal.example"]


def test_ip_literals_finds_both_families() -> None:
    assert ip_literals("to 10.1.2.3, ::1 and [fd00::5]:443 not v1.2") == [
        "10.1.2.3",
        "::1",
        "fd00::5",
    ]


# --- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hook.example.com", Destination("https", "hook.example.com", 443, "/")),
        (
            "http://Hook.Example.COM.:8080/a/b?x=1&y=%20",
            Destination("http", "hook.example.com", 8080, "/a/b?x=1&y=%20"),
        ),
        (
            "https://bücher.example/päth?q=ü",
            Destination("https", "xn--bcher-kva.example", 443, "/p%C3%A4th?q=%C3%BC"),
        ),
        ("http://[::FFFF:7F00:1]:9/", Destination("http", "::ffff:7f00:1", 9, "/")),
    ],
)
def test_parse_normalises_host_port_and_request_target(url: str, expected: Destination) -> None:
    assert parse_destination(url) == expected


# --- import boundary ----------------------------------------------------------------------


def test_destination_guard_loads_only_the_standard_library_and_the_shared_core() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import copydesk.deliver.destinations\n"
        "new = set(sys.modules) - before\n"
        "print(sorted(m for m in new if m.split('.')[0] not in sys.stdlib_module_names\n"
        "             and m not in ('copydesk', 'copydesk.deliver', 'copydesk.deliver.destinations')\n"
        "             and not m.startswith('copydesk.core')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
