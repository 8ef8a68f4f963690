"""Serve the v1 job API and the health endpoints."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, redirect, request, url_for

from copydesk.core import errors
from copydesk.store import presence
from copydesk.core.names import ANALYSES, PRIORITY_STEPS, QUEUES, queue_key
from copydesk.core.schemas import (
    JOB_STATUSES,
    LABEL_SET_NAME,
    LABEL_SET_NAME_RULE,
    BatchRequest,
    JobRequest,
    LabelSetIn,
)
from copydesk.core.render import batch_view, delivery_id, render_job, webhook_view
from copydesk.core.ids import JOB_ID
from copydesk.core.schemas import is_terminal
from copydesk.store.idempotency import Idempotency
from copydesk.core.api_models import (
    BatchOut,
    Deliveries,
    EventHeaders,
    Health,
    SubmitHeaders,
    JobList,
    JobOut,
    LabelSetList,
    LabelSetOut,
    LabelSetSummary,
    ListQuery,
    Models,
)
from copydesk.core.models_view import describe
from copydesk.store.labelsets import MAX_LABEL_SETS
from copydesk.intake import body
from copydesk.intake.auth import OPEN_TENANT
from copydesk.intake.openapi import documented, responses, spec
from copydesk.intake.service import IntakeService

bp = Blueprint("v1", __name__)
log = logging.getLogger(__name__)
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")


def _service() -> IntakeService:
    return current_app.extensions["copydesk"]


@bp.before_request
def _authenticate() -> None:
    """Name the request's tenant from its API key; 401 without a valid one (when keys are on)."""
    if not request.path.startswith("/v1/"):
        return  # health checks stay open
    keyring = _service().keyring
    if not keyring.enabled:
        g.tenant = OPEN_TENANT
        return
    tenant = keyring.tenant_for(request.headers.get("Authorization"))
    if tenant is None:
        raise errors.Unauthorized(
            "send a valid API key as 'Authorization: Bearer <key>'"
            if request.headers.get("Authorization")
            else "this API needs a key: send 'Authorization: Bearer <key>'"
        )
    g.tenant = tenant


def _json_object(*, ceiling: int) -> tuple[dict[str, Any], int]:
    """The request's JSON body, which must be an object (422 otherwise), and its size."""
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        raise errors.UnsupportedMediaType(
            f"send the job as JSON with 'Content-Type: application/json' (got {mimetype or 'none'!r})"
        )
    request.max_content_length = ceiling
    parsed, size = body.read_json(request, ceiling=ceiling)
    if not isinstance(parsed, dict):
        raise errors.ValidationFailed(
            "the body must be a JSON object",
            errors=[{"field": "(body)", "message": "not an object"}],
        )
    return parsed, size


@bp.post("/v1/jobs")
@documented(
    json=JobRequest,
    headers=SubmitHeaders,
    resp=responses({202: JobOut}, 400, 413, 415, 422),
    tags=["jobs"],
)
def submit_job() -> Response:
    """Accept one job. A body carrying article.html may be up to COPYDESK_MAX_HTML_BODY_BYTES,
    one carrying article.text COPYDESK_MAX_BODY_BYTES; either may be sent gzipped."""
    settings = _service().settings
    parsed, size = _json_object(ceiling=body.job_ceiling(settings))
    body.check_job_size(parsed.get("article"), size, settings)
    job_request = JobRequest.model_validate(parsed)
    idempotency = _idempotency(parsed)
    job, replayed = _service().submit(
        job_request, tenant=g.tenant, base_url=request.host_url, idempotency=idempotency
    )
    log.info(
        "job %s accepted%s", job["id"], " (replayed)" if replayed else "",
        extra={"job_id": job["id"], "tenant": g.tenant, "outcome": "replayed" if replayed else "accepted"},
    )  # fmt: skip
    location = url_for("v1.get_job", job_id=job["id"])
    return _accepted(render_job(job), job, location=location, replayed=replayed)


