"""Serve the dashboard: a static page that submits an article and follows its events."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def dashboard() -> Response:
    """The dashboard: paste an article and watch its analyses arrive."""
    return current_app.send_static_file("index.html")
