"""Accept a validated submission: store the job with its raw article and queue its prepare task.

Kept apart from the views so the HTTP layer only parses and renders. The intake does no text
or model work: HTML extraction, cleaning, sentences and language belong to the prepare stage,
so a hostile body costs the intake no more than reading it. The job, the raw article and the
prepare task's message are written in one Redis transaction (one round trip): a job is never
stored without its task, and a failure leaves nothing behind but a 503 to retry.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from copydesk.archive.articles import Archive
from copydesk.core import errors
from copydesk.deliver.destinations import check_destination
from copydesk.core.messages import task_message
from copydesk.core.render import article_view
from copydesk.core.names import PREPARE_QUEUE, PREPARE_TASK, queue_key
from copydesk.core.models_view import check_language, offers_abstractive, reads_label_examples
from copydesk.core.schemas import BatchRequest, JobRequest
from copydesk.core.secrets import SecretBox
from copydesk.core.settings import Settings
from copydesk.core.ids import new_job_id, now_rfc3339
from copydesk.store.idempotency import Idempotency
from copydesk.store.jobs import RedisJobStore
from copydesk.intake.auth import OPEN_TENANT, Keyring
from copydesk.intake.room import REREAD_SECONDS, StoreRoom, job_weight


_NO_EXAMPLES = (
    "label examples need the embedded topic classifier; this deployment classifies topics "
    "with an NLI model (COPYDESK_TOPICS_MODEL), which reads label names and descriptions only"
)


@dataclass
class IntakeService:
    settings: Settings
    store: RedisJobStore
    box: SecretBox | None = None  # seals webhook secrets before they reach Redis
    keyring: Keyring = field(default_factory=lambda: Keyring(()))
    room: StoreRoom | None = None  # refuses new jobs while Redis is near its maxmemory
    archive: Archive | None = None  # finished jobs Redis let go (COPYDESK_DATABASE_URL)
    _outbox_read_at: float = field(default=float("-inf"), repr=False)
    _outbox_waiting: int = field(default=0, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeService:
        store = RedisJobStore.from_settings(settings)
        key = settings.secrets_key
        box = SecretBox(key.get_secret_value()) if key is not None else None
        keys = settings.api_keys.get_secret_value() if settings.api_keys else None
        room = StoreRoom(store.redis, percent=settings.store_full_percent)
        archive = (
            Archive(settings.database_url, pool_size=settings.archive_pool_size)
            if settings.database_url
            else None
        )
        return cls(
            settings=settings,
            store=store,
            box=box,
            keyring=Keyring.parse(keys),
            room=room,
            archive=archive,
        )

    def minted_secret(self, job: dict[str, Any]) -> str | None:
        """Return the secret minted for this job's webhook, for its 202 answer only."""
        webhook = job.get("webhook") or {}
        if not webhook.get("minted") or self.box is None:
            return None
        return self.box.open(webhook["secret"])

    def submit(
        self,
        request: JobRequest,
        *,
        base_url: str,
        tenant: str = OPEN_TENANT,
        idempotency: Idempotency | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store and queue one job; returns the job and whether it is an earlier one replayed.

        With ``idempotency``, a key already used for the same request returns that request's
        job instead of making a second; used for a different request, it is a 422.
        """
        self._check(request)
        self._check_room([request])
        try:
            job_id, record, article, message = self._entry(
                request, base_url=base_url, tenant=tenant, priority=request.priority
            )
        except errors.UnknownLabelSet:  # a retry after the set went: answer the first job
            seen = self.store.idempotent(idempotency) if idempotency is not None else None
            if seen is None:
                raise
            assert idempotency is not None
            return self._replay(seen, idempotency), True
        seen = self.store.create(  # a full queue raises errors.QueueFull (429)
            job_id=job_id,
            record=record,
            article=article,
            message=message,
            idempotency=idempotency,
            max_queued=self.settings.max_queued_jobs,
        )
        if seen is not None:
            assert idempotency is not None
            return self._replay(seen, idempotency), True
        if self.settings.wait_aof:
            self._wait_durable()
        job = {
            **record,
            "status": "queued",
            "updated_at": record["created_at"],
            "completed_at": None,
            "results": {},
            "webhook_state": None,
            "webhook_attempts": 0,
            "webhook_next_at": None,
            "webhook_error": None,
        }
        return job, False

    def submit_batch(
        self,
        request: BatchRequest,
        *,
        base_url: str,
        tenant: str = OPEN_TENANT,
        idempotency: Idempotency | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store a batch of normal jobs at once; returns the batch and whether it is replayed."""
        self._check_destination(request)
        for job in request.jobs:
            self._check(job)
        self._check_room(request.jobs)
        batch_id = new_job_id()
        entries = [
            self._entry(
                job,
                base_url=base_url,
                tenant=tenant,
                priority=request.job_priority(job),
                batch=batch_id,
                where=f"jobs.{number}.",
            )
            for number, job in enumerate(request.jobs)
        ]
        batch = {
            "id": batch_id,
            "tenant": tenant,
            "created_at": now_rfc3339(),
            "priority": request.priority,
            "jobs": [job_id for job_id, *_ in entries],
            "webhook": self._webhook(request),
            "base_url": (self.settings.public_url or base_url).rstrip("/"),
        }
        seen = self.store.create_batch(  # a full queue raises errors.QueueFull (429)
            batch=batch,
            jobs=entries,
            idempotency=idempotency,
            max_queued=self.settings.max_queued_jobs,
        )
        if seen is not None:
            assert idempotency is not None
            state, _, rest = seen.partition(" ")
            if state == "processing":
                raise errors.IdempotencyKeyInFlight(
                    "a request with this Idempotency-Key is still being processed; retry shortly"
                )
            if state != idempotency.fingerprint:
                raise errors.IdempotencyKeyReused(
                    "this Idempotency-Key was used for a different request; use a new key"
                )
            earlier = self.store.batch(rest)
            if earlier is None:
                raise errors.JobNotFound(f"the batch this Idempotency-Key created ({rest}) expired")
            return earlier, True
        if self.settings.wait_aof:
            self._wait_durable()
        return batch, False

    def _check(self, request: JobRequest) -> None:
        """Refuse what this job cannot have: a forbidden webhook, an unavailable analysis."""
        self._check_destination(request)
        self._check_available(request)

    def _check_room(self, jobs: list[JobRequest]) -> None:
        """503 store_full while Redis is near its maxmemory (see ``copydesk.intake.room``),
        503 archive_behind while the archive's outbox is full."""
        if self.room is not None:
            sizes = (_utf8(job.article.text) + _utf8(job.article.html) for job in jobs)
            self.room.check(sum(job_weight(n) for n in sizes))
        if self.archive is not None:
            self._check_outbox()

    def _check_outbox(self) -> None:
        """503 archive_behind while COPYDESK_ARCHIVE_OUTBOX_MAX finished jobs wait for the
        archive: each keeps its Redis copy until archived, so the wait is bounded here. The
        depth is read at most once a second (REREAD_SECONDS, as the store's room): a second
        of jobs past the bound is nothing beside it, a round trip per job is not."""
        now = time.monotonic()
        if now - self._outbox_read_at >= REREAD_SECONDS:
            self._outbox_waiting = self.store.outbox_depth()
            self._outbox_read_at = now
        waiting = self._outbox_waiting
        if waiting >= self.settings.archive_outbox_max:
            self._outbox_read_at = float("-inf")  # read again on the next job
            raise errors.ArchiveBehind(
                f"{waiting} finished jobs wait to be archived (PostgreSQL away or slow); new "
                "jobs are accepted again as they are"
            )

    def _check_destination(self, request: JobRequest | BatchRequest) -> None:
        if request.webhook is not None:
            allow = self.settings.webhook_allow_networks
            check_destination(request.webhook.url, allow_networks=allow, resolve=False)

    def _entry(
        self,
        request: JobRequest,
        *,
        base_url: str,
        tenant: str,
        priority: str,
        batch: str | None = None,
        where: str = "",
    ) -> tuple[str, dict[str, Any], dict[str, Any], tuple[str, str]]:
        """A new job: its id, record, raw article and the prepare task's (list, message)."""
        job_id = new_job_id()
        record = self._record(job_id=job_id, request=request, base_url=base_url)
        record.update(tenant=tenant, priority=priority)
        self._pin_label_set(record["options"], tenant, where=where)
        if batch is not None:
            record["batch"] = batch
        message = (
            queue_key(PREPARE_QUEUE, priority),
            task_message(PREPARE_TASK, (job_id,), queue=PREPARE_QUEUE, priority=priority),
        )
        return (
            job_id,
            record,
            request.article.model_dump(exclude_none=True, exclude_defaults=True),
            message,
        )

    def _pin_label_set(self, options: dict[str, Any], tenant: str, *, where: str = "") -> None:
        """Record the version of the label set a job names, the one its workers will read
        (``where``: the job's place in a batch, for the error's field)."""
        name = options.get("topics", {}).get("label_set")
        if name is None:
            return
        pinned = self.store.label_sets.pin(tenant, name)
        if pinned is None:
            raise errors.UnknownLabelSet(
                f"there is no label set {name!r}; create it with PUT /v1/label-sets/{name}",
                errors=[{"field": f"{where}options.topics.label_set", "message": "no such set"}],
            )
        if pinned.examples and not reads_label_examples(self.settings):
            raise errors.AnalysisUnavailable(_NO_EXAMPLES)
        options["topics"]["label_set_version"] = pinned.version

    def _wait_durable(self) -> None:
        """Return once Redis has fsynced the job to its append-only file (WAITAOF, Redis 7.2+).

        Without it, ``appendfsync everysec`` can lose up to a second of accepted jobs if the
        host crashes. A timeout answers 503: the job may exist, so a client retries with the
        same Idempotency-Key.
        """
        import redis

        try:
            local, _ = self.store.redis.execute_command("WAITAOF", 1, 0, 2000)
        except redis.ResponseError as exc:
            raise errors.ServiceUnavailable(
                "COPYDESK_WAIT_AOF needs Redis 7.2+ (or Valkey) with appendonly yes"
            ) from exc
        if int(local) < 1:
            raise errors.ServiceUnavailable(
                "Redis did not confirm the job on disk in time; retry with the same Idempotency-Key"
            )

    def cancel(self, job: dict[str, Any]) -> str:
        """Cancel the job; its webhook (if any) announces ``job.cancelled`` as for any end."""
        return self.store.cancel(job["id"])

    def redeliver(self, job: dict[str, Any]) -> None:
        """Send a finished job's webhook again, from the first attempt of the schedule."""
        if not job.get("webhook"):
            raise errors.DeliveryNotFound(f"job {job['id']!r} has no webhook")
        outcome = self.store.redeliver(job["id"], url=job["webhook"]["url"])
        if outcome == "running":
            raise errors.JobNotFinished(
                "the job has not finished: its webhook is sent when it does"
            )
        if outcome == "missing":
            raise errors.JobNotFound(f"no job with id {job['id']!r}")

    def _replay(self, seen: str, idempotency: Idempotency) -> dict[str, Any]:
        fingerprint, _, job_id = seen.partition(" ")
        if fingerprint != idempotency.fingerprint:
            raise errors.IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request; use a new key"
            )
        job = self.store.get(job_id)
        if job is None:
            raise errors.JobNotFound(f"the job this Idempotency-Key created ({job_id}) expired")
        return job

    def _webhook(self, request: JobRequest | BatchRequest) -> dict[str, Any] | None:
        """Keep the webhook with its signing secret; mint one if neither client nor config has one.

        A minted secret is returned once, in the 202 answer, and never rendered again. Secrets
        are sealed (Fernet) before they are stored.
        """
        if request.webhook is None:
            return None
        webhook = request.webhook.model_dump(exclude_none=True)
        if "secret" not in webhook and self.settings.webhook_secret is None:
            webhook["secret"] = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
            webhook["minted"] = True
        if "secret" in webhook:
            if self.box is None:
                raise errors.ServiceUnavailable(
                    "this deployment keeps no webhook secrets: set COPYDESK_SECRETS_KEY "
                    "(or COPYDESK_WEBHOOK_SECRET for one shared secret)"
                )
            webhook["secret"] = self.box.seal(webhook["secret"])
        return webhook

    def _check_available(self, request: JobRequest) -> None:
        check_language(request.article.language, request.analyses, self.settings)
        wants_abstractive = request.options.summary.mode == "abstractive"
        if (
            "summary" in request.analyses
            and wants_abstractive
            and not offers_abstractive(self.settings)
        ):
            raise errors.AnalysisUnavailable(
                "abstractive summaries need a seq2seq model (COPYDESK_SUMMARY_MODEL); "
                "this deployment offers extractive summaries"
            )
        if "stories" in request.analyses and not self.settings.database_url:
            raise errors.AnalysisUnavailable(
                "stories compares articles in the archive, and this deployment has none "
                "(COPYDESK_DATABASE_URL)"
            )
        taught = any(label.examples for label in request.options.topics.labels or ())
        if "topics" in request.analyses and taught and not reads_label_examples(self.settings):
            raise errors.AnalysisUnavailable(_NO_EXAMPLES)

    def _record(self, *, job_id: str, request: JobRequest, base_url: str) -> dict[str, Any]:
        return {
            "id": job_id,
            "created_at": now_rfc3339(),
            "analyses": request.analyses,
            "options": {name: request.options_for(name) for name in request.analyses},
            # until the prepare stage fills in what it found
            "article": article_view(request.article.model_dump(exclude_none=True)),
            "webhook": self._webhook(request),
            "base_url": (self.settings.public_url or base_url).rstrip("/"),
        }


def _utf8(text: str | None) -> int:
    """The bytes ``text`` takes in Redis (Chinese or Thai: 3 a character)."""
    return len(text.encode("utf-8", "surrogatepass")) if text else 0
