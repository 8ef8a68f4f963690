"""Keep jobs, their prepared text and their results in Redis, with atomic transitions.

Recording a result and deciding that the job is finished happen in one Lua script, so two
workers finishing together can neither both complete the job nor leave it unfinished. Every
transition is published on the job's event channel for pollers and SSE.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import redis

from copydesk.core.document import Document
from copydesk.core.schemas import TERMINAL_STATUSES

PREFIX = "copydesk"

_START = """
-- KEYS[1] job hash; ARGV: analysis, now
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', '', 0} end
local status = redis.call('HGET', KEYS[1], 'status')
if redis.call('HEXISTS', KEYS[1], 'result:' .. ARGV[1]) == 1 then
  return {'done', status, 0}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts:' .. ARGV[1], 1)
if status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'updated_at', ARGV[2])
  redis.call('PUBLISH', KEYS[2], cjson.encode({type='job.running', status='running'}))
  status = 'running'
end
return {'started', status, attempts}
"""

_RECORD = """
-- KEYS[1] job hash, KEYS[2] channel, KEYS[3] doc; ARGV: analysis, result json, now, ttl
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', ''} end
local field = 'result:' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], field) == 1 then
  return {'duplicate', redis.call('HGET', KEYS[1], 'status')}
end
redis.call('HSET', KEYS[1], field, ARGV[2], 'updated_at', ARGV[3])
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
local ok, total = 0, 0
for name in string.gmatch(redis.call('HGET', KEYS[1], 'analyses'), '[^,]+') do
  total = total + 1
  local raw = redis.call('HGET', KEYS[1], 'result:' .. name)
  if raw and cjson.decode(raw)['status'] == 'succeeded' then ok = ok + 1 end
end
if ok == total then status = 'succeeded'
elseif ok == 0 then status = 'failed'
else status = 'partially_succeeded' end
redis.call('HSET', KEYS[1], 'status', status, 'completed_at', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('PUBLISH', KEYS[2], cjson.encode({type='job.' .. status, status=status}))
return {'completed', status}
"""


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_job_id() -> str:
    return uuid.uuid4().hex


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
    def create(self, *, job_id: str, record: dict[str, Any], doc: Document) -> None: ...
    def get(self, job_id: str) -> dict[str, Any] | None: ...
    def document(self, job_id: str) -> Document | None: ...
    def start_analysis(self, job_id: str, analysis: str) -> Transition: ...
    def record_result(self, job_id: str, analysis: str, result: dict[str, Any]) -> Transition: ...


class RedisJobStore:
    """The job store on Redis: one hash per job plus its prepared document."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int) -> None:
        self.redis = client
        self.ttl = ttl_seconds
        self._start = client.register_script(_START)
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
        key = self.job_key(job_id)
        return [key, self.channel(job_id), key + ":doc"]

    def create(self, *, job_id: str, record: dict[str, Any], doc: Document) -> None:
        """Store a new queued job; ``record`` holds the static part (article, options, ...)."""
        key, _, doc_key = self._keys(job_id)
        now = record["created_at"]
        fields = {
            "record": json.dumps(record, ensure_ascii=False),
            "analyses": ",".join(record["analyses"]),
            "pending": len(record["analyses"]),
            "status": "queued",
            "updated_at": now,
        }
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.set(doc_key, doc.to_json())
            pipe.expire(key, self.ttl)
            pipe.expire(doc_key, self.ttl)
            pipe.execute()

    def delete(self, job_id: str) -> None:
        key, _, doc_key = self._keys(job_id)
        self.redis.delete(key, doc_key, key + ":deliveries")

    def get(self, job_id: str) -> dict[str, Any] | None:
        """Return the stored job as one dict (record fields, status, results) or None."""
        raw = self.redis.hgetall(self.job_key(job_id))
        if not raw:
            return None
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        job = json.loads(fields["record"])
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
        key, channel, _ = self._keys(job_id)
        outcome, status, attempts = self._start(keys=[key, channel], args=[analysis, now_rfc3339()])
        return Transition(_text(outcome), _text(status), int(attempts))

    def record_result(self, job_id: str, analysis: str, result: dict[str, Any]) -> Transition:
        """Record one analysis outcome; returns ``completed`` exactly once per job."""
        payload = json.dumps(result, ensure_ascii=False)
        outcome, status = self._record(
            keys=self._keys(job_id), args=[analysis, payload, now_rfc3339(), self.ttl]
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
