"""The job store on Redis: every stage's steps on one connection.

Each stage owns its transitions and their Lua (accept, prepare, complete, deliver, sweep);
this class only puts them together, so callers hold one object and a stage's code stays in
the module named for it.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import redis

from copydesk.accept.state import AcceptState
from copydesk.archive.state import ArchiveState
from copydesk.complete.state import CompleteState
from copydesk.deliver.state import DeliverState
from copydesk.prepare.state import PrepareState
from copydesk.store.base import redis_client
from copydesk.store.idempotency import IdempotencyRecords
from copydesk.store.labelsets import LabelSetStore
from copydesk.store.listing import JobListing
from copydesk.sweep.state import SweepState

if TYPE_CHECKING:
    from copydesk.core.settings import Settings


class RedisJobStore(
    AcceptState,
    PrepareState,
    CompleteState,
    DeliverState,
    SweepState,
    ArchiveState,
    JobListing,
    IdempotencyRecords,
):
    """The job store on Redis: one hash per job plus its prepared document."""

    @functools.cached_property
    def label_sets(self) -> LabelSetStore:
        """The tenants' label sets, kept on the same Redis as the jobs that name them."""
        return LabelSetStore(self.redis, ttl_seconds=self.ttl)

    def label_set(self, tenant: str, name: str, version: str) -> list[Any] | None:
        return self.label_sets.labels(tenant, name, version)

    @classmethod
    def from_url(cls, url: str, *, ttl_seconds: int, stall_seconds: int = 390) -> RedisJobStore:
        return cls(
            redis.Redis.from_url(url, socket_timeout=10, health_check_interval=30),
            ttl_seconds=ttl_seconds,
            stall_seconds=stall_seconds,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisJobStore:
        return cls(
            redis_client(settings),
            ttl_seconds=settings.job_ttl_seconds,
            stall_seconds=settings.stall_deadline,
            gone_seconds=settings.gone_seconds,
            archive=bool(settings.database_url),
            archived_seconds=settings.archive_kept_seconds,
        )
