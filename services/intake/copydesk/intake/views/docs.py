"""Serve the OpenAPI document and the interactive docs (spectree's pages under /docs/)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, redirect

from copydesk.intake.openapi import spec

bp = Blueprint("docs", __name__)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API."""
    return jsonify(spec.spec)


@bp.get("/docs")
def docs() -> Response:
    """Interactive API docs (Swagger UI)."""
    return redirect("/docs/swagger/")


def register(app: Flask) -> None:
    """Serve this blueprint and spectree's docs pages, their assets bundled (no CDN).

    spectree builds the document from the app's routes when it is first asked for."""
    app.register_blueprint(bp)
    spec.register(app)  # /docs/openapi.json, /docs/swagger/, /docs/redoc/, /docs/scalar/
