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
from copydesk.store.base import INFLIGHT, StoreBase, text
from copydesk.store.idempotency import Idempotency
from copydesk.store.scripts import EMIT, LIST, NOW, Script
from copydesk.store.stats import STATS

CREATE = Script(
    keys=(
        "job", "raw", "channel", "stream", "gone", "inflight", "stats", "jobs", "jobs_queued",
        "ref?", "queue?", "idempotency?", "*prepare_lists",
    ),
    args=(
        "job_id", "tenant", "batch", "record", "article", "analyses", "pending", "now",
        "raw_article", "ttl", "gone_ttl", "listed_seconds", "webhook", "stall", "message",
        "fingerprint", "idempotency_ttl", "max_queued",
    ),
    body=NOW
    + EMIT
    + LIST
    + """
-- ``prepare_lists`` are the first stage's lists of every priority (for the depth); ``queue``,
-- one of them, gets ``message``. With an idempotency key: a key already used answers with its
-- 'fingerprint job-id' and nothing is created, so two concurrent retries can never make two
-- jobs. A full first queue answers 'busy' (backpressure) and creates nothing.
if K.idempotency then
  local seen = redis.call('GET', K.idempotency)
  if seen then return {'exists', seen} end
end
local depth = 0
for _, list in ipairs(K.prepare_lists) do depth = depth + redis.call('LLEN', list) end
if tonumber(A.max_queued) > 0 and depth >= tonumber(A.max_queued) then
  return {'busy', tostring(depth)}
end
-- The job is listed (all the tenant's jobs, its queued ones, those of its ref) under when it
-- was created, in microseconds: after every job listed before it, even within one microsecond
-- (a batch's jobs share one server time), so the order is exact and a cursor is one number.
local score = now_us()
local last = redis.call('ZRANGE', K.jobs, -1, -1, 'WITHSCORES')[2]
if last and tonumber(last) >= tonumber(score) then
  score = string.format('%.0f', tonumber(last) + 1)
end
redis.call('HSET', K.job, 'record', A.record, 'article', A.article, 'analyses', A.analyses,
  'pending', A.pending, 'status', 'queued', 'updated_at', A.now, 'webhook', A.webhook,
  'batch', A.batch, 'tenant', A.tenant, 'listed', score)
redis.call('EXPIRE', K.job, A.ttl)
-- the expiry marker remembers the tenant, so an expired job answers 410 only to its own
-- tenant; it outlives the job by the same time whenever the job ends (FINISHED renews it)
redis.call('SET', K.gone, A.tenant, 'EX', A.gone_ttl)
emit({type='job.queued', status='queued'})
redis.call('HINCRBY', K.stats, 'jobs|accepted', 1)
-- the job joins the in-flight set, due for the sweeper's look once it could have stalled
redis.call('ZADD', K.inflight, now() + tonumber(A.stall), A.job_id)
redis.call('SET', K.raw, A.raw_article, 'EX', A.ttl)
if K.queue then redis.call('LPUSH', K.queue, A.message) end
list_job(K.jobs, score)
list_job(K.jobs_queued, score)
if K.ref then list_job(K.ref, score) end
if K.idempotency then
  redis.call('SET', K.idempotency, A.fingerprint .. ' ' .. A.job_id, 'EX', A.idempotency_ttl)
end
return {'created', ''}
""",
)  # fmt: skip


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
        outcome, seen = self.run(CREATE, keys=keys, args=args)
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
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The keys and arguments of one CREATE script call."""
        job = self.keys_of(job_id)
        queue, payload = message or (None, "")
        tenant = record.get("tenant", OPEN_TENANT)
        ref = (record.get("article") or {}).get("ref")
        keys = {
            "job": job.job,
            "raw": job.raw,
            "channel": job.channel,
            "stream": job.stream,
            "gone": job.gone,
            "inflight": INFLIGHT,
            "stats": STATS,
            "jobs": self.job_index(tenant),
            "jobs_queued": self.status_indexes(tenant)["jobs_queued"],
            "ref": self.ref_index(tenant, ref) if ref is not None else None,
            "queue": queue,
            "idempotency": (
                self.idempotency_key(idempotency.scope, idempotency.key) if idempotency else None
            ),
            "prepare_lists": queue_keys(PREPARE_QUEUE),
        }
        args = {
            "job_id": job_id,
            "tenant": tenant,
            "batch": record.get("batch") or "",
            "record": json.dumps(record, ensure_ascii=False),
            "article": json.dumps(record["article"], ensure_ascii=False),
            "analyses": ",".join(record["analyses"]),
            "pending": len(record["analyses"]),
            "now": record["created_at"],
            "raw_article": pack_json(article),
            "ttl": self.ttl,
            "gone_ttl": self.ttl + self.gone,
            "listed_seconds": self.listed_seconds,
            "webhook": "1" if record.get("webhook") else "0",
            "stall": self.stall,
            "message": payload,
            "fingerprint": idempotency.fingerprint if idempotency else "",
            "idempotency_ttl": idempotency.ttl if idempotency else 0,
            "max_queued": max_queued,
        }
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
                    self.run(CREATE, keys=keys, args=args, client=pipe)
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
