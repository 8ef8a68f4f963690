"""Render a stored job as the public v1 job document.

Secrets and internal fields (the webhook secret, delivery bookkeeping) never leave here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copydesk.core.document import Document


def article_view(article: Mapping[str, Any], doc: Document | None = None) -> dict[str, Any]:
    """What a job shows of its article: as sent until prepared, then what preparing found."""
    return {
        "title": article.get("title") or (doc.title if doc else None),
        "ref": article.get("ref"),
        "url": article.get("url"),
        "language": (doc.language if doc else None) or article.get("language"),
        "characters": len(doc.text) if doc else None,
        "analysed_characters": doc.meta.get("analysed_characters") if doc else None,
        "cleaning": _cleaning_view(article, doc),
    }


def _cleaning_view(article: Mapping[str, Any], doc: Document | None) -> dict[str, Any]:
    """What cleaning removed, so a client can see it (``enabled: false`` when turned off, or
    when it was not applied because it would have left no text)."""
    removed = doc.meta.get("removed", {}) if doc else {}
    enabled = article.get("clean", True)
    return {
        "enabled": doc.meta.get("cleaned", enabled) if doc else enabled,
        "removed_lines": removed.get("lines") if doc else None,
        "removed_characters": removed.get("characters") if doc else None,
    }


def delivery_id(job: dict[str, Any]) -> str | None:
    """The ``webhook-id`` of the job's event, the same on every attempt and redelivery (so a
    receiver can drop copies); None until the job has ended, or when it has no webhook."""
    from copydesk.core.names import TERMINAL_STATUSES

    if not job.get("webhook") or job["status"] not in TERMINAL_STATUSES:
        return None
    return f"msg_{job['id']}_job.{job['status']}"


def webhook_view(job: dict[str, Any]) -> dict[str, Any]:
    """Where a job's webhook stands: ``state`` is None until the job ends, then ``pending``
    (with ``next_attempt_at``), ``delivered`` or ``failed`` (with ``error``, the reason).
    While pending after a failed attempt, ``error`` tells why that attempt failed."""
    state = job.get("webhook_state")
    return {
        "url": job["webhook"]["url"],
        "state": state,
        "attempts": job.get("webhook_attempts", 0),
        "next_attempt_at": job.get("webhook_next_at") if state == "pending" else None,
        "error": job.get("webhook_error") if state in ("pending", "failed") else None,
    }


def render_job(job: dict[str, Any]) -> dict[str, Any]:
    job_id = job["id"]
    results = {}
    for analysis in job["analyses"]:
        result = job["results"].get(analysis)
        if result is None:
            state = "running" if job.get("started", {}).get(analysis) else "queued"
            result = {"status": state}
        results[analysis] = result
    rendered: dict[str, Any] = {
        "id": job_id,
        "status": job["status"],
        "created_at": job["created_at"],
        "updated_at": job["updated_at"],
        "completed_at": job.get("completed_at"),
        "article": job["article"],
        "analyses": job["analyses"],
        "options": _options_view(job["options"]),
        "priority": job.get("priority", "normal"),
        "results": results,
    }
    if job.get("batch"):
        rendered["batch"] = job["batch"]
    if job.get("webhook"):
        rendered["webhook"] = webhook_view(job)
    rendered["links"] = {"self": f"/v1/jobs/{job_id}", "text": f"/v1/jobs/{job_id}/text"}
    return rendered


def _options_view(options: dict[str, Any]) -> dict[str, Any]:
    """The job's options as sent, except that a topic label's examples show as their count:
    a job shows its article's size, not its text, and the same goes for examples."""
    labels = options.get("topics", {}).get("labels")
    if not labels or all(isinstance(label, str) for label in labels):
        return options
    shown = [
        {**label, "examples": len(label["examples"])}
        if isinstance(label, dict) and label.get("examples")
        else label
        for label in labels
    ]
    return {**options, "topics": {**options["topics"], "labels": shown}}


def batch_view(batch: dict[str, Any], statuses: list[str | None]) -> dict[str, Any]:
    """The public v1 batch: counts of its jobs per status (``statuses``, None once a job
    expired), whether all have ended, their ids, and its webhook if it has one."""
    from copydesk.core.names import JOB_STATUSES, TERMINAL_STATUSES

    counts = dict.fromkeys(JOB_STATUSES, 0)
    for status in statuses:
        counts[status or "expired"] = counts.get(status or "expired", 0) + 1
    done = all(status is None or status in TERMINAL_STATUSES for status in statuses)
    view: dict[str, Any] = {
        "id": batch["id"],
        "status": "completed" if done else "running",
        "created_at": batch["created_at"],
        "priority": batch["priority"],
        "total": len(batch["jobs"]),
        "counts": counts,
        "jobs": batch["jobs"],
        "links": {"self": f"/v1/batches/{batch['id']}"},
    }
    if batch.get("webhook"):
        view["webhook"] = webhook_view(batch)
    return view
