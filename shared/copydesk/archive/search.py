"""Search the archive: a tenant's jobs and articles a page at a time, its top entities.

Every query a request runs has an index behind it and a bound on its work: pages are keyset
pages on (created_at, job_id) newest first, read from the index of the most selective filter
(an entity's rows, the text's GIN index, the status or ref index, or the tenant's listing),
with ``LIMIT`` one past the page; the top entities of a time range are read from
``archived_entities_time`` alone (its included columns). Each runs under
``COPYDESK_ARCHIVE_SEARCH_TIMEOUT_MS`` (``SET LOCAL statement_timeout``), so a filter that
matches nothing over years of a large tenant costs at most that, then answers 503
``search_timeout``.

A place in a listing is (microseconds since the epoch, job id), the form the Redis listing's
cursor has, so one cursor pages through both (``copydesk.store.listing``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from copydesk.archive.articles import ENTITIES, TABLE, Archive

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TOP_ENTITIES_SHOWN = 5  # entities an article of a page shows, most salient first
LAST_US = (datetime.max.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
Position = tuple[int, str]  # (µs since the epoch of its creation, job id)


class SearchTimeout(psycopg.errors.QueryCanceled):
    """A search ran past its statement timeout."""


def micros(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def moment(us: int) -> datetime:
    """The instant ``us`` µs after the epoch (a cursor's number: up to 2**64 - 1, held at
    the last instant Python's datetime holds)."""
    return EPOCH + timedelta(microseconds=min(us, LAST_US))


@dataclass(frozen=True, slots=True)
class ArticleFilters:
    """What ``GET /v1/articles`` filters by; None: no filter."""

    text: str | None = None
    language: str | None = None  # the text's language (its config), and the articles'
    entity: str | None = None
    entity_type: str | None = None
    topic: str | None = None
    sentiment_min: float | None = None
    sentiment_max: float | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    ref: str | None = None
    status: str | None = None


class ArchiveSearch:
    """Read pages and counts of the archive for the intake's listing and search routes."""

    def __init__(self, archive: Archive, *, timeout_ms: int) -> None:
        self.archive = archive
        self.timeout_ms = timeout_ms

    def _rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        try:
            with self.archive.connection() as conn:
                conn.execute(
                    "SELECT set_config('statement_timeout', %s, true)", (str(self.timeout_ms),)
                )
                return conn.execute(sql, params).fetchall()
        except psycopg.errors.QueryCanceled as exc:
            raise SearchTimeout(str(exc)) from exc

    def listing(
        self,
        *,
        tenant: str,
        limit: int,
        before: Position | None = None,
        status: str | None = None,
        ref: str | None = None,
    ) -> list[tuple[Position, dict[str, Any]]]:
        """Up to ``limit`` archived jobs of the tenant, newest first, each with its place and
        what ``GET /v1/jobs`` shows of it (the listing, status or ref index)."""
        if ref is not None and "\x00" in ref:  # PostgreSQL's text holds no NUL: none has it
            return []
        where, params = _page(tenant, before, "j")
        if status is not None:
            where.append("j.status = %(status)s")
            params["status"] = status
        if ref is not None:
            where.append("j.ref = %(ref)s")
            params["ref"] = ref
        params["limit"] = limit
        rows = self._rows(
            f"""
            SELECT j.job_id, j.created_at, j.document->>'status', j.document->>'created_at',
                   j.document->>'updated_at', j.document->>'completed_at',
                   j.document->'article', j.document->'links'
            FROM {TABLE} j WHERE {" AND ".join(where)}
            ORDER BY j.created_at DESC, j.job_id DESC LIMIT %(limit)s
            """,
            params,
        )
        keys = ("status", "created_at", "updated_at", "completed_at", "article", "links")
        return [
            (
                (micros(row[1]), row[0].hex),
                {"id": row[0].hex, **dict(zip(keys, row[2:], strict=True))},
            )
            for row in rows
        ]

    def articles(
        self, *, tenant: str, filters: ArticleFilters, limit: int, before: Position | None
    ) -> tuple[list[dict[str, Any]], Position | None]:
        """A page of the tenant's articles that match ``filters``, newest first, and the
        next page's place (None on the last)."""
        f = filters
        driver = "e" if f.entity is not None else "j"
        where, params = _page(tenant, before, driver)
        source = f"{TABLE} j"
        if f.entity is not None:
            source = (
                f"{ENTITIES} e JOIN {TABLE} j ON j.tenant = e.tenant "
                "AND j.created_at = e.created_at AND j.job_id = e.job_id"
            )
            where.append("e.name = %(entity)s")
            params["entity"] = f.entity
            if f.entity_type is not None:
                where.append("e.type = %(entity_type)s")
                params["entity_type"] = f.entity_type
        if f.since is not None:
            where.append(f"{driver}.created_at >= %(since)s")
            params["since"] = f.since
        if f.until is not None:
            where.append(f"{driver}.created_at < %(until)s")
            params["until"] = f.until
        if f.text is not None:
            # a constant query, so the GIN index answers it: the language's own config, or
            # English stems and the words as written (other languages' articles)
            query = (
                "websearch_to_tsquery(copydesk_text_config(%(language)s), %(text)s)"
                if f.language is not None
                else "(websearch_to_tsquery('pg_catalog.english', %(text)s) || "
                "websearch_to_tsquery('pg_catalog.simple', %(text)s))"
            )
            where.append(f"j.search @@ {query}")
            params["text"] = f.text
        if f.language is not None:
            where.append("j.language = %(language)s")
            params["language"] = f.language
        for name, clause in (
            ("topic", "j.topics @> ARRAY[%(topic)s]"),
            ("sentiment_min", "j.sentiment >= %(sentiment_min)s"),
            ("sentiment_max", "j.sentiment <= %(sentiment_max)s"),
            ("ref", "j.ref = %(ref)s"),
            ("status", "j.status = %(status)s"),
        ):
            if getattr(f, name) is not None:
                where.append(clause)
                params[name] = getattr(f, name)
        params["limit"] = limit + 1
        rows = self._rows(
            f"""
            SELECT j.job_id, j.created_at, j.document->>'created_at', j.title, j.ref,
                   j.status, j.language, j.sentiment, j.topics, j.document->'links'
            FROM {source} WHERE {" AND ".join(where)}
            ORDER BY {driver}.created_at DESC, {driver}.job_id DESC LIMIT %(limit)s
            """,
            params,
        )
        seen: set[str] = set()
        page = []
        for row in rows[:limit]:  # one entity named under two types: its article once
            if row[0].hex not in seen:
                seen.add(row[0].hex)
                page.append(row)
        entities = self._top_entities_of(tenant, page)
        items = [
            {
                "id": row[0].hex,
                "created_at": row[2],
                "title": row[3],
                "ref": row[4],
                "status": row[5],
                "language": row[6],
                "sentiment": None if row[7] is None else round(row[7], 4),
                "topics": row[8] or [],
                "entities": entities.get(row[0].hex, []),
                "links": row[9],
            }
            for row in page
        ]
        more = len(rows) > limit
        return items, ((micros(rows[limit - 1][1]), rows[limit - 1][0].hex) if more else None)

    def _top_entities_of(self, tenant: str, rows: list[tuple[Any, ...]]) -> dict[str, list]:
        """The most salient entities of each job of a page, in one index read."""
        if not rows:
            return {}
        found = self._rows(
            f"""
            SELECT job_id, name, type, salience, sentiment FROM {ENTITIES}
            WHERE tenant = %(tenant)s AND created_at = ANY(%(times)s) AND job_id = ANY(%(ids)s)
            ORDER BY salience DESC
            """,
            {"tenant": tenant, "times": [r[1] for r in rows], "ids": [r[0] for r in rows]},
        )
        shown: dict[str, list] = {}
        for job_id, name, kind, salience, sentiment in found:
            kept = shown.setdefault(job_id.hex, [])
            if len(kept) < TOP_ENTITIES_SHOWN:
                kept.append(
                    {
                        "name": name,
                        "type": kind,
                        "salience": round(salience, 4),
                        "sentiment": None if sentiment is None else round(sentiment, 4),
                    }
                )
        return shown

    def top_entities(
        self,
        *,
        tenant: str,
        since: datetime,
        until: datetime,
        entity_type: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """The tenant's entities named in the most articles created in [since, until), with
        how many and their mean sentiment there."""
        params: dict[str, Any] = {"tenant": tenant, "since": since, "until": until}
        where = ["tenant = %(tenant)s", "created_at >= %(since)s", "created_at < %(until)s"]
        if entity_type is not None:
            where.append("type = %(type)s")
            params["type"] = entity_type
        params["limit"] = limit
        rows = self._rows(
            f"""
            SELECT name, type, count(*) AS articles, avg(sentiment) FROM {ENTITIES}
            WHERE {" AND ".join(where)}
            GROUP BY name, type ORDER BY articles DESC, name, type LIMIT %(limit)s
            """,
            params,
        )
        return [
            {
                "name": name,
                "type": kind,
                "articles": articles,
                "sentiment": None if mean is None else round(float(mean), 4),
            }
            for name, kind, articles, mean in rows
        ]


def _page(tenant: str, before: Position | None, alias: str) -> tuple[list[str], dict[str, Any]]:
    """The tenant's rows after ``before`` in (created_at, job_id) descending order: the
    bound on created_at is the index's, the job id only breaks ties."""
    where = [f"{alias}.tenant = %(tenant)s"]
    params: dict[str, Any] = {"tenant": tenant}
    if before is not None:
        where.append(
            f"{alias}.created_at <= %(at)s AND ({alias}.created_at < %(at)s "
            f"OR {alias}.job_id < %(after_id)s)"
        )
        params["at"] = moment(before[0])
        params["after_id"] = before[1]
    return where, params
