"""Serve jobs: submit one, list them, read one and its text, cancel one."""

from __future__ import annotations

import base64
import logging
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for

from copydesk.archive.articles import Archived
from copydesk.archive.listing import list_merged
from copydesk.core import errors
from copydesk.core.api_models import CURSOR, JobList, JobOut, ListQuery, SubmitHeaders
from copydesk.core.ids import JOB_ID
from copydesk.core.render import render_job
from copydesk.core.names import JOB_STATUSES, is_terminal
from copydesk.core.schemas import JobRequest
from copydesk.intake import body
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.searching import run, search
from copydesk.intake.views.common import (
    accepted,
    bad_arg,
    idempotency,
    int_arg,
    json_object,
    load,
    load_any,
    service,
)

bp = Blueprint("jobs", __name__)
log = logging.getLogger(__name__)


@bp.post("/v1/jobs")
@documented(
    json=JobRequest,
    headers=SubmitHeaders,
    resp=responses({202: JobOut}, 400, 409, 413, 415, 422),
    tags=["jobs"],
)
def submit_job() -> Response:
    """Accept one job. A body carrying article.html may be up to COPYDESK_MAX_HTML_BODY_BYTES,
    one carrying article.text COPYDESK_MAX_BODY_BYTES; either may be sent gzipped."""
    settings = service().settings
    parsed, size = json_object(ceiling=body.job_ceiling(settings))
    body.check_job_size(parsed.get("article"), size, settings)
    job_request = JobRequest.model_validate(parsed)
    job, replayed = service().submit(
        job_request, tenant=g.tenant, base_url=request.host_url, idempotency=idempotency(parsed)
    )
    log.info(
        "job %s accepted%s", job["id"], " (replayed)" if replayed else "",
        extra={"job_id": job["id"], "tenant": g.tenant, "outcome": "replayed" if replayed else "accepted"},
    )  # fmt: skip
    location = url_for(".get_job", job_id=job["id"])
    return accepted(render_job(job), job, location=location, replayed=replayed)


@bp.get("/v1/jobs")
@documented(query=ListQuery, resp=responses({200: JobList}, 422), tags=["jobs"])
def list_jobs() -> Response:
    """List jobs newest first; ``status`` and ``ref`` filter, ``cursor`` pages on."""
    args = request.args
    limit = int_arg("limit", default=20, low=1, high=100)
    status = args.get("status")
    if status is not None and status not in JOB_STATUSES:
        raise bad_arg("status", f"must be one of {', '.join(JOB_STATUSES)}")
    before = decode_cursor(args["cursor"]) if "cursor" in args else None
    if service().archive is None:
        jobs, after = service().store.list_jobs(
            tenant=g.tenant, limit=limit, before=before, status=status, ref=args.get("ref")
        )
        shown = [_summary(job) for job in jobs]
    else:  # finished jobs stay listed from the archive once Redis let them go
        searching = search()
        shown, after = run(
            lambda: list_merged(
                store=service().store, search=searching, tenant=g.tenant, limit=limit,
                before=before, status=status, ref=args.get("ref"), summary=_summary,
            )
        )  # fmt: skip
    page: dict[str, Any] = {"jobs": shown}
    if after is not None:
        query = {k: v for k, v in args.items() if k != "cursor"} | {"cursor": encode_cursor(after)}
        page["next"] = url_for(".list_jobs", **query)
    return jsonify(page)


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    rendered = render_job(job)
    keep = ("id", "status", "created_at", "updated_at", "completed_at", "article", "links")
    return {key: rendered[key] for key in keep}


def encode_cursor(position: tuple[int, str]) -> str:
    """The cursor of a place in the listing: ``number-id``, a form the document can state."""
    return f"{position[0]}-{position[1]}"


def decode_cursor(cursor: str) -> tuple[int, str]:
    if CURSOR.fullmatch(cursor):
        number, job_id = cursor.split("-")
        return int(number), job_id
    try:  # the base64 form of earlier versions, from a client paging across an upgrade
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        number, job_id = raw.split(":", 1)
        if JOB_ID.fullmatch(job_id) and number.isascii() and number.isdigit():
            return int(number), job_id
    except (ValueError, UnicodeDecodeError):
        pass
    raise bad_arg("cursor", "not a cursor this API gave out")


@bp.get("/v1/jobs/<job_id>")
@documented(resp=responses({200: JobOut}, 404, 410), tags=["jobs"])
def get_job(job_id: str) -> Response:
    """A job: its status, article, options, each analysis's result, and its webhook."""
    job = load_any(job_id)
    return jsonify(job.document if isinstance(job, Archived) else render_job(job))


@bp.get("/v1/jobs/<job_id>/text")
@documented(resp=responses({200: None}, 404, 409, 410, media="text/plain"), tags=["jobs"])
def get_job_text(job_id: str) -> Response:
    """The text the analyses read (after extraction and cleaning), which result offsets index.

    409 text_not_ready (with Retry-After) until the article is prepared; 409 text_not_found
    (no Retry-After) when the job ended before it was."""
    job = load_any(job_id)  # the tenant's job, or 404
    if isinstance(job, Archived):  # finished: its text was archived, if it was ever prepared
        if job.text is None:
            raise errors.TextNotFound(f"job {job_id!r} ended before its article was prepared")
        return Response(job.text, mimetype="text/plain")
    doc = service().store.document(job["id"])
    if doc is None:
        if not job["prepared"] and not is_terminal(job["status"]):
            raise errors.TextNotReady("the article is still being prepared; retry shortly")
        raise errors.TextNotFound(f"job {job_id!r} ended before its article was prepared")
    return Response(doc.text, mimetype="text/plain")


@bp.post("/v1/jobs/<job_id>/cancel")
@documented(resp=responses({202: JobOut}, 404, 410), tags=["jobs"])
def cancel_job(job_id: str) -> Response:
    """Cancel a job: analyses not yet started never run. A finished job stays as it is."""
    job = load_any(job_id)
    if isinstance(job, Archived):  # finished, and read from the archive
        response = jsonify(job.document)
        response.status_code = 202
        return response
    service().cancel(job)
    response = jsonify(render_job(load(job_id)))
    response.status_code = 202
    return response
