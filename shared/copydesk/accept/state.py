"""Accept: store a new job with its raw article and its first task in one atomic step.

The intake calls this after validating a submission; a job never exists without its prepare
task, and an Idempotency-Key can never make two jobs, because both are decided inside CREATE.
"""

from __future__ import annotations

import json
from typing import Any

from copydesk.core.errors import QueueFull
from copydesk.core.names import OPEN_TENANT, PREPARE_QUEUE, queue_keys
from copydesk.core.packing import pack_json
from copydesk.store.base import COMMON_LUA, INFLIGHT, PREFIX, StoreBase, text
from copydesk.store.idempotency import Idempotency

GONE_GRACE_SECONDS = 30 * 24 * 3600  # how long an expired job still answers 410, not 404


CREATE = (
    COMMON_LUA
    + """
-- KEYS: job hash, raw article, first queue, expiry marker, job index, in-flight set, the
--       first stage's three priority lists (for the depth), [idempotency key]
-- ARGV: job id, record json, article view json, analyses csv, pending, now, raw article json,
--       ttl, first message ('' for none), request fingerprint, idempotency ttl,
--       most messages the first queue may hold (0: no limit), marker ttl, job key prefix,
--       '1' if the job has a webhook, stall seconds, tenant, batch id ('' for none)
-- The job joins the in-flight set, due for the sweeper's look once it could have stalled.
-- The job index is the tenant's; the expiry marker remembers the tenant, so an expired job
-- answers 410 only to its own tenant.
-- The index orders jobs by a counter (creation order, exact even within a millisecond); each
-- creation also drops up to two expired jobs from its old end, so it tracks stored jobs.
-- With an idempotency key: a key already used answers with its 'fingerprint job-id' and
-- nothing is created, so two concurrent retries can never make two jobs. A full first queue
-- answers 'busy' (backpressure) and creates nothing.
if #KEYS == 10 then
  local seen = redis.call('GET', KEYS[10])
  if seen then return {'exists', seen} end
end
local depth = 0
for i = 7, 9 do depth = depth + redis.call('LLEN', KEYS[i]) end
if tonumber(ARGV[12]) > 0 and depth >= tonumber(ARGV[12]) then
  return {'busy', tostring(depth)}
end
redis.call('SET', KEYS[4], ARGV[17], 'EX', ARGV[13])
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'article', ARGV[3], 'analyses', ARGV[4],
  'pending', ARGV[5], 'status', 'queued', 'updated_at', ARGV[6], 'webhook', ARGV[15],
  'batch', ARGV[18])
redis.call('EXPIRE', KEYS[1], ARGV[8])
emit(KEYS[1], KEYS[1] .. ':events', {type='job.queued', status='queued'})
redis.call('HINCRBY', 'copydesk:stats', 'jobs|accepted', 1)
redis.call('ZADD', KEYS[6], now() + tonumber(ARGV[16]), ARGV[1])
redis.call('SET', KEYS[2], ARGV[7], 'EX', ARGV[8])
if ARGV[9] ~= '' then redis.call('LPUSH', KEYS[3], ARGV[9]) end
redis.call('ZADD', KEYS[5], redis.call('INCR', KEYS[5] .. ':seq'), ARGV[1])
for _, old in ipairs(redis.call('ZRANGE', KEYS[5], 0, 1)) do
  if redis.call('EXISTS', ARGV[14] .. old) == 0 then redis.call('ZREM', KEYS[5], old) end
end
if #KEYS == 10 then redis.call('SET', KEYS[10], ARGV[10] .. ' ' .. ARGV[1], 'EX', ARGV[11]) end
return {'created', ''}
"""
)


