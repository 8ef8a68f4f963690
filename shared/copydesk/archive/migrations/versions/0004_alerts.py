"""Alerts: saved searches with story conditions, the terms that index them, what they fired.

Revision ID: 0004
Revises: 0002, 0003
Create Date: 2026-12-08

Merges the two heads (stories 0002, search 0003), which share 0001.

An archived article is checked only against the alerts it could match (``copydesk.archive.
alert_match``): each alert is indexed under one term every matching article must have, so
the lookup is one index range read per term of the article, never a read of every alert.

- ``alerts``: one row per (tenant, name); ``id`` stays across replacements (what fired
  stays fired); ``filters`` (GET /v1/articles's filters), ``conditions`` (story size, entity
  sentiment), ``webhook`` (url and the sealed secret; NULL: the event stream only).
- ``alert_terms``: (tenant, kind, value, alert_id), the primary key in that order: kind is
  ``entity``, ``topic`` or ``ref`` with the term, or ``any`` with '' for a broad alert (one
  without such a term; a setting bounds how many a tenant keeps). One row per alert.
- ``alert_firings``: what fired, unique per (tenant, alert_id, scope): scope is the story's
  id, or ``job:<id>`` for an article without a story, so an alert fires once per story
  however often its articles are archived. ``queued`` is false until the firing's delivery
  is in Redis (the archiver queues those left over by a fault first); ``fired_at`` indexed
  for trimming past the retention.
"""

from alembic import op

revision = "0004"
down_revision = ("0002", "0003")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE alerts (
          tenant      text        NOT NULL,
          name        text        NOT NULL,
          id          uuid        NOT NULL UNIQUE,
          filters     jsonb       NOT NULL DEFAULT '{}',
          conditions  jsonb       NOT NULL DEFAULT '[]',
          webhook     jsonb,
          created_at  timestamptz NOT NULL DEFAULT now(),
          updated_at  timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT alerts_key PRIMARY KEY (tenant, name)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE alert_terms (
          tenant   text NOT NULL,
          kind     text NOT NULL,
          value    text NOT NULL,
          alert_id uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
          CONSTRAINT alert_terms_key PRIMARY KEY (tenant, kind, value, alert_id)
        )
        """
    )
    op.execute("CREATE INDEX alert_terms_alert ON alert_terms (alert_id)")
    op.execute(
        """
        CREATE TABLE alert_firings (
          id         uuid        NOT NULL PRIMARY KEY,
          tenant     text        NOT NULL,
          alert_id   uuid        NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
          scope      text        NOT NULL,
          job_id     uuid        NOT NULL,
          fired_at   timestamptz NOT NULL DEFAULT now(),
          event      jsonb       NOT NULL,
          queued     boolean     NOT NULL DEFAULT false,
          CONSTRAINT alert_firings_once UNIQUE (tenant, alert_id, scope)
        )
        """
    )
    op.execute("CREATE INDEX alert_firings_alert ON alert_firings (alert_id, fired_at DESC)")
    op.execute("CREATE INDEX alert_firings_unqueued ON alert_firings (fired_at) WHERE NOT queued")
    op.execute("CREATE INDEX alert_firings_age ON alert_firings (fired_at)")


def downgrade() -> None:
    op.execute("DROP TABLE alert_firings")
    op.execute("DROP TABLE alert_terms")
    op.execute("DROP TABLE alerts")
