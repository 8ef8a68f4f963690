"""Keep jobs, their prepared text and their results in Redis, with atomic transitions.

Recording a result and deciding that the job is finished happen in one Lua script, so two
workers finishing together can neither both complete the job nor leave it unfinished. Every
transition is published on the job's event channel for pollers and SSE.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import redis

from copydesk.core.document import Document
from copydesk.core.schemas import TERMINAL_STATUSES

PREFIX = "copydesk"

_CREATE = """
-- KEYS: job hash, raw article, first queue, expiry marker, job index, [idempotency key]
-- ARGV: job id, record json, article view json, analyses csv, pending, now, raw article json,
--       ttl, first message ('' for none), request fingerprint, idempotency ttl,
--       most messages the first queue may hold (0: no limit), marker ttl, job key prefix
-- The index orders jobs by a counter (creation order, exact even within a millisecond); each
-- creation also drops up to two expired jobs from its old end, so it tracks stored jobs.
-- With an idempotency key: a key already used answers with its 'fingerprint job-id' and
-- nothing is created, so two concurrent retries can never make two jobs. A full first queue
-- answers 'busy' (backpressure) and creates nothing.
if #KEYS == 6 then
  local seen = redis.call('GET', KEYS[6])
  if seen then return {'exists', seen} end
end
local depth = redis.call('LLEN', KEYS[3])
if tonumber(ARGV[12]) > 0 and depth >= tonumber(ARGV[12]) then
  return {'busy', tostring(depth)}
end
redis.call('SET', KEYS[4], '1', 'EX', ARGV[13])
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'article', ARGV[3], 'analyses', ARGV[4],
  'pending', ARGV[5], 'status', 'queued', 'updated_at', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('SET', KEYS[2], ARGV[7], 'EX', ARGV[8])
if ARGV[9] ~= '' then redis.call('LPUSH', KEYS[3], ARGV[9]) end
redis.call('ZADD', KEYS[5], redis.call('INCR', KEYS[5] .. ':seq'), ARGV[1])
for _, old in ipairs(redis.call('ZRANGE', KEYS[5], 0, 1)) do
  if redis.call('EXISTS', ARGV[14] .. old) == 0 then redis.call('ZREM', KEYS[5], old) end
end
if #KEYS == 6 then redis.call('SET', KEYS[6], ARGV[10] .. ' ' .. ARGV[1], 'EX', ARGV[11]) end
return {'created', ''}
"""

_CANCEL = """
-- KEYS[1] job hash, KEYS[2] channel, KEYS[3] vectors, KEYS[4] raw article, KEYS[5] webhooks
-- ARGV: cancelled result json, now, ttl, webhook task message ('' when the job has none)
-- A finished job stays as it is; otherwise every analysis without a result gets the
-- cancelled result and the job ends, in one step, so no worker can complete it meanwhile.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('HEXISTS', KEYS[1], 'completed_at') == 1 then
  return redis.call('HGET', KEYS[1], 'status')
end
for name in string.gmatch(redis.call('HGET', KEYS[1], 'analyses'), '[^,]+') do
  redis.call('HSETNX', KEYS[1], 'result:' .. name, ARGV[1])
end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'pending', 0, 'completed_at', ARGV[2],
  'updated_at', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('PUBLISH', KEYS[2], cjson.encode({type='job.cancelled', status='cancelled'}))
if ARGV[4] ~= '' then
  redis.call('LPUSH', KEYS[5], ARGV[4])
  redis.call('HSETNX', KEYS[1], 'webhook_state', 'queued')
end
return 'cancelled'
"""

_START = """
-- KEYS[1] job hash, KEYS[2] channel; ARGV: stage, field whose presence means done, now
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', '', 0} end
local status = redis.call('HGET', KEYS[1], 'status')
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 or redis.call('HEXISTS', KEYS[1], 'completed_at') == 1
then
  return {'done', status, 0}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts:' .. ARGV[1], 1)
if status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'updated_at', ARGV[3])
  redis.call('PUBLISH', KEYS[2], cjson.encode({type='job.running', status='running'}))
  status = 'running'
