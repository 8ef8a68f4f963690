"""The job store's foundation: the Redis connection, the key names and the Lua every script shares.

Each stage keeps its own scripts beside its own code (``copydesk.accept.state``,
``copydesk.prepare.state``, ``copydesk.complete.state``, ``copydesk.deliver.state``,
``copydesk.sweep.state``); they all build on ``StoreBase``, which holds the connection and
registers a script the first time it runs. Starting a stage (``START``) lives here because
every stage after accept starts the same way.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis

from copydesk.core.ids import now_rfc3339

if TYPE_CHECKING:
    from redis.commands.core import Script

    from copydesk.core.settings import Settings

PREFIX = "copydesk"
JOB_INDEX = f"{PREFIX}:jobs"  # + ":" + tenant: sorted set of job ids by creation number
INFLIGHT = f"{PREFIX}:inflight"  # sorted set: unfinished job id by when the sweeper looks
DUE = f"{PREFIX}:webhooks:due"  # sorted set: job id by when its webhook's next attempt is due

# Functions every script may call, prepended to each: the server's clock (so every host agrees,
# whatever its own clock says), telling listeners, and making a webhook due.
COMMON_LUA = """
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
-- tell listeners: published on the job's channel, and appended to its event stream (what
-- GET /v1/jobs/{id}/events reads, resuming from any entry), which lives as long as the job
local function emit(job, channel, event)
  local payload = cjson.encode(event)
  redis.call('PUBLISH', channel, payload)
  local stream = job .. ':stream'
  redis.call('XADD', stream, 'MAXLEN', '~', 200, '*', 'event', payload)
  local ttl = redis.call('TTL', job)
  if ttl > 0 then redis.call('EXPIRE', stream, ttl) end
end
-- a webhook of a job (member: its id) or a batch (member: 'batch:<id>') is due at once
local function due_now(hash, due, member)
  local at = now()
  redis.call('ZADD', due, at, member)
  redis.call('HSET', hash, 'webhook_state', 'pending', 'webhook_next_at', at,
    'webhook_attempts', 0)
end
"""

START = (
    COMMON_LUA
    + """
-- KEYS[1] job hash, KEYS[2] channel, KEYS[3] in-flight set
-- ARGV: stage, field whose presence means done, now, delivery token, '1' if the message is a
--       retry, job id, stall seconds
-- Counts deliveries that may have crashed their worker: a first delivery, or the same message
-- (same token) delivered again. A retry that the task itself sent after a Redis error is not a
-- crash, and does not count. Starting is progress: the sweeper's look moves later.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', '', 0} end
local status = redis.call('HGET', KEYS[1], 'status')
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 or redis.call('HEXISTS', KEYS[1], 'completed_at') == 1
then
  return {'done', status, 0}
end
local token_field = 'token:' .. ARGV[1]
local counted = ARGV[5] ~= '1' or redis.call('HGET', KEYS[1], token_field) == ARGV[4]
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts:' .. ARGV[1], counted and 1 or 0)
if attempts == 0 then attempts = redis.call('HINCRBY', KEYS[1], 'attempts:' .. ARGV[1], 1) end
redis.call('HSET', KEYS[1], token_field, ARGV[4])
redis.call('ZADD', KEYS[3], 'GT', now() + tonumber(ARGV[7]), ARGV[6])
if status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'updated_at', ARGV[3])
  emit(KEYS[1], KEYS[2], {type='job.running', status='running'})
  status = 'running'
end
return {'started', status, attempts}
"""
)


@dataclass(frozen=True, slots=True)
class Transition:
    """What a store operation did: ``outcome`` names it, ``status`` is the job's status after."""

    outcome: str
    status: str
    attempts: int = 0

    @property
    def completed(self) -> bool:
        return self.outcome == "completed"


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def redis_client(settings: Settings) -> redis.Redis:
    """The Redis of the settings: the URL's server, or the master the Sentinels name (the
    client asks them again after a failover)."""
    options: dict[str, Any] = {"socket_timeout": 10, "health_check_interval": 30}
    if not settings.redis_sentinels:
        return redis.Redis.from_url(settings.redis_url, **options)
    from redis.sentinel import Sentinel

    password, database = settings.redis_credentials
    sentinel = Sentinel(settings.sentinel_addresses, socket_timeout=5)
    return sentinel.master_for(
        settings.redis_sentinel_master, db=database, password=password, **options
    )


class StoreBase:
    """The connection, the job's key names and the scripts, registered on first use."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int, stall_seconds: int = 390) -> None:
        self.redis = client
        self.ttl = ttl_seconds
        self.stall = stall_seconds  # no progress for this long and the sweeper looks
        self._scripts: dict[str, Script] = {}

    def script(self, source: str) -> Script:
        """The registered script of ``source`` (registering computes its digest, no I/O)."""
        registered = self._scripts.get(source)
        if registered is None:
            registered = self._scripts[source] = self.redis.register_script(source)
        return registered

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

    @staticmethod
    def batch_key(batch_id: str) -> str:
        return f"{PREFIX}:batch:{batch_id}"

    @staticmethod
    def job_index(tenant: str) -> str:
        return f"{JOB_INDEX}:{tenant}"

    @staticmethod
    def expiry_marker(job_id: str) -> str:
        return f"{PREFIX}:gone:{job_id}"

    @staticmethod
    def idempotency_key(scope: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{PREFIX}:idempotency:{scope}:{digest}"

    def begin(
        self, job_id: str, stage: str, done_field: str, *, token: str, retry: bool
    ) -> Transition:
        """Count a delivery of ``stage`` and mark the job running, unless it is done.

        ``token`` names the delivered message (task id and retry number) and ``retry`` says the
        task sent it itself after a Redis error: such a retry is not counted as a delivery that
        may have crashed, unless the same message comes again. No token: always counted.
        """
        key, channel, *_ = self._keys(job_id)
        token = token or uuid.uuid4().hex
        args = [stage, done_field, now_rfc3339(), token, "1" if retry else "0", job_id, self.stall]
        outcome, status, attempts = self.script(START)(keys=[key, channel, INFLIGHT], args=args)
        return Transition(text(outcome), text(status), int(attempts))

    def start_analysis(
        self, job_id: str, analysis: str, *, token: str = "", retry: bool = False
    ) -> Transition:
        """Mark an analysis as started; counts deliveries so a poison task can be stopped."""
        return self.begin(job_id, analysis, f"result:{analysis}", token=token, retry=retry)

    def server_time(self) -> float:
        seconds, micros = self.redis.time()
        return seconds + micros / 1e6

    def ping(self) -> bool:
        return bool(self.redis.ping())
