"""Read a tenant's stories: recent, biggest or fastest-growing pages, and one story's articles.

The stories analysis writes the tables (``copydesk.archive.stories``); these reads serve
``GET /v1/stories`` and ``GET /v1/stories/{id}``. Each is one index range of the tenant with
a ``LIMIT`` one past the page and runs under the search's statement timeout: recent stories
from ``stories_recent``, the biggest from ``stories_size``, the fastest-growing from
``story_articles_recent`` (the articles of the last hours, counted per story), and a story's
articles from ``story_articles_story``. A place in a page is (a number, a story or job id):
last seen in µs, size, or growth, so the views' cursor form serves every sort.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from copydesk.archive.search import ArchiveSearch, Position, micros, moment

Sort = Literal["recent", "size", "growth"]
SHOWN = 10  # entities and topics a story shows, most frequent first


@dataclass(frozen=True, slots=True)
class StoryRange:
    """Which stories a listing pages through."""

    since: datetime | None = None  # last seen at or after
    until: datetime | None = None  # last seen before
    growth_since: datetime | None = None  # growth counts articles created from here to until


def _time(moment_: datetime) -> str:
    return moment_.isoformat().replace("+00:00", "Z")


def _summary(row: tuple[Any, ...], growth: int | None) -> dict[str, Any]:
    story_id, first_seen, last_seen, size, representative, title = row[:6]
    return {
        "id": story_id.hex,
        "size": size,
        "first_seen": _time(first_seen),
        "last_seen": _time(last_seen),
        "title": title,
        "representative": representative.hex,
        "growth": growth,
    }


def _top(counts: dict[str, Any], key: str) -> list[dict[str, Any]]:
    ordered = sorted(counts.items(), key=lambda kv: (-_count(kv[1]), kv[0]))[:SHOWN]
    if key == "name":
        return [{"name": k, "type": v.get("type"), "count": _count(v)} for k, v in ordered]
    return [{"label": k, "count": _count(v)} for k, v in ordered]


def _count(value: Any) -> int:
    return int(value.get("count", 0) if isinstance(value, dict) else value)


COLUMNS = "s.id, s.first_seen, s.last_seen, s.size, s.representative, s.title"


class StoryReads(ArchiveSearch):
    """The archive's stories as the intake's story routes show them."""

    def stories(
        self,
        *,
        tenant: str,
        sort: Sort,
        span: StoryRange,
        limit: int,
        after: Position | None,
    ) -> tuple[list[dict[str, Any]], Position | None]:
        """A page of the tenant's stories in ``sort`` order, and the next page's place."""
        params: dict[str, Any] = {"tenant": tenant, "limit": limit + 1}
        where = ["s.tenant = %(tenant)s"]
        if span.since is not None:
            where.append("s.last_seen >= %(since)s")
            params["since"] = span.since
        if span.until is not None:
            where.append("s.last_seen < %(until)s")
            params["until"] = span.until
        if sort == "growth":
            return self._growing(where, params, span, limit, after)
        if sort == "recent":
            order = "s.last_seen DESC, s.id DESC"
            if after is not None:
                where.append("(s.last_seen, s.id) < (%(number)s, %(id)s::uuid)")
                params.update(number=moment(after[0]), id=after[1])
        else:
            order = "s.size DESC, s.id DESC"
            if after is not None:
                where.append("(s.size, s.id) < (%(number)s, %(id)s::uuid)")
                params.update(number=after[0], id=after[1])
        rows = self._rows(
            f"SELECT {COLUMNS} FROM stories s WHERE {' AND '.join(where)} "
            f"ORDER BY {order} LIMIT %(limit)s",
            params,
        )
        page = [_summary(row, None) for row in rows[:limit]]
        if len(rows) <= limit:
            return page, None
        last = rows[limit - 1]
        number = micros(last[2]) if sort == "recent" else last[3]
        return page, (number, last[0].hex)

    def _growing(
        self,
        where: list[str],
        params: dict[str, Any],
        span: StoryRange,
        limit: int,
        after: Position | None,
    ) -> tuple[list[dict[str, Any]], Position | None]:
        """Stories by their articles created since ``span.growth_since``, most first."""
        params["from"] = span.growth_since
        window = "a.tenant = %(tenant)s AND a.created_at >= %(from)s"
        if span.until is not None:
            window += " AND a.created_at < %(until)s"
        if after is not None:
            where = [*where, "(g.n, g.story_id) < (%(number)s, %(id)s::uuid)"]
            params.update(number=after[0], id=after[1])
        rows = self._rows(
            f"""
            WITH g AS (
              SELECT a.story_id, count(*) AS n FROM story_articles a
              WHERE {window} GROUP BY a.story_id
            )
            SELECT {COLUMNS}, g.n FROM g JOIN stories s
              ON s.tenant = %(tenant)s AND s.id = g.story_id
            WHERE {" AND ".join(where)}
            ORDER BY g.n DESC, g.story_id DESC LIMIT %(limit)s
            """,
            params,
        )
        page = [_summary(row[:6], row[6]) for row in rows[:limit]]
        if len(rows) <= limit:
            return page, None
        return page, (rows[limit - 1][6], rows[limit - 1][0].hex)

    def story(self, *, tenant: str, story_id: str) -> dict[str, Any] | None:
        """The tenant's story with its fields (None: no such story of this tenant)."""
        rows = self._rows(
            f"SELECT {COLUMNS}, s.entities, s.topics, s.sentiment FROM stories s "
            "WHERE s.tenant = %(tenant)s AND s.id = %(id)s::uuid",
            {"tenant": tenant, "id": story_id},
        )
        if not rows:
            return None
        row = rows[0]
        story = _summary(row[:6], None)
        del story["growth"]
        story["entities"] = _top(row[6] or {}, "name")
        story["topics"] = _top(row[7] or {}, "label")
        story["sentiment"] = list(row[8] or [])
        return story

    def story_articles(
        self, *, tenant: str, story_id: str, limit: int, before: Position | None
    ) -> tuple[list[dict[str, Any]], Position | None]:
        """A page of the story's articles newest first, and the next page's place."""
        params: dict[str, Any] = {"tenant": tenant, "story": story_id, "limit": limit + 1}
        keyset = ""
        if before is not None:
            keyset = "AND (a.created_at, a.job_id) < (%(at)s, %(job)s::uuid)"
            params.update(at=moment(before[0]), job=before[1])
        rows = self._rows(
            f"""
            SELECT a.job_id, a.created_at, a.title, a.original_id, a.sentiment
            FROM story_articles a
            WHERE a.tenant = %(tenant)s AND a.story_id = %(story)s::uuid {keyset}
            ORDER BY a.created_at DESC, a.job_id DESC LIMIT %(limit)s
            """,
            params,
        )
        page = [
            {
                "id": job_id.hex,
                "created_at": _time(created_at),
                "title": title,
                "original": original.hex if original is not None else None,
                "sentiment": sentiment,
            }
            for job_id, created_at, title, original, sentiment in rows[:limit]
        ]
        if len(rows) <= limit:
            return page, None
        return page, (micros(rows[limit - 1][1]), rows[limit - 1][0].hex)