def _accepted(
    rendered: dict[str, Any], stored: dict[str, Any], *, location: str, replayed: bool
) -> Response:
    """The 202 of a job or a batch: a minted webhook secret is shown here only (and in a
    replay, which is the same answer sent again)."""
    minted = _service().minted_secret(stored)
    if minted is not None:
        rendered["webhook"]["secret"] = minted
    response = jsonify(rendered)
    response.status_code = 202
    response.headers["Location"] = location
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _idempotency(parsed: Any) -> Idempotency | None:
    """Read the Idempotency-Key header (IETF httpapi draft): 1-255 printable ASCII chars."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise errors.InvalidIdempotencyKey(
            "Idempotency-Key must be 1 to 255 printable ASCII characters"
        )
    canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Idempotency(
        scope=g.tenant,
        key=key,
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest(),
        ttl=_service().settings.idempotency_ttl_seconds,
    )


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
    settings = _service().settings
    parsed, _ = _json_object(ceiling=settings.max_batch_body_bytes)
    jobs = parsed.get("jobs")
    if isinstance(jobs, list) and len(jobs) > settings.max_batch_jobs:
        raise errors.TooManyJobs(
            f"a batch holds at most {settings.max_batch_jobs} jobs (got {len(jobs)}); "
            "split it (COPYDESK_MAX_BATCH_JOBS)"
        )
    for job in jobs if isinstance(jobs, list) else ():
        body.check_html_page(job.get("article") if isinstance(job, dict) else None, settings)
    batch_request = BatchRequest.model_validate(parsed)
    batch, replayed = _service().submit_batch(
        batch_request,
        tenant=g.tenant,
        base_url=request.host_url,
        idempotency=_idempotency(parsed),
    )
    log.info(
        "batch %s of %d jobs accepted", batch["id"], len(batch["jobs"]),
        extra={"batch_id": batch["id"], "tenant": g.tenant},
    )  # fmt: skip
    location = url_for("v1.get_batch", batch_id=batch["id"])
    return _accepted(_batch_view(batch), batch, location=location, replayed=replayed)


@bp.get("/v1/batches/<batch_id>")
@documented(resp=responses({200: BatchOut}, 404), tags=["batches"])
def get_batch(batch_id: str) -> Response:
    """A batch: how many of its jobs are in each status, and their ids."""
    batch = _service().store.batch(_checked(batch_id, errors.BatchNotFound))
    if batch is None or batch["tenant"] != g.tenant:
        raise errors.BatchNotFound(f"no batch with id {batch_id!r}")
    return jsonify(_batch_view(batch))


def _batch_view(batch: dict[str, Any]) -> dict[str, Any]:
    return batch_view(batch, _service().store.statuses(batch["jobs"]))


@bp.put("/v1/label-sets/<name>")
@documented(
    json=LabelSetIn,
    resp=responses({200: LabelSetSummary, 201: LabelSetSummary}, 400, 409, 413, 415, 422),
    tags=["label sets"],
)
def put_label_set(name: str) -> Response:
    """Create or replace a named set of topic labels (names, or objects with a description and
    example articles); jobs name it as ``options.topics.label_set``. A job keeps the version
    it was submitted with, so replacing a set never changes a job already queued."""
    if not LABEL_SET_NAME.fullmatch(name):
        raise _bad_arg("name", f"a label set's name is {LABEL_SET_NAME_RULE}")
    parsed, _ = _json_object(ceiling=_service().settings.max_label_set_bytes)
    labels = LabelSetIn.model_validate(parsed).model_dump(exclude_none=True)["labels"]
    saved = _service().store.label_sets.put(g.tenant, name, labels)
    if saved is None:
        raise errors.TooManyLabelSets(
            f"this tenant keeps {MAX_LABEL_SETS} label sets, the most allowed; delete one first"
        )
    created = saved.pop("created")
    response = jsonify(saved)
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = url_for("v1.get_label_set", name=name)
    return response


@bp.get("/v1/label-sets/<name>")
@documented(resp=responses({200: LabelSetOut}, 404), tags=["label sets"])
def get_label_set(name: str) -> Response:
    """A label set with its labels as they were sent (``definition``)."""
    found = _service().store.label_sets.get(g.tenant, _label_set_name(name))
    if found is None:
        raise errors.LabelSetNotFound(f"no label set {name!r}")
    return jsonify(found)


@bp.delete("/v1/label-sets/<name>")
@documented(resp=responses({204: None}, 404), tags=["label sets"])
def delete_label_set(name: str) -> Response:
    """Forget a label set; jobs already submitted with it still finish with its labels."""
    if not _service().store.label_sets.delete(g.tenant, _label_set_name(name)):
        raise errors.LabelSetNotFound(f"no label set {name!r}")
    return Response(status=204)


@bp.get("/v1/label-sets")
@documented(resp=responses({200: LabelSetList}), tags=["label sets"])
def list_label_sets() -> Response:
    """The tenant's label sets by name: their label names and example counts."""
    return jsonify({"label_sets": _service().store.label_sets.list(g.tenant)})


def _label_set_name(name: str) -> str:
    """A name as the API gives them out; anything else cannot name a set (404)."""
    if not LABEL_SET_NAME.fullmatch(name):
        raise errors.LabelSetNotFound(f"no label set {name!r}: names are {LABEL_SET_NAME_RULE}")
    return name


