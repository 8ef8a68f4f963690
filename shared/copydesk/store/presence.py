"""Which worker processes are alive, which queues they consume and which models they hold.

Each worker pool process announces itself in Redis under a key that expires
(``copydesk:presence:<host>:<pid>``, refreshed every BEAT seconds, gone TTL seconds after the
process is), with the queues it consumes, the models it has loaded and its RSS. The intake
reads these for ``/readyz`` (every queue needs a live worker with its models loaded) and
``/v1/models``; it works the same for processes on any number of hosts.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import redis

PREFIX = "copydesk:presence:"
DISPATCHER_PREFIX = "copydesk:dispatcher:"  # each dispatcher's own heartbeat
BEAT = 10.0
TTL = 30

log = logging.getLogger(__name__)


def announce(client: redis.Redis, ident: str, payload: dict[str, Any]) -> None:
    client.set(PREFIX + ident, json.dumps(payload), ex=TTL)


def live(client: redis.Redis) -> list[dict[str, Any]]:
    """Every process that announced itself within the last TTL seconds."""
    keys = list(client.scan_iter(PREFIX + "*", count=500))
    if not keys:
        return []
    return [json.loads(raw) for raw in client.mget(keys) if raw is not None]


class Heartbeat(threading.Thread):
    """Announce ``payload()`` every BEAT seconds until the process exits."""

    def __init__(
        self, client: redis.Redis, ident: str, payload: Callable[[], dict[str, Any]]
    ) -> None:
        super().__init__(name="copydesk-heartbeat", daemon=True)
        self.client = client
        self.key = ident
        self.payload = payload
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                announce(self.client, self.key, self.payload())
            except redis.RedisError as exc:  # Redis is away: the next beat tries again
                log.debug("heartbeat not sent: %s", exc)
            except Exception:
                log.exception("heartbeat failed")
            self.stopped.wait(BEAT)


def dispatchers(client: redis.Redis) -> int:
    """How many dispatchers beat within their TTL."""
    return sum(1 for _ in client.scan_iter(DISPATCHER_PREFIX + "*", count=500))
