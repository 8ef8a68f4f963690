"""Serve the health checks: /healthz (the process answers) and /readyz (it can accept).

Readiness is the intake's own: Redis answers, so a job can be stored and queued. Whether
workers and dispatchers are there is reported apart (``GET /v1/workers`` and the
``copydesk_workers`` gauges): if readiness hung on them, one crash-looping worker would pull
every intake out of its load balancer, reads included, while jobs could simply wait in their
queue. Neither check reads more than one Redis command, whatever Redis holds.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, jsonify

from copydesk.core.api_models import Health, Readiness
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.common import service

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
@documented(resp=responses({200: Health}, common=False), security={}, tags=["health"])
def healthz() -> Response:
    """Live: the process answers (no Redis call); /readyz tells whether it can accept jobs."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@documented(
    resp=responses({200: Readiness, 503: Readiness}, common=False), security={}, tags=["health"]
)
def readyz() -> Response:
    """Say whether the intake can accept jobs: 200 while Redis answers, else 503.

    Workers and dispatchers do not count here, since a queue without a worker only makes its
    jobs wait: GET /v1/workers reports them."""
    try:
        service().store.ping()
    except Exception as exc:  # any Redis failure means "not ready"; the log has the detail
        log.warning("readiness check failed: %r", exc)
        body = {"status": "unavailable", "redis": {"ok": False}, "missing": ["redis"]}
        return Response(json.dumps(body), status=503, mimetype="application/json")
    body = {"status": "ok", "redis": {"ok": True}, "missing": []}
    return Response(json.dumps(body), status=200, mimetype="application/json")
