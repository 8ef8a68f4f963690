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
        "options": job["options"],
        "results": results,
    }
    if job.get("webhook"):
        rendered["webhook"] = {"url": job["webhook"]["url"], "state": job.get("webhook_state")}
    rendered["links"] = {"self": f"/v1/jobs/{job_id}", "text": f"/v1/jobs/{job_id}/text"}
    return rendered
