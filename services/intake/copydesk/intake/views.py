"""Serve the v1 job API and the health endpoints."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from copydesk.core import errors
from copydesk.core.names import ANALYSES, QUEUES
from copydesk.core.schemas import JOB_STATUSES, JobRequest
from copydesk.core.render import delivery_id, render_job, webhook_view
from copydesk.core.store import JOB_ID, Idempotency, is_terminal
from copydesk.intake.auth import OPEN_TENANT
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


def _json_body() -> Any:
    mimetype = request.mimetype or ""
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        raise errors.UnsupportedMediaType(
            f"send the job as JSON with 'Content-Type: application/json' (got {mimetype or 'none'!r})"
        )
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    too_large = errors.BodyTooLarge(f"the body exceeds the limit of {limit} bytes")
    if (request.content_length or 0) > limit:
        raise too_large
    # the server's own reader: a chunked body has no length to check up front, and Werkzeug's
    # stream would cut it at the limit silently
    raw = request.environ["wsgi.input"].read(limit + 1)
    if len(raw) > limit:
        raise too_large
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.MalformedJSON(f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise errors.MalformedJSON("the body nests JSON too deeply") from exc


@bp.post("/v1/jobs")
def submit_job() -> Response:
    body = _json_body()
    if not isinstance(body, dict):
        raise errors.ValidationFailed(
            "the body must be a JSON object",
            errors=[{"field": "(body)", "message": "not an object"}],
        )
    job_request = JobRequest.model_validate(body)
    idempotency = _idempotency(body)
    job, replayed = _service().submit(
        job_request, tenant=g.tenant, base_url=request.host_url, idempotency=idempotency
    )
    rendered = render_job(job)
    minted = _service().minted_secret(job)
    if minted is not None:
        # shown in the 202 only (and in its replay, which is the same answer sent again)
        rendered["webhook"]["secret"] = minted
    response = jsonify(rendered)
    response.status_code = 202
    response.headers["Location"] = url_for("v1.get_job", job_id=job["id"])
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _idempotency(body: Any) -> Idempotency | None:
    """Read the Idempotency-Key header (IETF httpapi draft): 1-255 printable ASCII chars."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise errors.InvalidIdempotencyKey(
            "Idempotency-Key must be 1 to 255 printable ASCII characters"
        )
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Idempotency(
        scope=g.tenant,
        key=key,
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest(),
        ttl=_service().settings.idempotency_ttl_seconds,
    )


@bp.get("/v1/jobs")
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
def get_job(job_id: str) -> Response:
    return jsonify(render_job(_load(job_id)))


@bp.get("/v1/jobs/<job_id>/text")
def get_job_text(job_id: str) -> Response:
    job = _load(job_id)  # the tenant's job, or 404
    doc = _service().store.document(job["id"])
    if doc is None:
        if not job["prepared"] and not is_terminal(job["status"]):
            raise errors.TextNotReady("the article is still being prepared; retry shortly")
        raise errors.TextNotFound(f"job {job_id!r} ended before its article was prepared")
    return Response(doc.text, mimetype="text/plain")


@bp.post("/v1/jobs/<job_id>/cancel")
def cancel_job(job_id: str) -> Response:
    """Cancel a job: analyses not yet started never run. A finished job stays as it is."""
    job = _load(job_id)
    _service().cancel(job)
    response = jsonify(render_job(_load(job_id)))
    response.status_code = 202
    return response


@bp.get("/v1/jobs/<job_id>/deliveries")
def get_job_deliveries(job_id: str) -> Response:
    """List the job's webhook delivery attempts: time, status code, latency and error."""
    return jsonify(_deliveries(_load(job_id)))


@bp.post("/v1/jobs/<job_id>/deliveries/<delivery>/redeliver")
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


def _checked(job_id: str) -> str:
    """Refuse anything that is not a job id before it becomes part of a Redis key."""
    if not JOB_ID.fullmatch(job_id):
        raise errors.JobNotFound(f"no job with id {job_id[:100]!r}")
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
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    service = _service()
    try:
        service.store.ping()
        depths = {queue: service.store.redis.llen(queue) for queue in QUEUES}
    except Exception as exc:  # any Redis failure means "not ready"; the log has the detail
        log.warning("readiness check failed: %r", exc)
        body = {"status": "unavailable", "redis": {"ok": False}}
        return Response(json.dumps(body), status=503, mimetype="application/json")
    body = {"status": "ok", "redis": {"ok": True}, "queues": depths, "analyses": list(ANALYSES)}
    return jsonify(body)
