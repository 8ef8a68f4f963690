"""Search archived articles: GET /v1/articles, filtered, newest first, in cursor pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for

from copydesk.archive.search import ArticleFilters
from copydesk.core.api_models import ArticleList, ArticleQuery
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.jobs import decode_cursor, encode_cursor
from copydesk.intake.views.searching import query, run, search, utc

bp = Blueprint("articles", __name__)


@bp.get("/v1/articles")
@documented(query=ArticleQuery, resp=responses({200: ArticleList}, 422), tags=["search"])
def list_articles() -> Response:
    """Search archived articles newest first by text, entity, topic, sentiment, time, ref and
    status; ``cursor`` pages on.

    Filters combine (all must match). Finished jobs appear once archived."""
    asked = query(ArticleQuery)
    searching = search()
    filters = ArticleFilters(
        text=asked.text,
        language=asked.language,
        entity=asked.entity,
        entity_type=asked.entity_type if asked.entity is not None else None,
        topic=asked.topic,
        sentiment_min=asked.sentiment_min,
        sentiment_max=asked.sentiment_max,
        since=utc(asked.since),
        until=utc(asked.until),
        ref=asked.ref,
        status=asked.status,
    )
    before = decode_cursor(asked.cursor) if asked.cursor is not None else None
    items, after = run(
        lambda: searching.articles(
            tenant=g.tenant, filters=filters, limit=asked.limit, before=before
        )
    )
    page: dict[str, Any] = {"articles": items}
    if after is not None:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        page["next"] = url_for(".list_articles", **args, cursor=encode_cursor(after))
    return jsonify(page)
