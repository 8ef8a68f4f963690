"""Read a tenant's stories: GET /v1/stories (recent, biggest, growing) and GET /v1/stories/{id}.

Stories are what the ``stories`` analysis keeps in the archive, so these routes read
PostgreSQL only, the way the search routes do (503 archive_off without an archive). A story
of another tenant, or an id that is not one, is 404 story_not_found: an id tells nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for

from copydesk.archive.stories_read import StoryRange, StoryReads
from copydesk.core import errors
from copydesk.core.api_models import StoryArticlesQuery, StoryList, StoryOut, StoryQuery
from copydesk.core.ids import JOB_ID
from copydesk.intake.openapi import documented, responses
from copydesk.intake.views.jobs import decode_cursor, encode_cursor
from copydesk.intake.views.searching import query, run, search, shift, utc

bp = Blueprint("stories", __name__)


def reads() -> StoryReads:
    searching = search()  # 503 archive_off first
    return StoryReads(searching.archive, timeout_ms=searching.timeout_ms)


def links(story: dict[str, Any]) -> dict[str, Any]:
    story["links"] = {
        "self": url_for(".get_story", story_id=story["id"]),
        "representative": url_for("v1.jobs.get_job", job_id=story["representative"]),
    }
    return story


@bp.get("/v1/stories")
@documented(query=StoryQuery, resp=responses({200: StoryList}, 422), tags=["stories"])
def list_stories() -> Response:
    """A page of the tenant's stories: last seen first (`sort=recent`), most articles first
    (`size`) or most articles of the last `hours` first (`growth`); ``cursor`` pages on.

    `since` and `until` bound when a story was last seen; growth counts the articles created
    in the `hours` before `until` (default: now)."""
    asked = query(StoryQuery)
    story_reads = reads()
    until = utc(asked.until)
    span = StoryRange(
        since=utc(asked.since),
        until=until,
        growth_since=shift(until or datetime.now(UTC), -timedelta(hours=asked.hours)),
    )
    after = decode_cursor(asked.cursor) if asked.cursor is not None else None
    items, following = run(
        lambda: story_reads.stories(
            tenant=g.tenant, sort=asked.sort, span=span, limit=asked.limit, after=after
        )
    )
    page: dict[str, Any] = {"stories": [links(story) for story in items]}
    if following is not None:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        page["next"] = url_for(".list_stories", **args, cursor=encode_cursor(following))
    return jsonify(page)


@bp.get("/v1/stories/<story_id>")
@documented(query=StoryArticlesQuery, resp=responses({200: StoryOut}, 404, 422), tags=["stories"])
def get_story(story_id: str) -> Response:
    """The story: its size, first and last seen, representative article, top entities and
    topics, sentiment a day, and a page of its articles newest first (``cursor`` pages on)."""
    asked = query(StoryArticlesQuery)
    story_reads = reads()
    if not JOB_ID.fullmatch(story_id):
        raise errors.StoryNotFound(f"no story {story_id[:100]!r}")
    story = run(lambda: story_reads.story(tenant=g.tenant, story_id=story_id))
    if story is None:
        raise errors.StoryNotFound(f"no story {story_id!r}")
    before = decode_cursor(asked.cursor) if asked.cursor is not None else None
    articles, following = run(
        lambda: story_reads.story_articles(
            tenant=g.tenant, story_id=story_id, limit=asked.limit, before=before
        )
    )
    for article in articles:
        article["links"] = {
            "self": url_for("v1.jobs.get_job", job_id=article["id"]),
            "text": url_for("v1.jobs.get_job_text", job_id=article["id"]),
        }
    body = {**links(story), "articles": articles}
    if following is not None:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        body["next"] = url_for(".get_story", story_id=story_id, **args,
                               cursor=encode_cursor(following))  # fmt: skip
    return jsonify(body)
