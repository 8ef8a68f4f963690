"""A tenant's alerts in PostgreSQL: saved searches with story conditions, indexed by one term.

An alert is kept with the one term every article it matches must have (``index_term``): its
entity, else the entity of an entity-sentiment condition, else its ref, else its topic. The
archiver looks alerts up by the terms of each new article (``copydesk.archive.alert_match``),
so an article costs the alerts on its own terms, never a read of every alert. An alert with
none of these terms ("broad": text only, a sentiment range, any story reaching a size) is
looked up for every article of its tenant, so a tenant keeps only a few
(``COPYDESK_ALERTS_MAX_BROAD``), and one term holds at most ``COPYDESK_ALERTS_MAX_ON_TERM``.
Each write checks the bounds under its tenant's advisory lock, so two writes together cannot
pass one bound between them. The schema is in ``migrations/versions/0004_alerts.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from copydesk.archive.articles import Archive
from copydesk.core import errors

LOCK = 7_240_022  # the advisory lock class of alert writes (one key per tenant)
BROAD = ("any", "")  # the term of an alert no article term narrows
COLUMNS = "name, id, filters, conditions, webhook, created_at, updated_at"


@dataclass(frozen=True, slots=True)
class Limits:
    """How many alerts a tenant keeps, on one term, and broad."""

    most: int
    on_term: int
    broad: int


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as stored (``webhook`` holds the sealed secret: never rendered)."""

    name: str
    id: str
    filters: dict[str, Any]
    conditions: dict[str, Any]
    webhook: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    def view(self) -> dict[str, Any]:
        """The alert as the API shows it: its webhook's URL, never its secret."""
        return {
            "name": self.name,
            "id": self.id,
            "filters": self.filters,
            "conditions": self.conditions,
            "webhook": {"url": self.webhook["url"]} if self.webhook else None,
            "created_at": _rfc3339(self.created_at),
            "updated_at": _rfc3339(self.updated_at),
        }


def index_term(filters: dict[str, Any], conditions: dict[str, Any]) -> tuple[str, str]:
    """The one term (kind, value) every article the alert matches has, or ``BROAD``."""
    if filters.get("entity"):
        return "entity", filters["entity"]
    for condition in conditions.get("entity_sentiment") or ():
        return "entity", condition["entity"]
    if filters.get("ref"):
        return "ref", filters["ref"]
    if filters.get("topic"):
        return "topic", filters["topic"]
    return BROAD


