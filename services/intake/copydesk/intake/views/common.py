"""Read requests the way every v1 view does: the tenant, the JSON body, query args, the job.

The views of each resource call these so that a rule (a job id is checked before it becomes a
Redis key, another tenant's job does not exist) is written once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import psycopg
from flask import Response, current_app, g, jsonify, request

from copydesk.archive.articles import Archived
from copydesk.core import errors
from copydesk.core.api_models import IDEMPOTENCY_KEY
from copydesk.core.ids import JOB_ID
from copydesk.intake import body
from copydesk.intake.auth import OPEN_TENANT
from copydesk.intake.service import IntakeService
from copydesk.store.idempotency import Idempotency

log = logging.getLogger(__name__)


def service() -> IntakeService:
    return current_app.extensions["copydesk"]


def authenticate() -> None:
    """Name the request's tenant from its API key; 401 without a valid one (when keys are on)."""
    keyring = service().keyring
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


def json_object(*, ceiling: int) -> tuple[dict[str, Any], int]:
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


def idempotency(parsed: Any) -> Idempotency | None:
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
        ttl=service().settings.idempotency_ttl_seconds,
    )


def accepted(
    rendered: dict[str, Any], stored: dict[str, Any], *, location: str, replayed: bool
) -> Response:
    """The 202 of a job or a batch: a minted webhook secret is shown here only (and in a
    replay, which is the same answer sent again)."""
    minted = service().minted_secret(stored)
    if minted is not None:
        rendered["webhook"]["secret"] = minted
    response = jsonify(rendered)
    response.status_code = 202
    response.headers["Location"] = location
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def bad_arg(name: str, message: str) -> errors.CopydeskError:
    return errors.ValidationFailed(
        f"{name}: {message}", errors=[{"field": name, "message": message}]
    )


def int_arg(name: str, *, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise bad_arg(name, f"must be an integer from {low} to {high}")
    return int(raw)


def checked(job_id: str, missing: type[errors.CopydeskError] = errors.JobNotFound) -> str:
    """Refuse anything that is not an id before it becomes part of a Redis key."""
    if not JOB_ID.fullmatch(job_id):
        raise missing(
            f"no {'batch' if missing is errors.BatchNotFound else 'job'} with id {job_id[:100]!r}"
        )
    return job_id


def load(job_id: str) -> dict[str, Any]:
    """The tenant's job in Redis; 404 for an unknown id or another tenant's, 410 once it
    expired (there)."""
    job, _ = _find(job_id, archived=False)
    assert job is not None
    return job


def load_any(job_id: str) -> dict[str, Any] | Archived:
    """The tenant's job from Redis, else from the archive (archive on): a finished job is read
    with the same shape after Redis let it go. 404 and 410 as :func:`load`."""
    job, kept = _find(job_id, archived=True)
    return job if job is not None else kept  # type: ignore[return-value]


def _find(job_id: str, *, archived: bool) -> tuple[dict[str, Any] | None, Archived | None]:
    store = service().store
    job = store.get(checked(job_id))
    if job is not None:
        if job.get("tenant", OPEN_TENANT) != g.tenant:
            # another tenant's job does not exist, as far as this one can tell
            raise errors.JobNotFound(f"no job with id {job_id!r}")
        return job, None
    kept = from_archive(job_id) if archived else None
    if kept is not None:
        return None, kept
    if store.expired(job_id, tenant=g.tenant):
        raise errors.JobExpired(f"job {job_id!r} has expired and its results were deleted")
    raise errors.JobNotFound(f"no job with id {job_id!r}")


def from_archive(job_id: str) -> Archived | None:
    """The tenant's job in the archive, None without one (or with the archive off); 503
    archive_unavailable when PostgreSQL does not answer."""
    archive = service().archive
    if archive is None:
        return None
    try:
        return archive.job(job_id, tenant=g.tenant)
    except psycopg.Error as exc:
        log.warning("archive read of job %s failed: %s", job_id, exc)
        raise errors.ArchiveUnavailable(
            f"job {job_id!r} is no longer in the job store and the archive does not answer; "
            "retry shortly"
        ) from exc