end
return {'started', status, attempts}
"""

_SAVE_PREPARED = """
-- KEYS: job hash, channel, doc, vectors, raw article, then one queue per message
-- ARGV: doc json, vectors bytes ('' for none), article json, now, ttl, step, then one
-- message per queue. Step 'text' stores the document and queues the analyses that need no
-- vectors (once); step 'final' stores the vectors and queues the rest, and ends preparing.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('HGET', KEYS[1], 'prepared') == '1' then return 'done' end
if redis.call('HEXISTS', KEYS[1], 'completed_at') == 1 then  -- cancelled meanwhile: text only
  redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[5])
  redis.call('HSET', KEYS[1], 'text_ready', '1', 'article', ARGV[3])
  redis.call('DEL', KEYS[5])
  return 'done'
end
local step = ARGV[6]
if step == 'text' and redis.call('HGET', KEYS[1], 'text_ready') == '1' then return 'done' end
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[5])
if ARGV[2] ~= '' then redis.call('SET', KEYS[4], ARGV[2], 'EX', ARGV[5]) end
redis.call('HSET', KEYS[1], 'text_ready', '1', 'article', ARGV[3], 'updated_at', ARGV[4])
if step == 'final' then
  redis.call('HSET', KEYS[1], 'prepared', '1')
  redis.call('DEL', KEYS[5])
end
redis.call('PUBLISH', KEYS[2], cjson.encode({type='job.' .. step .. '_prepared'}))
for i = 6, #KEYS do redis.call('LPUSH', KEYS[i], ARGV[i + 1]) end
return 'prepared'
"""

_RECORD = """
-- KEYS[1] job hash, KEYS[2] channel, KEYS[3] doc, KEYS[4] vectors, KEYS[5] raw article
-- ARGV: analysis, result json, now, ttl, '1' if the analysis succeeded else '0'
-- O(1) whatever the results weigh: successes are counted, results are never decoded here.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', ''} end
local field = 'result:' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], field) == 1 then
  return {'duplicate', redis.call('HGET', KEYS[1], 'status')}
end
redis.call('HSET', KEYS[1], field, ARGV[2], 'updated_at', ARGV[3])
local ok = redis.call('HINCRBY', KEYS[1], 'succeeded', tonumber(ARGV[5]))
local pending = redis.call('HINCRBY', KEYS[1], 'pending', -1)
local status = redis.call('HGET', KEYS[1], 'status')
redis.call('PUBLISH', KEYS[2], cjson.encode({type='analysis.completed', analysis=ARGV[1]}))
if pending > 0 then
  if status == 'queued' then
    status = 'running'
    redis.call('HSET', KEYS[1], 'status', status)
  end
  return {'recorded', status}
