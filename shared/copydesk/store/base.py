"""The job store's foundation: the Redis connection, the key names and the scripts' shape.

Each stage keeps its own scripts beside its own code (``copydesk.accept.state``,
``copydesk.prepare.state``, ``copydesk.complete.state``, ``copydesk.deliver.state``,
``copydesk.sweep.state``); each is a :class:`Script` with named keys and arguments, run
through ``StoreBase``, which holds the connection and registers a script the first time it
runs. Starting a stage (``START``) lives here because every stage after accept starts the
same way.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis

from copydesk.core.ids import now_rfc3339
from copydesk.core.names import JOB_STATUSES, OPEN_TENANT
from copydesk.store.scripts import EMIT, NOW, RELIST, STATUS_KEYS, Script

if TYPE_CHECKING:
    from redis.commands.core import Script as RegisteredScript

    from copydesk.core.settings import Settings

PREFIX = "copydesk"
JOB_INDEX = f"{PREFIX}:jobs"  # + ":" + tenant: sorted set of job ids by creation time (µs)
INFLIGHT = f"{PREFIX}:inflight"  # sorted set: unfinished job id by when the sweeper looks
DUE = f"{PREFIX}:webhooks:due"  # sorted set: job id by when its webhook's next attempt is due

START = Script(
    keys=("job", "channel", "stream", "inflight", *STATUS_KEYS),
    args=("stage", "done_field", "now", "token", "retry", "job_id", "stall", "listed_seconds"),
    body=NOW
    + EMIT
    + RELIST
    + """
-- Counts deliveries that may have crashed their worker: a first delivery, or the same message
-- (same token) delivered again. A retry that the task itself sent after a Redis error is not a
-- crash, and does not count. Starting is progress: the sweeper's look moves later.
if redis.call('EXISTS', K.job) == 0 then return {'missing', '', 0} end
local status = redis.call('HGET', K.job, 'status')
if redis.call('HEXISTS', K.job, A.done_field) == 1
  or redis.call('HEXISTS', K.job, 'completed_at') == 1 then
  return {'done', status, 0}
end
local token_field = 'token:' .. A.stage
local counted = A.retry ~= '1' or redis.call('HGET', K.job, token_field) == A.token
local attempts = redis.call('HINCRBY', K.job, 'attempts:' .. A.stage, counted and 1 or 0)
if attempts == 0 then attempts = redis.call('HINCRBY', K.job, 'attempts:' .. A.stage, 1) end
redis.call('HSET', K.job, token_field, A.token)
redis.call('ZADD', K.inflight, 'GT', now() + tonumber(A.stall), A.job_id)
if status == 'queued' then
  redis.call('HSET', K.job, 'status', 'running', 'updated_at', A.now)
  relist('queued', 'running')
  emit({type='job.running', status='running'})
  status = 'running'
end
return {'started', status, attempts}
""",
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


@dataclass(frozen=True, slots=True)
class JobKeys:
    """The keys of one job: its hash and the keys beside it."""

    job: str
    channel: str  # pub/sub: each event, published
    stream: str  # each event, kept for SSE and Last-Event-ID
    doc: str
    vectors: str
    raw: str  # the article as sent, until prepared
    gone: str  # the tenant, once the job expired (410, not 404)


class StoreBase:
    """The connection, the job's key names and the scripts, registered on first use."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        ttl_seconds: int,
        stall_seconds: int = 390,
        gone_seconds: int = 7 * 24 * 3600,
        archive: bool = False,
        archived_seconds: int = 3600,
    ) -> None:
        self.redis = client
        self.ttl = ttl_seconds
        self.stall = stall_seconds  # no progress for this long and the sweeper looks
        self.gone = gone_seconds  # an expired job answers 410, not 404, for this long
        self.archive = archive  # a finished job is queued for the archive (PostgreSQL)
        self.archived_seconds = archived_seconds  # Redis keeps an archived job this long
        self._scripts: dict[Script, RegisteredScript] = {}

    @property
    def listed_seconds(self) -> int:
        """How long a job may be stored after its creation, so listed: it may end just before
        its TTL runs out, and ending renews it."""
        return 2 * self.ttl

    def run(
        self,
        script: Script,
        *,
        keys: Mapping[str, Any],
        args: Mapping[str, Any],
        client: redis.Redis | None = None,
    ) -> Any:
        """Run ``script`` by its digest (EVALSHA; registering computes it, no I/O), on the
        store's connection or on ``client`` (a pipeline)."""
        registered = self._scripts.get(script)
        if registered is None:
            registered = self._scripts[script] = self.redis.register_script(script.source)
        laid_keys, laid_args = script.lay_out(keys, args)
        return registered(keys=laid_keys, args=laid_args, client=client)

    @staticmethod
    def job_key(job_id: str) -> str:
        return f"{PREFIX}:job:{job_id}"

    @staticmethod
    def channel(job_id: str) -> str:
        return f"{PREFIX}:job:{job_id}:events"

    def keys_of(self, job_id: str) -> JobKeys:
        key = self.job_key(job_id)
        return JobKeys(
            job=key,
            channel=self.channel(job_id),
            stream=key + ":stream",
            doc=key + ":doc",
            vectors=key + ":vectors",
            raw=key + ":article",
            gone=self.expiry_marker(job_id),
        )

    def owner(self, job_id: str) -> tuple[str, str]:
        """The job's tenant and batch id ('' for none). Neither ever changes, so a script that
        moves the job in its tenant's listings, or counts it in its batch, is given those keys
        read just before it runs."""
        tenant, batch = self.redis.hmget(self.job_key(job_id), "tenant", "batch")
        return (text(tenant) if tenant else OPEN_TENANT), (text(batch) if batch else "")

    @staticmethod
    def batch_key(batch_id: str) -> str:
        return f"{PREFIX}:batch:{batch_id}"

    @staticmethod
    def job_index(tenant: str) -> str:
        return f"{JOB_INDEX}:{tenant}"

    def status_indexes(self, tenant: str) -> dict[str, str]:
        """The tenant's listings by status, named as the scripts read them (``jobs_<status>``)."""
        index = self.job_index(tenant)
        return {f"jobs_{status}": f"{index}:status:{status}" for status in JOB_STATUSES}

    def ref_index(self, tenant: str, ref: str) -> str:
        """The tenant's listing of the jobs whose article has ``ref``."""
        return f"{self.job_index(tenant)}:ref:{hashlib.sha256(ref.encode()).hexdigest()}"

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
        job = self.keys_of(job_id)
        tenant, _ = self.owner(job_id)
        outcome, status, attempts = self.run(
            START,
            keys={
                "job": job.job,
                "channel": job.channel,
                "stream": job.stream,
                "inflight": INFLIGHT,
                **self.status_indexes(tenant),
            },
            args={
                "stage": stage,
                "done_field": done_field,
                "now": now_rfc3339(),
                "token": token or uuid.uuid4().hex,
                "retry": "1" if retry else "0",
                "job_id": job_id,
                "stall": self.stall,
                "listed_seconds": self.listed_seconds,
            },
        )
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
