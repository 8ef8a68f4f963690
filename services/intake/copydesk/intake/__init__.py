"""The intake: the v1 HTTP API in front of the job store and the analysis queues."""

from __future__ import annotations

import logging

from flask import Flask

from copydesk.core.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the intake app; nothing connects until the first request needs Redis."""
    from copydesk.intake import limits, metrics, problems, views
    from copydesk.intake.service import IntakeService

    settings = settings or get_settings()
    app = Flask("copydesk.intake")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    service = IntakeService.from_settings(settings)
    app.extensions["copydesk"] = service
    if not service.keyring.enabled:
        logging.getLogger("copydesk.intake").warning(
            "API KEYS ARE OFF: anyone who can reach %s can submit articles and read every "
            "job. Set COPYDESK_API_KEYS before exposing this service.",
            settings.http_host,
        )
    limits.install(app, settings, service.keyring)
    metrics.install(app, service.store, settings)
    problems.register(app)
    views.register(app)  # the API, health checks, docs and dashboard
    return app
