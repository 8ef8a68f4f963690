"""The archive's outbox in Redis: finished jobs wait here until their row is in PostgreSQL.

The script that ends a job (``copydesk.complete.state.FINISHED``) puts its id in the outbox
in the same step that makes its webhook due, so no finished job can miss its archiving, and
completing never waits for PostgreSQL. The archiver (``copydesk.archive.archiver``) claims
ids with a lease (deliver's ``CLAIM``: a dead archiver's claims come due again), writes their
rows, and only after the commit acknowledges each (``ARCHIVED``). Writes are idempotent
upserts, so an entry taken twice makes one row.

A job's hash counts its archiving (``archive_version``): a webhook that settles after its job
was archived queues it again, so the row ends with the webhook's outcome; the archiver's
acknowledgement of an older version then leaves the newer entry in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from copydesk.archive.outbox import OUTBOX
from copydesk.deliver.state import CLAIM
from copydesk.store.base import StoreBase, text
from copydesk.store.records import job_from
from copydesk.store.scripts import Script
from copydesk.store.stats import STATS

ARCHIVED = Script(
    keys=("job", "doc", "stream", "vectors", "log", "body", "outbox", "stats"),
    args=("job_id", "version", "kept"),
    body="""
-- After the job's row committed at ``version``: drop it from the outbox, free its vectors, and
-- let Redis keep it only ``kept`` more seconds (reads then come from the archive), in one step.
-- A webhook still pending keeps the job as it is: settling it queues the job again, and that
-- acknowledgement shortens it. A newer version (queued since the row was read) stays queued.
if redis.call('EXISTS', K.job) == 0 then
  redis.call('ZREM', K.outbox, A.job_id)
  return 'missing'
end
if redis.call('HGET', K.job, 'archive_version') ~= A.version then
  -- a newer version is due: keep it queued even if another archiver's acknowledgement of
  -- that newer version took it out before this older row committed over it
  redis.call('ZADD', K.outbox, 'NX', 0, A.job_id)
  return 'requeued'
end
redis.call('ZREM', K.outbox, A.job_id)
redis.call('HSET', K.job, 'archive', 'done')
redis.call('DEL', K.vectors)
redis.call('HINCRBY', K.stats, 'archive|written', 1)
if redis.call('HGET', K.job, 'webhook_state') == 'pending' then return 'archived' end
for _, key in ipairs({K.job, K.doc, K.stream, K.log, K.body}) do
  local ttl = redis.call('TTL', key)
  if ttl < 0 or ttl > tonumber(A.kept) then redis.call('EXPIRE', key, A.kept) end
end
return 'archived'
""",
)
# EXPIRE on a key without a TTL (-1) would make a key that never expired expire: every key
# here has one, so -1 only means "missing" (-2) races; either way EXPIRE is harmless.

RELEASE = Script(
    keys=("outbox",),
    args=("*job_ids",),
    body="""
-- The archiver could not write these: due again at once (for the archiver's next try after
-- its backoff), not after their lease. Only ids still in the outbox: XX adds none.
local now = redis.call('TIME')
for _, id in ipairs(A.job_ids) do redis.call('ZADD', K.outbox, 'XX', now[1], id) end
return #A.job_ids
""",
)


@dataclass(frozen=True, slots=True)
class Entry:
    """What the archiver writes of one finished job, read from Redis in one round trip."""

    job: dict[str, Any]
    doc: bytes | None
    vectors: bytes | None
    version: str


class ArchiveState(StoreBase):
    def claim_archiving(self, *, lease_seconds: float, limit: int) -> list[str]:
        """Claim up to ``limit`` finished jobs due to be archived, for ``lease_seconds``."""
        ids = self.run(CLAIM, keys={"due": OUTBOX}, args={"lease": lease_seconds, "most": limit})
        return [text(job_id) for job_id in ids]

    def release_archiving(self, job_ids: list[str]) -> None:
        """Make claimed jobs due again at once (their write failed)."""
        if job_ids:
            self.run(RELEASE, keys={"outbox": OUTBOX}, args={"job_ids": job_ids})

    def archive_entries(self, job_ids: list[str]) -> dict[str, Entry | None]:
        """The job, its prepared document and its vectors, per id (None once it expired)."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                keys = self.keys_of(job_id)
                pipe.hgetall(keys.job)
                pipe.get(keys.doc)
                pipe.get(keys.vectors)
            replies = pipe.execute()
        entries: dict[str, Entry | None] = {}
        for i, job_id in enumerate(job_ids):
            raw, doc, vectors = replies[3 * i : 3 * i + 3]
            job = job_from(raw)
            version = raw.get(b"archive_version", b"")
            entries[job_id] = None if job is None else Entry(job, doc, vectors, text(version))
        return entries

    def archived(self, job_id: str, *, version: str) -> str:
        """Acknowledge the job's row at ``version``: ``archived``, ``requeued`` (a newer
        version waits) or ``missing``."""
        keys = self.keys_of(job_id)
        return text(
            self.run(
                ARCHIVED,
                keys={
                    "job": keys.job,
                    "doc": keys.doc,
                    "stream": keys.stream,
                    "vectors": keys.vectors,
                    "log": keys.job + ":deliveries",
                    "body": keys.job + ":webhook",
                    "outbox": OUTBOX,
                    "stats": STATS,
                },
                args={"job_id": job_id, "version": version, "kept": self.archived_seconds},
            )
        )

    def drop_archiving(self, job_id: str, *, outcome: str) -> None:
        """Take a job that will never be archived out of the outbox (it expired, or is older
        than the retention), counted under ``outcome``."""
        with self.redis.pipeline() as pipe:
            pipe.zrem(OUTBOX, job_id)
            pipe.hincrby(STATS, f"archive|{outcome}", 1)
            pipe.execute()

    def outbox_depth(self) -> int:
        return int(self.redis.zcard(OUTBOX))
