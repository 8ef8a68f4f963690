"""Refuse new jobs while Redis is near its maxmemory, so the jobs it holds can still finish.

With ``maxmemory-policy noeviction`` Redis refuses every write that needs memory once it is
past ``maxmemory``: a new job's, but also a worker's prepared text and results. Refusing new
jobs a little earlier (``COPYDESK_STORE_FULL_PERCENT`` of maxmemory, 503 ``store_full``)
keeps the rest for the jobs already accepted. Redis's own refusal (an OOM error, answered
the same way by ``problems.py``) stays the backstop. Nothing here evicts or deletes: room
comes back as stored jobs expire.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from copydesk.core import errors

log = logging.getLogger(__name__)


# A reading of INFO memory is used again for at most this long, and only while the jobs this
# process has accepted since weigh less than its share of the room left under the mark.
REREAD_SECONDS = 1.0
SHARERS = 16  # processes assumed to fill the same room between two readings
JOB_OVERHEAD_BYTES = 10_000  # a short finished job's keys (bench/scale.py: 10,312 B)
TEXT_COPIES = 4  # the article, its prepared text, its parse and results come to about this


def job_weight(size: int) -> int:
    """What a job whose article is ``size`` bytes (UTF-8) is likely to come to in Redis."""
    return JOB_OVERHEAD_BYTES + TEXT_COPIES * size


class StoreRoom:
    """Tell whether Redis has room for a new job, from its ``INFO memory``.

    Reading INFO for every submission cost a sixth of the intake's CPU per job. A reading is
    used again instead, for at most REREAD_SECONDS, and only while what this process has
    accepted since (by :func:`job_weight`) stays under 1/SHARERS of the room then left
    under the mark; near the mark that is every job or two. (A reading kept for a second
    whatever came in let a burst of 30 kB jobs run 200 of them past the mark, straight into
    Redis's own refusal.)
    """

    def __init__(self, client: redis.Redis, *, percent: int) -> None:
        self.client = client
        self.percent = percent
        self._unreadable = False
        self._read_at = float("-inf")
        self._used = self._limit = 0
        self._since = 0  # weight accepted by this process since the reading
        self._allowance = 0
        self._lock = threading.Lock()

    def check(self, weight: int) -> None:
        """Raise :class:`~copydesk.core.errors.StoreFull` when a new job (or batch) of this
        weight must wait; otherwise count its weight against the reading. The intake's
        threads share one reading, under a lock."""
        if self.percent >= 100 or self._unreadable:
            return  # only Redis's own refusal
        with self._lock:
            self._check(weight)

    def _check(self, weight: int) -> None:
        now = time.monotonic()
        stale = now - self._read_at >= REREAD_SECONDS
        if stale or self._since + weight > self._allowance:
            try:
                self._read(now)
            except redis.ResponseError as exc:  # INFO denied (an ACL): Redis's refusal only
                log.warning("cannot read Redis's memory use (%s); relying on its OOM answer", exc)
                self._unreadable = True
                return
        used, limit = self._used, self._limit
        if limit and used * 100 >= limit * self.percent:
            raise errors.StoreFull(
                f"the job store is full ({used * 100 // limit}% of Redis's maxmemory in use); "
                "new jobs are accepted again as stored ones expire"
            )
        self._since += weight

    def _read(self, now: float) -> None:
        info = self.client.info("memory")
        self._used, self._limit = int(info["used_memory"]), int(info.get("maxmemory", 0))
        mark = self._limit * self.percent // 100
        self._allowance = max(0, mark - self._used) // SHARERS if self._limit else 1 << 62
        self._read_at, self._since = now, 0
