"""Serve what the live workers hold and cover: /v1/models and /v1/workers.

Both read presence (:mod:`copydesk.store.presence`), whose cost follows the number of worker
processes, not the number of keys in Redis. /v1/workers is where an operator looks (and
alerts, with the ``copydesk_workers`` gauges) when a queue has no worker: it is a report that
answers 200 while Redis answers, not a probe, so a missing worker never makes the API look
down (/readyz).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from copydesk.core.api_models import Models, WorkersReport
from copydesk.core.models_view import describe
from copydesk.core.names import PRIORITY_STEPS, QUEUES, queue_key
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.common import service
from copydesk.store import presence

bp = Blueprint("models", __name__)


@bp.get("/v1/models")
@documented(resp=responses({200: Models}), tags=["health"])
def models() -> Response:
    """For each analysis: its backend, model, revision, input window, device and precision,
    and whether a live worker has it loaded."""
    workers = presence.workers(presence.live(service().store.redis))
    return jsonify({"analyses": describe(service().settings, workers)})


@bp.get("/v1/workers")
@documented(resp=responses({200: WorkersReport}), tags=["health"])
def workers() -> Response:
    """Report the live workers per queue, the queues missing one, the dispatchers and what waits.

    A worker process counts once its models are loaded. `missing` names each queue no worker
    consumes, and `status` is `degraded` while one does or no dispatcher runs. It answers 200
    either way: alert on it, or on the copydesk_workers gauges."""
    client = service().store.redis
    covered = presence.coverage(presence.live(client), QUEUES)
    pipe = client.pipeline(transaction=False)
    for queue in QUEUES:
        for priority in PRIORITY_STEPS:
            pipe.llen(queue_key(queue, priority))
    depths = iter(pipe.execute())
    by_priority = {queue: {p: next(depths) for p in PRIORITY_STEPS} for queue in QUEUES}
    return jsonify(
        {
            "status": "ok" if covered.complete else "degraded",
            "missing": covered.missing,
            "workers": covered.workers,
            "dispatchers": covered.dispatchers,
            "queues": {queue: sum(counts.values()) for queue, counts in by_priority.items()},
            "queues_by_priority": by_priority,
        }
    )
