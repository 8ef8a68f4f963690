"""Count the entities of archived articles: GET /v1/entities, the top ones of a time range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, g, jsonify

from copydesk.core.api_models import EntityList, EntityQuery
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.common import service
from copydesk.intake.views.searching import query, run, search, shift, utc

bp = Blueprint("entities", __name__)
DEFAULT_DAYS = 7  # the range counted when none is given


@bp.get("/v1/entities")
@documented(query=EntityQuery, resp=responses({200: EntityList}, 422), tags=["search"])
def top_entities() -> Response:
    """The entities named in the most archived articles over a time range, with how many and
    their mean sentiment in them.

    The range defaults to the 7 days before `until` (default: now); one longer than
    COPYDESK_ENTITIES_MAX_DAYS is cut to its last days, and the answer says the range it
    counted."""
    asked = query(EntityQuery)
    searching = search()
    until = utc(asked.until) or datetime.now(UTC)
    since = utc(asked.since) or shift(until, -timedelta(days=DEFAULT_DAYS))
    since = max(since, shift(until, -timedelta(days=service().settings.entities_max_days)))
    found = run(
        lambda: searching.top_entities(
            tenant=g.tenant, since=since, until=until, entity_type=asked.type, limit=asked.limit
        )
    )
    return jsonify(
        {
            "since": since.isoformat().replace("+00:00", "Z"),
            "until": until.isoformat().replace("+00:00", "Z"),
            "entities": found,
        }
    )
