"""Evaluate alerts as articles are archived: look up only the alerts an article could match.

The archiver calls :meth:`AlertMatcher.evaluate` once the articles' rows committed. Each
article's terms (its entities, topics and ref, and the broad term) are looked up in
``alert_terms`` in one statement, one index range read per term, so the alerts read are
those on the article's own terms plus its tenant's few broad ones, however many alerts
exist. The rest of each candidate's filter is checked here in Python, its text in SQL
against the archived row, and a story-size condition by counting the story's articles in
its window (an index read bounded by the size).

An alert fires once per story: the firing is inserted unique per (alert, scope), the scope
being the article's story, or the article itself when it has none, so the first matching
article of a story fires and its duplicates and later articles, or the same article archived
again, do not. The firings are committed before they go to Redis (:meth:`flush`): one that
Redis missed (a fault between the two) is queued on the archiver's next round.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from psycopg.types.json import Jsonb

from copydesk.archive import alert_state
from copydesk.archive.alerts import BROAD
from copydesk.archive.articles import Archive, Row

FLUSH_BATCH = 100  # firings queued in Redis per round
TRIM_BATCH = 1000  # firings one transaction of the trim deletes
TRIM_MOST = 200_000  # firings one maintenance deletes at most
CANDIDATES = """
SELECT a.id, a.name, a.filters, a.conditions
FROM unnest(%(kinds)s::text[], %(values)s::text[]) AS k(kind, value)
JOIN alert_terms t ON t.tenant = %(tenant)s AND t.kind = k.kind AND t.value = k.value
JOIN alerts a ON a.id = t.alert_id
"""
TEXT_MATCHES = """
SELECT c.id FROM archived_jobs j,
  unnest(%(ids)s::uuid[], %(texts)s::text[], %(languages)s::text[]) AS c(id, text, language)
WHERE j.tenant = %(tenant)s AND j.job_id = %(job_id)s AND j.created_at = %(created_at)s
  AND j.search @@ CASE WHEN c.language IS NULL
    THEN websearch_to_tsquery('pg_catalog.english', c.text)
         || websearch_to_tsquery('pg_catalog.simple', c.text)
    ELSE websearch_to_tsquery(copydesk_text_config(c.language), c.text) END
"""
STORY_SIZE = """
SELECT count(*) FROM (
  SELECT 1 FROM story_articles WHERE tenant = %s AND story_id = %s
    AND created_at > %s AND created_at <= %s LIMIT %s) members
"""
FIRE = """
INSERT INTO alert_firings (id, tenant, alert_id, scope, job_id, event)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (tenant, alert_id, scope) DO NOTHING RETURNING id
"""
EXPIRED = """
DELETE FROM alert_firings WHERE id = ANY(ARRAY(
  SELECT f.id FROM alert_firings f
  WHERE f.fired_at < %(horizon)s AND NOT EXISTS (
    SELECT 1 FROM stories s
    WHERE s.tenant = f.tenant AND s.last_seen >= %(horizon)s
      AND s.id = CASE WHEN f.scope ~ '^[0-9a-f]{32}$' THEN f.scope::uuid END)
  ORDER BY f.fired_at LIMIT %(batch)s))
"""  # a story's scope is its id in 32 hex digits; an article's is job:<id>
UNQUEUED = """
SELECT f.id, f.alert_id, f.event, a.webhook FROM alert_firings f
JOIN alerts a ON a.id = f.alert_id
WHERE NOT f.queued ORDER BY f.fired_at LIMIT %s
"""


@dataclass(slots=True)
class Evaluation:
    """What evaluating a batch of articles cost and did: alerts read, firings made."""

    candidates: int = 0
    fired: int = 0


@dataclass(frozen=True, slots=True)
class Candidate:
    id: uuid.UUID
    name: str
    filters: dict[str, Any]
    conditions: dict[str, Any]


def terms(row: Row) -> list[tuple[str, str]]:
    """The (kind, value) terms an alert on this article may be indexed under."""
    found = {("entity", e.name) for e in row.entities}
    found |= {("topic", topic) for topic in row.topics or ()}
    if row.ref:
        found.add(("ref", row.ref))
    return sorted(found) + [BROAD]


def story_of(row: Row) -> dict[str, Any] | None:
    """The article's story (``id``, ``size``...) from its stories result, when it has one."""
    result = (row.document.get("results") or {}).get("stories") or {}
    story = result.get("story") if result.get("status") == "succeeded" else None
    return story if story and story.get("id") else None


def matches(filters: dict[str, Any], conditions: dict[str, Any], row: Row) -> bool:
    """Whether the article passes the alert's filters (but its text) and entity conditions."""
    if filters.get("language") not in (None, row.language):
        return False
    if filters.get("ref") not in (None, row.ref):
        return False
    if filters.get("status") not in (None, row.status):
        return False
    if filters.get("topic") is not None and filters["topic"] not in (row.topics or ()):
        return False
    low, high = filters.get("sentiment_min"), filters.get("sentiment_max")
    if (low is not None or high is not None) and row.sentiment is None:
        return False
    if (low is not None and row.sentiment < low) or (high is not None and row.sentiment > high):
        return False
    entity = filters.get("entity")
    if entity is not None and not any(
        _named(e, entity, filters.get("entity_type")) for e in row.entities
    ):
        return False
    for condition in conditions.get("entity_sentiment") or ():
        if not any(
            _named(e, condition["entity"], condition.get("entity_type"))
            and e.sentiment is not None
            and e.sentiment < condition["below"]
            for e in row.entities
        ):
            return False
    return True


