"""Serve batches: submit many jobs at once, and read how they are getting on."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for

from copydesk.core import errors
from copydesk.core.api_models import BatchOut, SubmitHeaders
from copydesk.core.render import batch_view
from copydesk.core.schemas import BatchRequest
from copydesk.intake import body
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.common import accepted, checked, idempotency, json_object, service

bp = Blueprint("batches", __name__)
log = logging.getLogger(__name__)


@bp.post("/v1/batches")
@documented(
    json=BatchRequest,
    headers=SubmitHeaders,
    resp=responses({202: BatchOut}, 400, 409, 413, 415, 422),
    tags=["batches"],
)
def submit_batch() -> Response:
    """Accept up to COPYDESK_MAX_BATCH_JOBS jobs at once; each is a normal job (priority low
    unless it names one)."""
    settings = service().settings
    parsed, _ = json_object(ceiling=settings.max_batch_body_bytes)
    jobs = parsed.get("jobs")
    if isinstance(jobs, list) and len(jobs) > settings.max_batch_jobs:
        raise errors.TooManyJobs(
            f"a batch holds at most {settings.max_batch_jobs} jobs (got {len(jobs)}); "
            "split it (COPYDESK_MAX_BATCH_JOBS)"
        )
    for job in jobs if isinstance(jobs, list) else ():
        body.check_html_page(job.get("article") if isinstance(job, dict) else None, settings)
    batch_request = BatchRequest.model_validate(parsed)
    batch, replayed = service().submit_batch(
        batch_request,
        tenant=g.tenant,
        base_url=request.host_url,
        idempotency=idempotency(parsed),
    )
    log.info(
        "batch %s of %d jobs accepted", batch["id"], len(batch["jobs"]),
        extra={"batch_id": batch["id"], "tenant": g.tenant},
    )  # fmt: skip
    location = url_for(".get_batch", batch_id=batch["id"])
    return accepted(_batch_view(batch), batch, location=location, replayed=replayed)


@bp.get("/v1/batches/<batch_id>")
@documented(resp=responses({200: BatchOut}, 404), tags=["batches"])
def get_batch(batch_id: str) -> Response:
    """A batch: how many of its jobs are in each status, and their ids."""
    batch = service().store.batch(checked(batch_id, errors.BatchNotFound))
    if batch is None or batch["tenant"] != g.tenant:
        raise errors.BatchNotFound(f"no batch with id {batch_id!r}")
    return jsonify(_batch_view(batch))


def _batch_view(batch: dict[str, Any]) -> dict[str, Any]:
    return batch_view(batch, service().store.statuses(batch["jobs"]))
