"""Keep jobs, their prepared text and their results in Redis, with atomic transitions.

Recording a result and deciding that the job is finished happen in one Lua script, so two
workers finishing together can neither both complete the job nor leave it unfinished. Every
transition is published on the job's event channel for pollers and SSE.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import redis

from copydesk.core import lua
from copydesk.core.document import Document
from copydesk.core.names import OPEN_TENANT, PREPARE_QUEUE, queue_key, queue_keys
from copydesk.core.schemas import TERMINAL_STATUSES

if TYPE_CHECKING:
    from copydesk.core.labelsets import LabelSetStore
    from copydesk.core.settings import Settings

PREFIX = "copydesk"


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


JOB_ID = re.compile(r"[0-9a-f]{32}")


def new_job_id() -> str:
    """Return a new job id: 32 lowercase hex digits, the only form ``JOB_ID`` accepts."""
    return uuid.uuid4().hex


JOB_INDEX = f"{PREFIX}:jobs"  # + ":" + tenant: sorted set of job ids by creation number
INFLIGHT = f"{PREFIX}:inflight"  # sorted set: unfinished job id by when the sweeper looks
DUE = f"{PREFIX}:webhooks:due"  # sorted set: job id by when its webhook's next attempt is due
DELIVERY_LOG_LENGTH = 100  # attempts kept per job
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
    def cancel(self, job_id: str) -> str: ...
    def start_prepare(self, job_id: str, *, token: str = "", retry: bool = False) -> Transition: ...
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
    def start_analysis(
        self, job_id: str, analysis: str, *, token: str = "", retry: bool = False
    ) -> Transition: ...
    def record_result(self, job_id: str, analysis: str, result: dict[str, Any]) -> Transition: ...
    def label_set(self, tenant: str, name: str, version: str) -> list[Any] | None: ...


class RedisJobStore:
    """The job store on Redis: one hash per job plus its prepared document."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int, stall_seconds: int = 390) -> None:
        self.redis = client
        self.ttl = ttl_seconds
        self.stall = stall_seconds  # no progress for this long and the sweeper looks
        self._create = client.register_script(lua.CREATE)
        self._start = client.register_script(lua.START)
        self._cancel = client.register_script(lua.CANCEL)
        self._save_prepared = client.register_script(lua.SAVE_PREPARED)
        self._record = client.register_script(lua.RECORD)
        self._claim = client.register_script(lua.CLAIM)
        self._settle = client.register_script(lua.SETTLE)
        self._redeliver = client.register_script(lua.REDELIVER)
        self._sweep = client.register_script(lua.SWEEP)

    @functools.cached_property
    def label_sets(self) -> LabelSetStore:
        """The tenants' label sets, kept on the same Redis as the jobs that name them."""
        from copydesk.core.labelsets import LabelSetStore  # it builds on this module

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
        ``(list, payload)`` from :func:`copydesk.core.messages.task_message`: written in the
        same script, so a job never exists without its task (one round trip). With
        ``idempotency``, a key seen before creates nothing: the return value is then the
        earlier request's ``"fingerprint job-id"``, else None. With ``max_queued``, prepare
        lists already holding that many messages (all priorities) raise QueueFull and create
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
        outcome, seen = self._create(keys=keys, args=args)
        if _text(outcome) == "busy":
            raise QueueFull(int(_text(seen)))
        return _text(seen) if _text(outcome) == "exists" else None

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

    # --- batches ----------------------------------------------------------------------------

    @staticmethod
    def batch_key(batch_id: str) -> str:
        return f"{PREFIX}:batch:{batch_id}"

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
                return _text(self.redis.get(claim) or b"processing ?")
        try:
            if max_queued:
                depth = sum(self.redis.llen(name) for name in queue_keys(PREPARE_QUEUE))
                if depth + len(jobs) > max_queued:
                    raise QueueFull(depth)
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
                    self._create(keys=keys, args=args, client=pipe)
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

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        """The batch as created, with its webhook's state like a job's (``webhook_state``...)."""
        fields = {
            _text(k): _text(v) for k, v in self.redis.hgetall(self.batch_key(batch_id)).items()
        }
        if not fields:
            return None
        batch = json.loads(fields["record"])
        batch.update(_webhook_fields(fields))
        batch["ended"] = int(fields.get("ended") or 0)
        return batch

    def statuses(self, job_ids: list[str]) -> list[str | None]:
        """The status of each job (None once expired), in one round trip."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self.job_key(job_id), "status")
            return [_text(status) if status is not None else None for status in pipe.execute()]

    @staticmethod
    def job_index(tenant: str) -> str:
        return f"{JOB_INDEX}:{tenant}"

    def list_jobs(
        self,
        *,
        tenant: str,
        limit: int,
        before: tuple[int, str] | None = None,
        status: str | None = None,
        ref: str | None = None,
    ) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
        """Return up to ``limit`` of the tenant's jobs, newest first, and the next page's cursor.

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
                self.job_index(tenant), top, "-inf", start=0, num=LIST_BATCH, withscores=True
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
                    self.redis.zrem(self.job_index(tenant), row[1])
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

    def expired(self, job_id: str, *, tenant: str) -> bool:
        """Tell whether the tenant's job, no longer stored, existed (410 Gone, not 404)."""
        return _text(self.redis.get(self.expiry_marker(job_id)) or b"") == tenant

    @staticmethod
    def idempotency_key(scope: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{PREFIX}:idempotency:{scope}:{digest}"

    def idempotent(self, idempotency: Idempotency) -> str | None:
        """What the Idempotency-Key already made ('fingerprint job-id'), if anything."""
        raw = self.redis.get(self.idempotency_key(idempotency.scope, idempotency.key))
        return _text(raw) if raw is not None else None

    def raw_article(self, job_id: str) -> dict[str, Any] | None:
        """Return the article as the client sent it, until the prepare stage has consumed it."""
        raw = self.redis.get(self.job_key(job_id) + ":article")
        return unpack_json(raw) if raw is not None else None

    def vectors(self, job_id: str) -> bytes | None:
        """Return the prepare stage's sentence vectors, or None (none made, or job ended)."""
        return self.redis.get(self.job_key(job_id) + ":vectors")

    def cancel(self, job_id: str) -> str:
        """End a job that has not finished as ``cancelled``; returns the job's status after.

        Analyses already recorded keep their results; the others never run (their tasks find
        the job finished and do nothing). Its webhook, if any, is due in the same step.
        ``missing`` for an unknown job.
        """
        key, channel, _, vectors, raw = self._keys(job_id)
        result = json.dumps({"status": "cancelled"})
        keys = [key, channel, vectors, raw, INFLIGHT, DUE]
        return _text(self._cancel(keys=keys, args=[result, now_rfc3339(), self.ttl, job_id]))

    def start_prepare(self, job_id: str, *, token: str = "", retry: bool = False) -> Transition:
        """Mark the prepare stage as started; ``done`` when a delivery already fanned out."""
        return self._begin(job_id, "prepare", "prepared", token=token, retry=retry)

    def _begin(
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
        outcome, status, attempts = self._start(keys=[key, channel, INFLIGHT], args=args)
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
        keys = [*self._keys(job_id), INFLIGHT, *(queue for queue, _ in messages)]
        args: list[Any] = [
            doc.to_json(),
            vectors or b"",
            json.dumps(article, ensure_ascii=False),
            now_rfc3339(),
            self.ttl,
            step,
            job_id,
            self.stall,
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
        job.update(_webhook_fields(fields))
        job["sweeps"] = int(fields.get("sweeps") or 0)
        return job

    def document(self, job_id: str) -> Document | None:
        raw = self.redis.get(self.job_key(job_id) + ":doc")
        return Document.from_json(raw) if raw is not None else None

    def start_analysis(
        self, job_id: str, analysis: str, *, token: str = "", retry: bool = False
    ) -> Transition:
        """Mark an analysis as started; counts deliveries so a poison task can be stopped."""
        return self._begin(job_id, analysis, f"result:{analysis}", token=token, retry=retry)

    def record_result(self, job_id: str, analysis: str, result: dict[str, Any]) -> Transition:
        """Record one analysis outcome; returns ``completed`` exactly once per job."""
        payload = json.dumps(result, ensure_ascii=False)
        succeeded = "1" if result.get("status") == "succeeded" else "0"
        model = str(result.get("model") or "none").replace("|", "/")
        label = f"{model}|{result.get('status', 'unknown')}"
        elapsed = result.get("elapsed_ms")
        seconds = "" if elapsed is None else repr(float(elapsed) / 1000)
        bucket = "" if elapsed is None else duration_bucket(float(elapsed) / 1000)
        outcome, status = self._record(
            keys=[*self._keys(job_id), INFLIGHT, DUE],
            args=[
                analysis, payload, now_rfc3339(), self.ttl, succeeded, job_id, self.stall,
                label, seconds, bucket,
            ],
        )  # fmt: skip
        return Transition(_text(outcome), _text(status))

    # --- webhook deliveries ---------------------------------------------------------------

    def claim_deliveries(self, *, lease_seconds: float, limit: int) -> list[str]:
        """Claim up to ``limit`` due webhooks (job ids) for ``lease_seconds``."""
        ids = self._claim(keys=[DUE], args=[lease_seconds, limit])
        return [_text(job_id) for job_id in ids]

    def subject_key(self, member: str) -> str:
        """The hash of a due webhook's subject: a job (its id) or a batch ('batch:<id>')."""
        if member.startswith("batch:"):
            return self.batch_key(member.removeprefix("batch:"))
        return self.job_key(member)

    def settle_delivery(
        self,
        job_id: str,
        *,
        state: str,
        entry: dict[str, Any],
        error: str | None = None,
        retry_in: float = 0.0,
    ) -> str:
        """Log one attempt and set the webhook ``pending`` (due in ``retry_in`` s), ``delivered``
        or ``failed``; ``stale`` when the webhook was no longer pending, ``missing`` if gone."""
        key = self.subject_key(job_id)
        keys = [key, DUE, key + ":deliveries"]
        args = [
            job_id,
            state,
            retry_in,
            json.dumps(entry),
            error or "",
            self.ttl,
            DELIVERY_LOG_LENGTH,
        ]
        return _text(self._settle(keys=keys, args=args))

    def redeliver(self, job_id: str, *, url: str) -> str:
        """Send a finished job's webhook again from the first attempt of its schedule.

        ``pending`` once due, ``running`` for an unfinished job, ``none`` without a webhook,
        ``missing`` for an unknown job.
        """
        keys = [self.job_key(job_id), DUE, self.gone_marker(url)]
        return _text(self._redeliver(keys=keys, args=[job_id]))

    @staticmethod
    def gone_marker(url: str) -> str:
        """Key that marks a webhook URL whose receiver answered 410 Gone."""
        return f"{PREFIX}:webhooks:gone:{hashlib.sha256(url.encode()).hexdigest()}"

    def deliveries(self, job_id: str) -> list[dict[str, Any]]:
        """The delivery log of a job (or, as 'batch:<id>', of a batch)."""
        key = self.subject_key(job_id) + ":deliveries"
        return [json.loads(raw) for raw in self.redis.lrange(key, 0, -1)]

    # --- the sweeper ----------------------------------------------------------------------

    def stalled(self, *, limit: int) -> list[str]:
        """Ids of unfinished jobs that made no progress for the stall time, oldest first."""
        rows = self.redis.zrangebyscore(INFLIGHT, "-inf", "(" + repr(self.server_time()), 0, limit)
        return [_text(job_id) for job_id in rows]

    def server_time(self) -> float:
        seconds, micros = self.redis.time()
        return seconds + micros / 1e6

    def sweep(
        self,
        job_id: str,
        *,
        analyses: list[str],
        prepare_message: str,
        analysis_messages: dict[str, str],
        max_rounds: int,
        priority: str = "normal",
    ) -> tuple[str, list[str]]:
        """Look at one stalled job and re-queue what it is stuck at (see ``lua.SWEEP``).

        Returns the outcome (``done``, ``waiting``, ``requeued``, ``exhausted``) and the stages
        re-queued.
        """
        keys = [
            self.job_key(job_id),
            INFLIGHT,
            queue_key(PREPARE_QUEUE, priority),
            *(queue_key(analysis, priority) for analysis in analyses),
        ]
        args: list[Any] = [job_id, self.stall, max_rounds, prepare_message]
        for analysis in analyses:
            args += [analysis, analysis_messages[analysis]]
        outcome, *stages = self._sweep(keys=keys, args=args)
        return _text(outcome), [_text(stage) for stage in stages]

    def ping(self) -> bool:
        return bool(self.redis.ping())


STATS = f"{PREFIX}:stats"  # counters the scripts keep for /metrics
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def duration_bucket(seconds: float) -> str:
    """The histogram bucket (its upper bound, 'le') an analysis duration falls in."""
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return repr(bound)
    return "+Inf"


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


def _webhook_fields(fields: dict[str, str]) -> dict[str, Any]:
    """Where a job's (or a batch's) webhook stands, from its hash."""
    return {
        "webhook_state": fields.get("webhook_state"),
        "webhook_attempts": int(fields.get("webhook_attempts") or 0),
        "webhook_next_at": _moment(fields.get("webhook_next_at")),
        "webhook_error": fields.get("webhook_error"),
    }


def _moment(epoch: str | None) -> str | None:
    """An epoch time stored by a script, as RFC 3339 (None stays None)."""
    if not epoch:
        return None
    moment = datetime.fromtimestamp(float(epoch), tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES


COMPRESS_OVER = 32_768
"""Raw articles and label sets longer than this (bytes of JSON) wait in Redis deflated: an
HTML page of several MB shrinks about fivefold while its job is queued."""
_DEFLATED = b"zlib:"


def pack_json(value: dict[str, Any]) -> bytes:
    """A value as stored in Redis (a raw article until the prepare stage reads it, a label
    set): JSON, deflated if large."""
    raw = json.dumps(value, ensure_ascii=False).encode()
    return _DEFLATED + zlib.compress(raw, 1) if len(raw) > COMPRESS_OVER else raw


def unpack_json(raw: bytes) -> dict[str, Any]:
    return json.loads(zlib.decompress(raw[len(_DEFLATED) :]) if raw.startswith(_DEFLATED) else raw)