def _named(entity: Any, name: str, kind: str | None) -> bool:
    return entity.name == name and (kind is None or entity.type == kind)


class AlertMatcher:
    """Fire the alerts archived articles match, once per story, and queue their deliveries."""

    def __init__(self, archive: Archive, *, client: redis.Redis, ttl: int, kept: int) -> None:
        self.archive = archive
        self.redis = client
        self.ttl = ttl  # how long Redis keeps a firing and an alert's stream
        self.kept = kept  # events an alert's stream keeps

    def evaluate(self, rows: Iterable[Row]) -> Evaluation:
        """Fire what the committed ``rows`` match, earliest article first, in one transaction."""
        done = Evaluation()
        ordered = sorted(rows, key=lambda r: (r.created_at, r.job_id))
        if not ordered:
            return done
        with self.archive.connection() as conn:
            for row in ordered:
                self._evaluate(conn, row, done)
        return done

    def _evaluate(self, conn: Any, row: Row, done: Evaluation) -> None:
        found = terms(row)
        params = {
            "tenant": row.tenant,
            "kinds": [kind for kind, _ in found],
            "values": [value for _, value in found],
        }
        candidates = [Candidate(*r) for r in conn.execute(CANDIDATES, params).fetchall()]
        done.candidates += len(candidates)
        kept = [c for c in candidates if matches(c.filters, c.conditions, row)]
        texts = [c for c in kept if c.filters.get("text")]
        if texts:
            passed = {
                r[0]
                for r in conn.execute(
                    TEXT_MATCHES,
                    {
                        "tenant": row.tenant,
                        "job_id": row.job_id,
                        "created_at": row.created_at,
                        "ids": [c.id for c in texts],
                        "texts": [c.filters["text"] for c in texts],
                        "languages": [c.filters.get("language") for c in texts],
                    },
                ).fetchall()
            }
            kept = [c for c in kept if not c.filters.get("text") or c.id in passed]
        story = story_of(row)
        for candidate in kept:
            size = candidate.conditions.get("story_size")
            if size is not None:
                if story is None or self._members(conn, row, story["id"], size) < size["articles"]:
                    continue
            scope = story["id"] if story is not None else f"job:{row.job_id}"
            event = _event(candidate, row, story, size)
            fired = conn.execute(
                FIRE,
                (uuid.UUID(event["data"]["firing_id"]), row.tenant, candidate.id, scope,
                 row.job_id, Jsonb(event)),
            ).fetchone()  # fmt: skip
            done.fired += fired is not None

    @staticmethod
    def _members(conn: Any, row: Row, story_id: str, size: dict[str, Any]) -> int:
        """The story's articles created in the window that ends at ``row`` (at most the size)."""
        since = row.created_at - timedelta(seconds=size["within_seconds"])
        return conn.execute(
            STORY_SIZE, (row.tenant, story_id, since, row.created_at, size["articles"])
        ).fetchone()[0]

    def flush(self, limit: int = FLUSH_BATCH) -> int:
        """Queue committed firings that are not in Redis yet; returns how many were queued."""
        with self.archive.connection() as conn:
            waiting = conn.execute(UNQUEUED, (limit,)).fetchall()
            for firing_id, alert_id, event, webhook in waiting:
                alert_state.queue(
                    self.redis,
                    firing_id=firing_id.hex,
                    alert_id=alert_id.hex,
                    event=event,
                    webhook=webhook,
                    ttl=self.ttl,
                    kept=self.kept,
                )
            if waiting:
                conn.execute(
                    "UPDATE alert_firings SET queued = true WHERE id = ANY(%s)",
                    ([w[0] for w in waiting],),
                )
        return len(waiting)

    def trim(self, *, horizon: datetime, batch: int = TRIM_BATCH, most: int = TRIM_MOST) -> int:
        """Forget the firings from before ``horizon`` (past the retention) whose story is
        over; returns how many went.

        A firing is what keeps its alert from firing again for the same story, so one goes
        by its time only once its story is gone or was last seen before the horizon (the
        stories trim deletes such a story, and no article joins it again): a story still
        growing keeps its firing however old. An article's own firing (``job:``) goes by
        its time: its job is past the retention and is not archived again. Deletes in
        transactions of ``batch``, oldest first through ``alert_firings_age``, until none
        are left or ``most`` went (a backlog past that waits for the next maintenance), so
        the trim keeps up with any firing rate up to ``most`` an hour.
        """
        gone = 0
        while gone < most:
            size = min(batch, most - gone)
            with self.archive.connection() as conn:
                deleted = conn.execute(EXPIRED, {"horizon": horizon, "batch": size}).rowcount
            gone += deleted
            if deleted < size:
                break
        return gone


def _event(
    candidate: Candidate, row: Row, story: dict[str, Any] | None, size: dict[str, Any] | None
) -> dict[str, Any]:
    """The ``alert.fired`` event: what fired, on which article of which story."""
    links = row.document.get("links") or {}
    return {
        "type": "alert.fired",
        "timestamp": _rfc3339(datetime.now(UTC)),
        "data": {
            "firing_id": uuid.uuid4().hex,
            "alert": {"name": candidate.name, "id": candidate.id.hex},
            "reason": "story_size" if size is not None else "match",
            "story": (
                {"id": story["id"], "size": story.get("size"), "title": story.get("title")}
                if story is not None
                else None
            ),
            "article": {
                "id": row.job_id,
                "created_at": row.document.get("created_at"),
                "title": row.title,
                "ref": row.ref,
                "language": row.language,
                "sentiment": row.sentiment,
                "topics": row.topics or [],
                "url": links.get("self"),
            },
        },
    }


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