@bp.get("/v1/jobs")
@documented(query=ListQuery, resp=responses({200: JobList}, 422), tags=["jobs"])
def list_jobs() -> Response:
    """List jobs newest first; ``status`` and ``ref`` filter, ``cursor`` pages on."""
    args = request.args
    limit = _int_arg("limit", default=20, low=1, high=100)
    status = args.get("status")
    if status is not None and status not in JOB_STATUSES:
        raise _bad_arg("status", f"must be one of {', '.join(JOB_STATUSES)}")
    before = _decode_cursor(args["cursor"]) if "cursor" in args else None
    jobs, after = _service().store.list_jobs(
        tenant=g.tenant, limit=limit, before=before, status=status, ref=args.get("ref")
    )
    body: dict[str, Any] = {"jobs": [_summary(job) for job in jobs]}
    if after is not None:
        query = {k: v for k, v in args.items() if k != "cursor"} | {"cursor": _encode_cursor(after)}
        body["next"] = url_for("v1.list_jobs", **query)
    return jsonify(body)


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    rendered = render_job(job)
    keep = ("id", "status", "created_at", "updated_at", "completed_at", "article", "links")
    return {key: rendered[key] for key in keep}


def _int_arg(name: str, *, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _bad_arg(name, f"must be an integer from {low} to {high}")
    return int(raw)


def _bad_arg(name: str, message: str) -> errors.CopydeskError:
    return errors.ValidationFailed(
        f"{name}: {message}", errors=[{"field": name, "message": message}]
    )


def _encode_cursor(position: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(f"{position[0]}:{position[1]}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        number, job_id = raw.split(":", 1)
        if JOB_ID.fullmatch(job_id) and number.isdigit():
            return int(number), job_id
    except (ValueError, UnicodeDecodeError):
        pass
    raise _bad_arg("cursor", "not a cursor this API gave out")


@bp.get("/v1/jobs/<job_id>")
@documented(resp=responses({200: JobOut}, 404, 410), tags=["jobs"])
def get_job(job_id: str) -> Response:
    return jsonify(render_job(_load(job_id)))


@bp.get("/v1/jobs/<job_id>/text")
@documented(resp=responses({200: None}, 404, 409, 410, media="text/plain"), tags=["jobs"])
def get_job_text(job_id: str) -> Response:
    job = _load(job_id)  # the tenant's job, or 404
    doc = _service().store.document(job["id"])
    if doc is None:
        if not job["prepared"] and not is_terminal(job["status"]):
            raise errors.TextNotReady("the article is still being prepared; retry shortly")
        raise errors.TextNotFound(f"job {job_id!r} ended before its article was prepared")
    return Response(doc.text, mimetype="text/plain")


STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")
TERMINAL_EVENTS = {f"job.{status}" for status in JOB_STATUSES if is_terminal(status)}


@bp.get("/v1/jobs/<job_id>/events")
@documented(
    headers=EventHeaders,
    resp=responses({200: None}, 404, 410, 422, media="text/event-stream"),
    tags=["jobs"],
)
def job_events(job_id: str) -> Response:
    """Server-Sent Events: each status change and each analysis result, from the job's start
    (or after ``Last-Event-ID``), ending after the terminal state. A stream lasts at most
    COPYDESK_SSE_MAX_SECONDS; the client reconnects with Last-Event-ID and loses nothing."""
    job = _load(job_id)
    store = _service().store
    last = request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or "0"
    if last != "0" and not STREAM_ID.fullmatch(last):
        raise _bad_arg("Last-Event-ID", "not an event id this API gave out")
    stream_key = store.job_key(job["id"]) + ":stream"
    until = time.monotonic() + _service().settings.sse_max_seconds

    def events() -> Iterator[str]:
        cursor = last
        yield "retry: 2000\n\n"
        while time.monotonic() < until:
            block = int(max(1, min(15, until - time.monotonic())) * 1000)
            found = store.redis.xread({stream_key: cursor}, block=block, count=100)
            if not found:
                current = store.get(job["id"])
                if current is None or is_terminal(current["status"]):
                    return  # nothing more will come (the terminal event was sent before)
                yield ": keep-alive\n\n"
                continue
            for entry_id, fields in found[0][1]:
                cursor = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                event = json.loads(fields[b"event"])
                if event["type"] == "analysis.completed":
                    current = store.get(job["id"]) or {"results": {}}
                    event["result"] = current["results"].get(event["analysis"])
                data = json.dumps(event, ensure_ascii=False)
                yield f"id: {cursor}\nevent: {event['type']}\ndata: {data}\n\n"
                if event["type"] in TERMINAL_EVENTS:
                    return

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(events(), mimetype="text/event-stream", headers=headers)


@bp.post("/v1/jobs/<job_id>/cancel")
@documented(resp=responses({202: JobOut}, 404, 410), tags=["jobs"])
def cancel_job(job_id: str) -> Response:
    """Cancel a job: analyses not yet started never run. A finished job stays as it is."""
    job = _load(job_id)
    _service().cancel(job)
    response = jsonify(render_job(_load(job_id)))
    response.status_code = 202
    return response


@bp.get("/v1/jobs/<job_id>/deliveries")
@documented(resp=responses({200: Deliveries}, 404, 410), tags=["webhooks"])
def get_job_deliveries(job_id: str) -> Response:
    """List the job's webhook delivery attempts: time, status code, latency and error."""
    return jsonify(_deliveries(_load(job_id)))


@bp.post("/v1/jobs/<job_id>/deliveries/<delivery>/redeliver")
@documented(resp=responses({202: Deliveries}, 404, 409, 410), tags=["webhooks"])
def redeliver(job_id: str, delivery: str) -> Response:
    """Send the job's event again (same ``webhook-id``), from the first attempt of the schedule."""
    job = _load(job_id)
    if job.get("webhook") and not is_terminal(job["status"]):
        raise errors.JobNotFinished("the job has not finished: its webhook is sent when it does")
    if delivery != delivery_id(job):
        raise errors.DeliveryNotFound(f"job {job['id']!r} has no delivery {delivery[:100]!r}")
    _service().redeliver(job)
    response = jsonify(_deliveries(_load(job_id)))
    response.status_code = 202
    return response


def _deliveries(job: dict[str, Any]) -> dict[str, Any]:
    attempts = _service().store.deliveries(job["id"]) if job.get("webhook") else []
    webhook = webhook_view(job) if job.get("webhook") else None
    return {
        "job_id": job["id"],
        "delivery_id": delivery_id(job),
        "webhook_state": job.get("webhook_state"),
        "webhook": webhook,
        "attempts": attempts,
    }


def _checked(job_id: str, missing: type[errors.CopydeskError] = errors.JobNotFound) -> str:
    """Refuse anything that is not an id before it becomes part of a Redis key."""
    if not JOB_ID.fullmatch(job_id):
        raise missing(
            f"no {'batch' if missing is errors.BatchNotFound else 'job'} with id {job_id[:100]!r}"
        )
    return job_id


def _load(job_id: str) -> dict[str, Any]:
    store = _service().store
    job = store.get(_checked(job_id))
    if job is not None and job.get("tenant", OPEN_TENANT) != g.tenant:
        job = None  # another tenant's job does not exist, as far as this one can tell
    elif job is None and store.expired(job_id, tenant=g.tenant):
        raise errors.JobExpired(f"job {job_id!r} has expired and its results were deleted")
    if job is None:
        raise errors.JobNotFound(f"no job with id {job_id!r}")
    return job


@bp.get("/healthz")
@documented(resp=responses({200: Health}, common=False), security={}, tags=["health"])
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@documented(resp=responses({200: Health, 503: Health}, common=False), security={}, tags=["health"])
def readyz() -> Response:
    """Ready only when Redis answers, every queue has a live worker with its models loaded,
    and a dispatcher runs; otherwise 503 naming what is missing. (/healthz: the process.)"""
    service = _service()
    redis_client = service.store.redis
    try:
        service.store.ping()
        by_priority = {
            queue: {p: redis_client.llen(queue_key(queue, p)) for p in PRIORITY_STEPS}
            for queue in QUEUES
        }
        workers = presence.live(redis_client)
        dispatchers = presence.dispatchers(redis_client)
    except Exception as exc:  # any Redis failure means "not ready"; the log has the detail
        log.warning("readiness check failed: %r", exc)
        body = {"status": "unavailable", "redis": {"ok": False}, "missing": ["redis"]}
        return Response(json.dumps(body), status=503, mimetype="application/json")
    serving = {queue: sum(queue in w["queues"] for w in workers) for queue in QUEUES}
    missing = [f"worker for queue {queue}" for queue, count in serving.items() if not count]
    if not dispatchers:
        missing.append("dispatcher")
    body = {
        "status": "unavailable" if missing else "ok",
        "redis": {"ok": True},
        "missing": missing,
        "workers": serving,
        "dispatchers": dispatchers,
        "queues": {queue: sum(depths.values()) for queue, depths in by_priority.items()},
        "queues_by_priority": by_priority,
        "analyses": list(ANALYSES),
    }
    return Response(json.dumps(body), status=503 if missing else 200, mimetype="application/json")


@bp.get("/v1/models")
@documented(resp=responses({200: Models}), tags=["health"])
def models() -> Response:
    """For each analysis: its backend, model, revision, input window, device and precision,
    and whether a live worker has it loaded."""
    service = _service()
    workers = presence.live(service.store.redis)
    return jsonify({"analyses": describe(service.settings, workers)})


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API."""
    return jsonify(spec.spec)


@bp.get("/docs")
def docs() -> Response:
    """Interactive API docs (Swagger UI)."""
    return redirect("/docs/swagger/")


@bp.get("/")
def dashboard() -> Response:
    """The dashboard: paste an article and watch its analyses arrive."""
    return current_app.send_static_file("index.html")
