"""Serve the OpenAPI document and the interactive docs (spectree's pages under /docs/)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, redirect

from copydesk.intake.openapi import document, spec
from copydesk.intake.views.common import service

bp = Blueprint("docs", __name__)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API (asking for a key only when keys are set)."""
    return jsonify(document(keys=service().keyring.enabled))


@bp.get("/docs")
@bp.get("/docs/")
def docs() -> Response:
    """Interactive API docs (Swagger UI)."""
    return redirect("/docs/swagger/")


def register(app: Flask) -> None:
    """Serve this blueprint and spectree's docs pages, their assets bundled (no CDN).

    spectree builds the document from the app's routes when it is first asked for. Its pages
    read /docs/openapi.json, which serves the same document as /openapi.json."""
    app.register_blueprint(bp)
    spec.register(app)  # /docs/openapi.json, /docs/swagger/, /docs/redoc/, /docs/scalar/
    app.view_functions[f"openapi_{spec.config.path}"] = openapi_document
