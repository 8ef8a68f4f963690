"""The intake's HTTP routes, one blueprint per resource.

The /v1 blueprints are nested in one parent, ``v1``, whose hook names the request's tenant
from its API key: a route can only be added to the API behind authentication. Health checks,
the docs and the dashboard stay open. (A blueprint's hook runs only for its own routes, so an
unknown /v1 path still answers 404, not 401, as it always has.)
"""

from __future__ import annotations

from flask import Blueprint, Flask

from copydesk.intake.views import (
    alerts,
    articles,
    batches,
    dashboard,
    deliveries,
    docs,
    entities,
    events,
    health,
    jobs,
    label_sets,
    models,
    stories,
)
from copydesk.intake.views.common import authenticate

v1 = Blueprint("v1", __name__)
v1.before_request(authenticate)
for resource in (
    jobs, events, batches, label_sets, deliveries, models, articles, entities, stories,
    alerts,
):  # fmt: skip
    v1.register_blueprint(resource.bp)


def register(app: Flask) -> None:
    """Serve every route; fail at start if a /v1 route escaped authentication."""
    app.register_blueprint(v1)
    app.register_blueprint(health.bp)
    app.register_blueprint(dashboard.bp)
    docs.register(app)
    unguarded = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1/") and not rule.endpoint.startswith("v1.")
    ]
    if unguarded:
        raise RuntimeError(f"/v1 routes outside the v1 blueprint skip authentication: {unguarded}")
