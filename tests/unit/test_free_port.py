"""The test servers' ports: free, and out of the range outgoing connections take theirs from."""

from __future__ import annotations

import socket

import pytest

from copydesk.devstack.redis_server import ephemeral_ports, free_port


def test_a_port_an_outgoing_connection_took_cannot_be_listened_on():
    """Why: a port picked by binding to 0 comes from the kernel's ephemeral range, the range
    every outgoing connection takes its own port from. One that a worker's connection to
    Redis took between the pick and the server's bind kept the server from starting (an
    e2e stack's intake: "Address already in use")."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            taken = client.getsockname()[1]
            low, high = ephemeral_ports()
            assert low <= taken <= high
            with socket.socket() as late, pytest.raises(OSError):
                late.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                late.bind(("127.0.0.1", taken))


def test_free_ports_are_below_the_ephemeral_range_and_free():
    low, _ = ephemeral_ports()
    ports = {free_port() for _ in range(50)}
    assert all(1024 <= port < low for port in ports)
    assert len(ports) > 40  # drawn at random, not handed out in turn
    for port in list(ports)[:5]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
