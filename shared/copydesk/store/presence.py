"""Which worker and dispatcher processes are alive, what they consume and what they hold.

Two keys, read in O(processes) whatever else Redis holds: the sorted set ``MEMBERS`` (each
process, scored by when its presence runs out, on the Redis server's clock so hosts never
disagree) and the hash ``ABOUT`` (each process's JSON: kind, host, pid, queues, models, RSS).
A per-process key found by SCAN made every probe cost as much as the keyspace (0.5 s at a
million keys), and any client could drive that cost; here nothing scans.

A process announces itself every BEAT seconds and counts for TTL seconds after; a worker
first announces once its models are loaded. A process that stops cleanly withdraws at once;
one that dies drops out TTL seconds after its last beat, and readers remove it then. Both
keys expire when the last process's presence runs out, so nothing outlives the processes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis

from copydesk.store.base import PREFIX
from copydesk.store.scripts import NOW, Script, run

MEMBERS = f"{PREFIX}:presence"  # sorted set: process -> when its presence runs out
ABOUT = f"{PREFIX}:presence:about"  # hash: process -> its JSON
BEAT = 10.0
TTL = 30
MAX_PROCESSES = 4000  # read at most this many (Lua's unpack limit is near 8,000)

log = logging.getLogger(__name__)

# Drop the processes whose presence ran out, then make both keys expire with the last one.
_TIDY = (
    NOW
    + """
local function tidy(at)
  local gone = redis.call('ZRANGEBYSCORE', K.members, '-inf', '(' .. at, 'LIMIT', 0, 1000)
  if #gone > 0 then
    redis.call('ZREM', K.members, unpack(gone))
    redis.call('HDEL', K.about, unpack(gone))
  end
  local last = redis.call('ZRANGE', K.members, -1, -1, 'WITHSCORES')
  if #last > 0 then
    local expires = math.floor(tonumber(last[2])) + 1
    redis.call('EXPIREAT', K.members, expires)
    redis.call('EXPIREAT', K.about, expires)
  end
end
"""
)
ANNOUNCE = Script(
    keys=("members", "about"),
    args=("process", "about", "ttl"),
    body=_TIDY
    + """
local at = now()
redis.call('ZADD', K.members, at + tonumber(A.ttl), A.process)
redis.call('HSET', K.about, A.process, A.about)
tidy(at)
""",
)
# Returns each live process's JSON, at most ``most`` of them.
LIVE = Script(
    keys=("members", "about"),
    args=("most",),
    body=_TIDY
    + """
local at = now()
tidy(at)
local alive = redis.call('ZRANGEBYSCORE', K.members, at, '+inf', 'LIMIT', 0, tonumber(A.most))
if #alive == 0 then return {} end
return redis.call('HMGET', K.about, unpack(alive))
""",
)


def announce(client: redis.Redis, process: str, about: dict[str, Any], *, ttl: int = TTL) -> None:
    """Count ``process`` (e.g. ``worker:<host>:<pid>``) as alive for ``ttl`` seconds."""
    keys = {"members": MEMBERS, "about": ABOUT}
    args = {"process": process, "about": json.dumps(about), "ttl": ttl}
    run(client, ANNOUNCE, keys=keys, args=args)


def withdraw(client: redis.Redis, process: str) -> None:
    """Stop counting ``process`` at once (it is stopping cleanly)."""
    with client.pipeline(transaction=True) as pipe:
        pipe.zrem(MEMBERS, process).hdel(ABOUT, process).execute()


def live(client: redis.Redis) -> list[dict[str, Any]]:
    """Every process whose presence has not run out, workers and dispatchers."""
    keys = {"members": MEMBERS, "about": ABOUT}
    found = run(client, LIVE, keys=keys, args={"most": MAX_PROCESSES})
    return [json.loads(raw) for raw in found if raw is not None]


def workers(processes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in processes if p.get("kind", "worker") == "worker"]


def dispatchers(processes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in processes if p.get("kind") == "dispatcher"]


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which queues the live workers consume, and how many dispatchers run."""

    workers: dict[str, int]  # queue -> live worker processes consuming it
    dispatchers: int

    @property
    def missing(self) -> list[str]:
        return [queue for queue, count in self.workers.items() if not count]

    @property
    def complete(self) -> bool:
        return not self.missing and self.dispatchers > 0


def coverage(processes: list[dict[str, Any]], queues: Iterable[str]) -> Coverage:
    serving = workers(processes)
    return Coverage(
        workers={q: sum(q in w.get("queues", ()) for w in serving) for q in queues},
        dispatchers=len(dispatchers(processes)),
    )


class Heartbeat(threading.Thread):
    """Announce ``about()`` every BEAT seconds until :meth:`stop`, which withdraws it."""

    def __init__(
        self, client: redis.Redis, process: str, about: Callable[[], dict[str, Any]]
    ) -> None:
        super().__init__(name="copydesk-heartbeat", daemon=True)
        self.client = client
        self.process = process
        self.about = about
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                announce(self.client, self.process, self.about())
            except redis.RedisError as exc:  # Redis is away: the next beat tries again
                log.debug("heartbeat not sent: %s", exc)
            except Exception:
                log.exception("heartbeat failed")
            self.stopped.wait(BEAT)

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop beating and withdraw (after a beat in flight, so none comes after)."""
        self.stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
        try:
            withdraw(self.client, self.process)
        except redis.RedisError as exc:  # it drops out TTL seconds after its last beat
            log.warning("presence of %s not withdrawn: %s", self.process, exc)