end
local total = 0
for _ in string.gmatch(redis.call('HGET', KEYS[1], 'analyses'), '[^,]+') do total = total + 1 end
if ok == total then status = 'succeeded'
elseif ok == 0 then status = 'failed'
else status = 'partially_succeeded' end
redis.call('HSET', KEYS[1], 'status', status, 'completed_at', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('DEL', KEYS[4], KEYS[5])
redis.call('PUBLISH', KEYS[2], cjson.encode({type='job.' .. status, status=status}))
return {'completed', status}
"""


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


JOB_ID = re.compile(r"[0-9a-f]{32}")


def new_job_id() -> str:
    """Return a new job id: 32 lowercase hex digits, the only form ``JOB_ID`` accepts."""
    return uuid.uuid4().hex


JOB_INDEX = f"{PREFIX}:jobs"  # sorted set: job id by creation number
LIST_BATCH = 100
LIST_SCAN_LIMIT = 2000  # index entries one page may read while filtering
GONE_GRACE_SECONDS = 30 * 24 * 3600  # how long an expired job still answers 410, not 404


class QueueFull(Exception):
    """The first queue holds too many messages to accept another job now."""

    def __init__(self, depth: int) -> None:
        super().__init__(f"{depth} jobs are waiting")
        self.depth = depth


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A client's Idempotency-Key, where it applies, and what the request said."""

    scope: str  # the tenant, once there are tenants
    key: str
    fingerprint: str  # a hash of the request body
    ttl: int


@dataclass(frozen=True, slots=True)
class Transition:
    """What a store operation did: ``outcome`` names it, ``status`` is the job's status after."""

    outcome: str
    status: str
    attempts: int = 0

    @property
    def completed(self) -> bool:
        return self.outcome == "completed"


class JobStore(Protocol):
    def create(
        self,
        *,
        job_id: str,
        record: dict[str, Any],
        article: dict[str, Any],
        message: tuple[str, str] | None = None,
        idempotency: Idempotency | None = None,
    ) -> str | None: ...
    def get(self, job_id: str) -> dict[str, Any] | None: ...
    def raw_article(self, job_id: str) -> dict[str, Any] | None: ...
    def document(self, job_id: str) -> Document | None: ...
    def vectors(self, job_id: str) -> bytes | None: ...
    def cancel(self, job_id: str, *, webhook: tuple[str, str] | None = None) -> str:
        """End a job that has not finished as ``cancelled``; returns the job's status after.

        Analyses already recorded keep their results; the others never run (their tasks find
        the job finished and do nothing). ``webhook`` is the ``(queue, message)`` that
        announces the cancellation, queued in the same step. ``missing`` for an unknown job.
        """
        key, channel, _, vectors, raw = self._keys(job_id)
        queue, message = webhook or (f"{PREFIX}:none", "")
        result = json.dumps({"status": "cancelled"})
        keys = [key, channel, vectors, raw, queue]
        return _text(self._cancel(keys=keys, args=[result, now_rfc3339(), self.ttl, message]))

    def start_prepare(self, job_id: str) -> Transition: ...
    def save_prepared(
        self,
        job_id: str,
        *,
        doc: Document,
        vectors: bytes | None,
        article: dict[str, Any],
        messages: list[tuple[str, str]],
        step: str = "final",
    ) -> str: ...
    def start_analysis(self, job_id: str, analysis: str) -> Transition: ...
    def record_result(self, job_id: str, analysis: str, result: dict[str, Any]) -> Transition: ...


class RedisJobStore:
    """The job store on Redis: one hash per job plus its prepared document."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int) -> None:
        self.redis = client
        self.ttl = ttl_seconds
        self._create = client.register_script(_CREATE)
        self._start = client.register_script(_START)
        self._cancel = client.register_script(_CANCEL)
        self._save_prepared = client.register_script(_SAVE_PREPARED)
        self._record = client.register_script(_RECORD)

    @classmethod
    def from_url(cls, url: str, *, ttl_seconds: int) -> RedisJobStore:
        return cls(
            redis.Redis.from_url(url, socket_timeout=10, health_check_interval=30),
            ttl_seconds=ttl_seconds,
        )

    @staticmethod
    def job_key(job_id: str) -> str:
        return f"{PREFIX}:job:{job_id}"

    @staticmethod
    def channel(job_id: str) -> str:
        return f"{PREFIX}:job:{job_id}:events"

    def _keys(self, job_id: str) -> list[str]:
        """The job hash, its channel, prepared document, sentence vectors and raw article."""
        key = self.job_key(job_id)
        return [key, self.channel(job_id), key + ":doc", key + ":vectors", key + ":article"]

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
        ``(queue, payload)`` from :func:`copydesk.core.messages.task_message`: written in the
        same script, so a job never exists without its task (one round trip). With
        ``idempotency``, a key seen before creates nothing: the return value is then the
        earlier request's ``"fingerprint job-id"``, else None. With ``max_queued``, a first
        queue already holding that many messages raises QueueFull and creates nothing.
        """
        key, _, _, _, raw_key = self._keys(job_id)
        queue, payload = message or ("", "")
        keys = [key, raw_key, queue or f"{PREFIX}:none", self.expiry_marker(job_id), JOB_INDEX]
        if idempotency is not None:
            keys.append(self.idempotency_key(idempotency.scope, idempotency.key))
        args: list[Any] = [
            job_id,
            json.dumps(record, ensure_ascii=False),
            json.dumps(record["article"], ensure_ascii=False),
            ",".join(record["analyses"]),
            len(record["analyses"]),
            record["created_at"],
            json.dumps(article, ensure_ascii=False),
            self.ttl,
            payload,
            idempotency.fingerprint if idempotency else "",
            idempotency.ttl if idempotency else 0,
            max_queued,
            2 * self.ttl + GONE_GRACE_SECONDS,  # outlives the job however late it completes
            self.job_key(""),
        ]
        outcome, seen = self._create(keys=keys, args=args)
        if _text(outcome) == "busy":
            raise QueueFull(int(_text(seen)))
        return _text(seen) if _text(outcome) == "exists" else None

    def list_jobs(
        self,
        *,
        limit: int,
        before: tuple[int, str] | None = None,
        status: str | None = None,
        ref: str | None = None,
    ) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
        """Return up to ``limit`` jobs, newest first, and the cursor of the next page or None.

        ``before`` is a cursor: (creation number, job id) of the last job already listed. Filters
        are applied while reading the index, at most LIST_SCAN_LIMIT entries per page (a
        sparse filter then returns a short page with a cursor); ids of expired jobs are pruned.
        """
        found: list[tuple[tuple[int, str], dict[str, Any]]] = []
        position, scanned = before, 0
        while len(found) <= limit:
            if scanned >= LIST_SCAN_LIMIT:
                return [job for _, job in found[:limit]], position
            top = f"({position[0] + 1}" if position else "+inf"
            rows = self.redis.zrevrangebyscore(
                JOB_INDEX, top, "-inf", start=0, num=LIST_BATCH, withscores=True
            )
            rows = [(int(score), _text(member)) for member, score in rows]
            rows = [row for row in rows if position is None or row < position]
            if not rows:
                break
            for row in rows:
                scanned += 1
                position = row
                job = self.get(row[1])
                if job is None:
                    self.redis.zrem(JOB_INDEX, row[1])
                elif (status is None or job["status"] == status) and (
                    ref is None or (job.get("article") or {}).get("ref") == ref
                ):
                    found.append((row, job))
                    if len(found) > limit:
                        break
        page = found[:limit]
        more = len(found) > limit
        return [job for _, job in page], (page[-1][0] if more and page else None)

    @staticmethod
    def expiry_marker(job_id: str) -> str:
        return f"{PREFIX}:gone:{job_id}"

    def expired(self, job_id: str) -> bool:
        """Tell whether a job that is no longer stored existed (410 Gone rather than 404)."""
        return bool(self.redis.exists(self.expiry_marker(job_id)))

    @staticmethod
    def idempotency_key(scope: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{PREFIX}:idempotency:{scope}:{digest}"

    def delete(self, job_id: str) -> None:
        key, _, *data = self._keys(job_id)
        self.redis.delete(key, *data, key + ":deliveries")

    def raw_article(self, job_id: str) -> dict[str, Any] | None:
        """Return the article as the client sent it, until the prepare stage has consumed it."""
        raw = self.redis.get(self.job_key(job_id) + ":article")
        return json.loads(raw) if raw is not None else None

    def vectors(self, job_id: str) -> bytes | None:
        """Return the prepare stage's sentence vectors, or None (none made, or job ended)."""
        return self.redis.get(self.job_key(job_id) + ":vectors")

    def cancel(self, job_id: str, *, webhook: tuple[str, str] | None = None) -> str:
        """End a job that has not finished as ``cancelled``; returns the job's status after.

        Analyses already recorded keep their results; the others never run (their tasks find
        the job finished and do nothing). ``webhook`` is the ``(queue, message)`` that
        announces the cancellation, queued in the same step. ``missing`` for an unknown job.
        """
        key, channel, _, vectors, raw = self._keys(job_id)
        queue, message = webhook or (f"{PREFIX}:none", "")
        result = json.dumps({"status": "cancelled"})
        keys = [key, channel, vectors, raw, queue]
        return _text(self._cancel(keys=keys, args=[result, now_rfc3339(), self.ttl, message]))

    def start_prepare(self, job_id: str) -> Transition:
        """Mark the prepare stage as started; ``done`` when a delivery already fanned out."""
        return self._begin(job_id, "prepare", done_field="prepared")

    def _begin(self, job_id: str, stage: str, *, done_field: str) -> Transition:
        """Count a delivery of ``stage`` and mark the job running, unless it is done."""
        key, channel, *_ = self._keys(job_id)
        args = [stage, done_field, now_rfc3339()]
        outcome, status, attempts = self._start(keys=[key, channel], args=args)
        return Transition(_text(outcome), _text(status), int(attempts))

    def save_prepared(
        self,
        job_id: str,
        *,
        doc: Document,
        vectors: bytes | None,
        article: dict[str, Any],
        messages: list[tuple[str, str]],
        step: str = "final",
    ) -> str:
        """Store the prepared document and vectors and queue the analyses, in one step.

        One script, so a crash leaves either nothing (the prepare task is delivered again) or
        everything; a second delivery that gets here finds ``prepared`` and queues nothing.
        ``step="text"`` first queues the analyses that need no vectors (Hugging Face models),
        once even across deliveries, so they never wait for the encoder; ``"final"`` follows.
        Analyses that failed in the prepare stage are recorded before this, so the document
        is stored even when they ended the job (``GET .../text`` still shows it).
        """
        keys = [*self._keys(job_id), *(queue for queue, _ in messages)]
        args: list[Any] = [
            doc.to_json(),
            vectors or b"",
            json.dumps(article, ensure_ascii=False),
            now_rfc3339(),
            self.ttl,
            step,
            *(payload for _, payload in messages),
        ]
        return _text(self._save_prepared(keys=keys, args=args))

    def get(self, job_id: str) -> dict[str, Any] | None:
        """Return the stored job as one dict (record fields, status, results) or None."""
        raw = self.redis.hgetall(self.job_key(job_id))
        if not raw:
            return None
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        job = json.loads(fields["record"])
        job["article"] = json.loads(fields.get("article") or "null") or job.get("article")
        job["prepared"] = fields.get("text_ready") == "1"
        job["status"] = fields["status"]
        job["updated_at"] = fields["updated_at"]
        job["completed_at"] = fields.get("completed_at")
        job["results"] = {
            name[len("result:") :]: json.loads(value)
            for name, value in fields.items()
            if name.startswith("result:")
        }
        job["started"] = {
            name[len("attempts:") :]: int(value)
            for name, value in fields.items()
            if name.startswith("attempts:")
        }
        job["webhook_state"] = fields.get("webhook_state")
        return job

    def document(self, job_id: str) -> Document | None:
        raw = self.redis.get(self.job_key(job_id) + ":doc")
        return Document.from_json(raw) if raw is not None else None

    def start_analysis(self, job_id: str, analysis: str) -> Transition:
        """Mark an analysis as started; counts deliveries so a poison task can be stopped."""
        return self._begin(job_id, analysis, done_field=f"result:{analysis}")

    def record_result(self, job_id: str, analysis: str, result: dict[str, Any]) -> Transition:
        """Record one analysis outcome; returns ``completed`` exactly once per job."""
        payload = json.dumps(result, ensure_ascii=False)
        succeeded = "1" if result.get("status") == "succeeded" else "0"
        outcome, status = self._record(
            keys=self._keys(job_id),
            args=[analysis, payload, now_rfc3339(), self.ttl, succeeded],
        )
        return Transition(_text(outcome), _text(status))

    def set_webhook_state(self, job_id: str, state: str, *, only_if_unset: bool = False) -> None:
        """Record where the job's webhook stands; ``only_if_unset`` never overwrites an outcome."""
        if only_if_unset:
            self.redis.hsetnx(self.job_key(job_id), "webhook_state", state)
        else:
            self.redis.hset(self.job_key(job_id), "webhook_state", state)

    def append_delivery(self, job_id: str, entry: str) -> None:
        """Append one webhook delivery attempt to the job's delivery log."""
        key = self.job_key(job_id) + ":deliveries"
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, entry)
            pipe.ltrim(key, -50, -1)
            pipe.expire(key, self.ttl)
            pipe.execute()

    def deliveries(self, job_id: str) -> list[dict[str, Any]]:
        key = self.job_key(job_id) + ":deliveries"
        return [json.loads(raw) for raw in self.redis.lrange(key, 0, -1)]

    def ping(self) -> bool:
        return bool(self.redis.ping())


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES
