"""Serve a job's webhook deliveries: the attempts so far, and sending the event again."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from copydesk.core import errors
from copydesk.core.api_models import Deliveries
from copydesk.core.render import delivery_id, webhook_view
from copydesk.core.names import is_terminal
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.common import load, service

bp = Blueprint("deliveries", __name__)


@bp.get("/v1/jobs/<job_id>/deliveries")
@documented(resp=responses({200: Deliveries}, 404, 410), tags=["webhooks"])
def get_job_deliveries(job_id: str) -> Response:
    """List the job's webhook delivery attempts: time, status code, latency and error."""
    return jsonify(_deliveries(load(job_id)))


@bp.post("/v1/jobs/<job_id>/deliveries/<delivery>/redeliver")
@documented(resp=responses({202: Deliveries}, 404, 409, 410), tags=["webhooks"])
def redeliver(job_id: str, delivery: str) -> Response:
    """Send the job's event again (same ``webhook-id``), from the first attempt of the schedule."""
    job = load(job_id)
    if job.get("webhook") and not is_terminal(job["status"]):
        raise errors.JobNotFinished("the job has not finished: its webhook is sent when it does")
    if delivery != delivery_id(job):
        raise errors.DeliveryNotFound(f"job {job['id']!r} has no delivery {delivery[:100]!r}")
    service().redeliver(job)
    response = jsonify(_deliveries(load(job_id)))
    response.status_code = 202
    return response


def _deliveries(job: dict[str, Any]) -> dict[str, Any]:
    attempts = service().store.deliveries(job["id"]) if job.get("webhook") else []
    webhook = webhook_view(job) if job.get("webhook") else None
    return {
        "job_id": job["id"],
        "delivery_id": delivery_id(job),
        "webhook_state": job.get("webhook_state"),
        "webhook": webhook,
        "attempts": attempts,
    }
