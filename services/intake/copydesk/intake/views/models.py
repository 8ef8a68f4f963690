"""Serve /v1/models: which model each analysis runs, and whether a worker has it loaded."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from copydesk.core.api_models import Models
from copydesk.core.models_view import describe
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.common import service
from copydesk.store import presence

bp = Blueprint("models", __name__)


@bp.get("/v1/models")
@documented(resp=responses({200: Models}), tags=["health"])
def models() -> Response:
    """For each analysis: its backend, model, revision, input window, device and precision,
    and whether a live worker has it loaded."""
    workers = presence.live(service().store.redis)
    return jsonify({"analyses": describe(service().settings, workers)})