class AlertBook:
    """Create, replace, read, list and delete a tenant's alerts."""

    def __init__(self, archive: Archive, *, limits: Limits) -> None:
        self.archive = archive
        self.limits = limits

    def put(
        self,
        tenant: str,
        name: str,
        *,
        filters: dict[str, Any],
        conditions: dict[str, Any],
        webhook: dict[str, Any] | None,
    ) -> tuple[Alert, bool]:
        """Create or replace the alert; returns it and whether it is new. Replacing keeps its
        id, so a story it fired for does not fire it again. Raises the bound it would pass."""
        kind, value = index_term(filters, conditions)
        with self.archive.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK, tenant))
            found = conn.execute(
                "SELECT id FROM alerts WHERE tenant = %s AND name = %s", (tenant, name)
            ).fetchone()
            alert_id = found[0] if found else uuid.uuid4()
            if found is None:
                self._check_room(conn, tenant)
            self._check_term(conn, tenant, kind, value, alert_id)
            row = conn.execute(
                f"""
                INSERT INTO alerts (tenant, name, id, filters, conditions, webhook)
                VALUES (%s, %s, %s, %s, %s, %s)
                ON CONFLICT (tenant, name) DO UPDATE SET filters = EXCLUDED.filters,
                  conditions = EXCLUDED.conditions, webhook = EXCLUDED.webhook,
                  updated_at = now()
                RETURNING {COLUMNS}
                """,
                (tenant, name, alert_id, Jsonb(filters), Jsonb(conditions), _json(webhook)),
            ).fetchone()
            conn.execute("DELETE FROM alert_terms WHERE alert_id = %s", (alert_id,))
            conn.execute(
                "INSERT INTO alert_terms (tenant, kind, value, alert_id) VALUES (%s, %s, %s, %s)",
                (tenant, kind, value, alert_id),
            )
        return _alert(row), found is None

    def _check_room(self, conn: Any, tenant: str) -> None:
        most = self.limits.most
        kept = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM alerts WHERE tenant = %s LIMIT %s) kept",
            (tenant, most),
        ).fetchone()[0]
        if kept >= most:
            raise errors.TooManyAlerts(
                f"this tenant keeps {most} alerts (COPYDESK_ALERTS_MAX), the most allowed; "
                "delete one first"
            )

    def _check_term(self, conn: Any, tenant: str, kind: str, value: str, alert_id: Any) -> None:
        most = self.limits.broad if (kind, value) == BROAD else self.limits.on_term
        others = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM alert_terms WHERE tenant = %s AND kind = %s "
            "AND value = %s AND alert_id <> %s LIMIT %s) kept",
            (tenant, kind, value, alert_id, most),
        ).fetchone()[0]
        if others < most:
            return
        if (kind, value) == BROAD:
            raise errors.TooManyBroadAlerts(
                f"this tenant keeps {most} alerts without an entity, ref or topic "
                "(COPYDESK_ALERTS_MAX_BROAD), each checked against every article: narrow this "
                "one with an entity, ref or topic, or delete a broad one"
            )
        raise errors.TooManyAlertsOnTerm(
            f"this tenant keeps {most} alerts on the {kind} {value[:200]!r} "
            "(COPYDESK_ALERTS_MAX_ON_TERM), the most allowed; delete one first"
        )

    def get(self, tenant: str, name: str) -> Alert | None:
        with self.archive.connection() as conn:
            row = conn.execute(
                f"SELECT {COLUMNS} FROM alerts WHERE tenant = %s AND name = %s", (tenant, name)
            ).fetchone()
        return _alert(row) if row else None

    def page(self, tenant: str, *, after: str | None, limit: int) -> list[Alert]:
        """Up to ``limit`` of the tenant's alerts by name, after the name ``after``."""
        with self.archive.connection() as conn:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM alerts WHERE tenant = %s AND name > %s "
                "ORDER BY name LIMIT %s",
                (tenant, after or "", limit),
            ).fetchall()
        return [_alert(row) for row in rows]

    def delete(self, tenant: str, name: str) -> bool:
        """Forget the alert, its term and what it fired; False if there was none."""
        with self.archive.connection() as conn:
            gone = conn.execute(
                "DELETE FROM alerts WHERE tenant = %s AND name = %s RETURNING id", (tenant, name)
            ).fetchone()
        return gone is not None

    def firings(self, tenant: str, alert_id: str, *, limit: int) -> list[dict[str, Any]]:
        """The alert's latest firings, newest first: id, scope, article, when."""
        with self.archive.connection() as conn:
            rows = conn.execute(
                "SELECT id, scope, job_id, fired_at FROM alert_firings "
                "WHERE alert_id = %s AND tenant = %s ORDER BY fired_at DESC LIMIT %s",
                (alert_id, tenant, limit),
            ).fetchall()
        return [
            {
                "firing_id": firing_id.hex,
                "story": None if scope.startswith("job:") else scope,
                "article_id": job_id.hex,
                "fired_at": _rfc3339(fired_at),
            }
            for firing_id, scope, job_id, fired_at in rows
        ]

    def fired(self, tenant: str, alert_id: str, firing_id: str) -> bool:
        """Whether the alert fired ``firing_id`` (for this tenant)."""
        with self.archive.connection() as conn:
            found = conn.execute(
                "SELECT 1 FROM alert_firings WHERE id = %s AND alert_id = %s AND tenant = %s",
                (firing_id, alert_id, tenant),
            ).fetchone()
        return found is not None


def _alert(row: tuple[Any, ...]) -> Alert:
    name, alert_id, filters, conditions, webhook, created_at, updated_at = row
    return Alert(name, alert_id.hex, filters, conditions, webhook, created_at, updated_at)


def _json(value: dict[str, Any] | None) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
