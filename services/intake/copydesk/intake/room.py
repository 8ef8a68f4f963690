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

import redis

from copydesk.core import errors

log = logging.getLogger(__name__)


class StoreRoom:
    """Tell whether Redis has room for a new job, from its ``INFO memory``.

    Read afresh for every submission (about 0.2 ms, beside the several round trips a job
    already costs): a reading kept even for a second let a burst of 30 kB jobs run 200 of
    them past the mark, straight into Redis's own refusal.
    """

    def __init__(self, client: redis.Redis, *, percent: int) -> None:
        self.client = client
        self.percent = percent
        self._unreadable = False

    def check(self) -> None:
        """Raise :class:`~copydesk.core.errors.StoreFull` when a new job must wait."""
        if self.percent >= 100 or self._unreadable:
            return  # only Redis's own refusal
        try:
            info = self.client.info("memory")
        except redis.ResponseError as exc:  # INFO denied (an ACL): Redis's refusal only
            log.warning("cannot read Redis's memory use (%s); relying on its OOM answer", exc)
            self._unreadable = True
            return
        used, limit = int(info["used_memory"]), int(info.get("maxmemory", 0))
        if limit and used * 100 >= limit * self.percent:
            raise errors.StoreFull(
                f"the job store is full ({used * 100 // limit}% of Redis's maxmemory in use); "
                "new jobs are accepted again as stored ones expire"
            )