class AcceptState(StoreBase):
    """The accept stage's writes: a job, or a whole batch of them."""

    def create(
        self,
        *,
        job_id: str,
        record: dict[str, Any],
        article: dict[str, Any],
        message: tuple[str, str] | None = None,
        idempotency: Idempotency | None = None,
        max_queued: int = 0,
    ) -> str | None:
        """Store a new queued job, its raw article and (optionally) its first task at once.

        ``record`` holds the static part (options, webhook, ...); ``record["article"]`` is
        what the job shows of the article until the prepare stage replaces it. ``message`` is
        ``(list, payload)`` from :func:`copydesk.core.messages.task_message`: written in the
        same script, so a job never exists without its task (one round trip). With
        ``idempotency``, a key seen before creates nothing: the return value is then the
        earlier request's ``"fingerprint job-id"``, else None. With ``max_queued``, prepare
        lists already holding that many messages (all priorities) raise
        :class:`~copydesk.core.errors.QueueFull` (429, with the depth as ``queued``) and create
        nothing.
        """
        keys, args = self._create_call(
            job_id=job_id,
            record=record,
            article=article,
            message=message,
            idempotency=idempotency,
            max_queued=max_queued,
        )
        outcome, seen = self.script(CREATE)(keys=keys, args=args)
        if text(outcome) == "busy":
            depth = int(text(seen))
            raise QueueFull(f"{depth} jobs are waiting to be analysed; retry later", queued=depth)
        return text(seen) if text(outcome) == "exists" else None

    def _create_call(
        self,
        *,
        job_id: str,
        record: dict[str, Any],
        article: dict[str, Any],
        message: tuple[str, str] | None,
        idempotency: Idempotency | None,
        max_queued: int,
    ) -> tuple[list[str], list[Any]]:
        """The keys and arguments of one CREATE script call."""
        key, _, _, _, raw_key = self._keys(job_id)
        queue, payload = message or ("", "")
        tenant = record.get("tenant", OPEN_TENANT)
        keys = [
            key, raw_key, queue or f"{PREFIX}:none", self.expiry_marker(job_id),
            self.job_index(tenant), INFLIGHT, *queue_keys(PREPARE_QUEUE),
        ]  # fmt: skip
        if idempotency is not None:
            keys.append(self.idempotency_key(idempotency.scope, idempotency.key))
        args: list[Any] = [
            job_id,
            json.dumps(record, ensure_ascii=False),
            json.dumps(record["article"], ensure_ascii=False),
            ",".join(record["analyses"]),
            len(record["analyses"]),
            record["created_at"],
            pack_json(article),
            self.ttl,
            payload,
            idempotency.fingerprint if idempotency else "",
            idempotency.ttl if idempotency else 0,
            max_queued,
            2 * self.ttl + GONE_GRACE_SECONDS,  # outlives the job however late it completes
            self.job_key(""),
            "1" if record.get("webhook") else "0",
            self.stall,
            tenant,
            record.get("batch") or "",
        ]
        return keys, args

    def create_batch(
        self,
        *,
        batch: dict[str, Any],
        jobs: list[tuple[str, dict[str, Any], dict[str, Any], tuple[str, str]]],
        idempotency: Idempotency | None = None,
        max_queued: int = 0,
    ) -> str | None:
        """Store a batch and all its jobs (``(job_id, record, article, message)``) at once.

        One MULTI/EXEC transaction of CREATE scripts: a crash leaves the whole batch or none
        of it. With ``idempotency``, the key is claimed first (SET NX, short-lived while the
        batch is written): a key in use answers its ``"fingerprint batch-id"``, or
        ``"processing ..."`` while another request is still writing its batch (409). With
        ``max_queued``, a batch that would take the prepare lists past it raises QueueFull.
        """
        claim = None
        if idempotency is not None:
            claim = self.idempotency_key(idempotency.scope, idempotency.key)
            if not self.redis.set(claim, f"processing {idempotency.fingerprint}", nx=True, ex=120):
                return text(self.redis.get(claim) or b"processing ?")
        try:
            if max_queued:
                depth = sum(self.redis.llen(name) for name in queue_keys(PREPARE_QUEUE))
                if depth + len(jobs) > max_queued:
                    raise QueueFull(
                        f"{depth} jobs are waiting; a batch of {len(jobs)} does not fit now",
                        queued=depth,
                    )
            with self.redis.pipeline(transaction=True) as pipe:
                for job_id, record, article, message in jobs:
                    keys, args = self._create_call(
                        job_id=job_id,
                        record=record,
                        article=article,
                        message=message,
                        idempotency=None,
                        max_queued=0,
                    )
                    self.script(CREATE)(keys=keys, args=args, client=pipe)
                key = self.batch_key(batch["id"])
                fields = {
                    "record": json.dumps(batch, ensure_ascii=False),
                    "total": len(jobs),
                    "ended": 0,
                    "webhook": "1" if batch.get("webhook") else "0",
                }
                pipe.hset(key, mapping=fields)
                pipe.expire(key, self.ttl)
                if claim is not None:
                    assert idempotency is not None
                    value = f"{idempotency.fingerprint} {batch['id']}"
                    pipe.set(claim, value, ex=idempotency.ttl)
                pipe.execute()
        except BaseException:
            if claim is not None:
                self.redis.delete(claim)
            raise
        return None
