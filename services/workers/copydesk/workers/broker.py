"""kombu's Redis transports, with the fault that took a worker down on a Redis restart mended.

When a worker loses Redis, Celery collects the broken connection and then closes it. If the
channel's first close did not finish (a read that times out on a Redis that is still dying),
collecting drops the transport's link to its connection anyway; the second close then goes on to
restore the channel's unacked messages, finds no connection to build a client from and raises
``AttributeError``. Celery ignores only connection errors there, so the worker exited with
"Unrecoverable error" and consumed nothing until something restarted it. It happened in one CI
run of tests/reliability/test_faults.py; tests/integration/test_broker.py reproduces it.

Here a channel whose connection was collected raises the transport's own connection error
instead, which Celery ignores as it reconnects. The unacked messages are not lost: they stay in
kombu's unacked hash in Redis, and its visibility sweep (``unacked_restore_interval``) puts them
back on their queues, as it does for a worker that died.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu import transport as kombu_transport
from kombu.transport import redis as kombu_redis


class _CollectedConnection:
    """Refuse to build a client once the channel's connection has been collected."""

    connection: Any

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection was collected")
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]


class Channel(_CollectedConnection, kombu_redis.Channel):
    pass


class SentinelChannel(_CollectedConnection, kombu_redis.SentinelChannel):
    pass


class Transport(kombu_redis.Transport):
    Channel = Channel


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel


SCHEMES = {"redis": "Transport", "rediss": "Transport", "sentinel": "SentinelTransport"}


def register() -> None:
    """Make this process's ``redis://``, ``rediss://`` and ``sentinel://`` URLs use these
    transports (kombu resolves a URL's scheme through its alias table).

    Registering the schemes, rather than naming the class in Celery's ``broker_transport``,
    keeps the broker URL a ``redis://`` URL wherever it is shown or parsed: Flower reads the
    scheme to find the queues' lengths.
    """
    resolved = getattr(kombu_transport, "_transport_cache", {})  # kombu's, by scheme
    for scheme, name in SCHEMES.items():
        kombu_transport.TRANSPORT_ALIASES[scheme] = f"{__name__}:{name}"
        resolved.pop(scheme, None)  # resolved before registering: resolve it again
