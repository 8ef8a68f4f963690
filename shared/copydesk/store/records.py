"""Read a job back: its record, status and results, its prepared text, vectors and raw article.

One hash per job holds the record (what the client asked), the status and one field per
result; the prepared document, the vectors and the raw article sit in keys beside it. The
``JobStore`` protocol is what the stages need of a store; ``RedisJobStore`` is the one here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from copydesk.core.document import Document
from copydesk.core.ids import epoch_rfc3339
from copydesk.core.packing import unpack_json
from copydesk.store.base import StoreBase, Transition, text

if TYPE_CHECKING:
    from copydesk.store.idempotency import Idempotency


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
        stats: str = "",
    ) -> str: ...
    def start_analysis(
        self, job_id: str, analysis: str, *, token: str = "", retry: bool = False
    ) -> Transition: ...
    def record_result(self, job_id: str, analysis: str, result: dict[str, Any]) -> Transition: ...
    def label_set(self, tenant: str, name: str, version: str) -> list[Any] | None: ...


class JobRecords(StoreBase):
    """Reads of stored jobs."""

    def get(self, job_id: str) -> dict[str, Any] | None:
        """Return the stored job as one dict (record fields, status, results) or None."""
        return job_from(self.redis.hgetall(self.job_key(job_id)))

    def statuses(self, job_ids: list[str]) -> list[str | None]:
        """The status of each job (None once expired), in one round trip."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self.job_key(job_id), "status")
            return [text(status) if status is not None else None for status in pipe.execute()]

    def raw_article(self, job_id: str) -> dict[str, Any] | None:
        """Return the article as the client sent it, until the prepare stage has consumed it."""
        raw = self.redis.get(self.job_key(job_id) + ":article")
        return unpack_json(raw) if raw is not None else None

    def document(self, job_id: str) -> Document | None:
        raw = self.redis.get(self.job_key(job_id) + ":doc")
        return Document.from_json(raw) if raw is not None else None

    def vectors(self, job_id: str) -> bytes | None:
        """Return the prepare stage's sentence vectors, or None (none made, or job ended)."""
        return self.redis.get(self.job_key(job_id) + ":vectors")

    def expired(self, job_id: str, *, tenant: str) -> bool:
        """Tell whether the tenant's job, no longer stored, existed (410 Gone, not 404)."""
        return text(self.redis.get(self.expiry_marker(job_id)) or b"") == tenant

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        """The batch as created, with its webhook's state like a job's (``webhook_state``...)."""
        fields = {text(k): text(v) for k, v in self.redis.hgetall(self.batch_key(batch_id)).items()}
        if not fields:
            return None
        batch = json.loads(fields["record"])
        batch.update(webhook_fields(fields))
        batch["ended"] = int(fields.get("ended") or 0)
        return batch


def job_from(raw: dict[bytes, bytes]) -> dict[str, Any] | None:
    """The job as one dict from the fields of its hash (all, or those a listing reads), or
    None when it has none (it expired)."""
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
    job.update(webhook_fields(fields))
    job["sweeps"] = int(fields.get("sweeps") or 0)
    return job


def webhook_fields(fields: dict[str, str]) -> dict[str, Any]:
    """Where a job's (or a batch's) webhook stands, from its hash."""
    return {
        "webhook_state": fields.get("webhook_state"),
        "webhook_attempts": int(fields.get("webhook_attempts") or 0),
        "webhook_next_at": epoch_rfc3339(fields.get("webhook_next_at")),
        "webhook_error": fields.get("webhook_error"),
    }
