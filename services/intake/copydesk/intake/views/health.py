"""Serve the health checks: /healthz (the process answers) and /readyz (it can do its work)."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, jsonify

from copydesk.core.api_models import Health
from copydesk.core.names import ANALYSES, PRIORITY_STEPS, QUEUES, queue_key
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.common import service
from copydesk.store import presence

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
@documented(resp=responses({200: Health}, common=False), security={}, tags=["health"])
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@documented(resp=responses({200: Health, 503: Health}, common=False), security={}, tags=["health"])
def readyz() -> Response:
    """Ready only when Redis answers, every queue has a live worker with its models loaded,
    and a dispatcher runs; otherwise 503 naming what is missing. (/healthz: the process.)"""
    redis_client = service().store.redis
    try:
        service().store.ping()
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
