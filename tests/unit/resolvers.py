"""Test doubles for name resolution, shared by the destination and webhook tests."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


def fake_resolver(answers: dict[str, list[str]], calls: list[tuple] | None = None):
    """Answer like socket.getaddrinfo from a table; raise gaierror for unknown names."""

    def resolve(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
        if calls is not None:
            calls.append((host, port, type))
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        infos = []
        for ip in answers[host]:
            if ":" in ip:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)))
        return infos

    return resolve


def ip_literals(text: str) -> list[str]:
    """Every IPv4 or IPv6 address written in ``text``."""
    found = []
    for token in re.findall(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*", text):
        with contextlib.suppress(ValueError):
            found.append(str(ipaddress.ip_address(token.strip("."))))
    return found
