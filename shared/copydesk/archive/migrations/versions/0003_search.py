"""Search across the archive: each job's sentiment and topics as columns, its entities as rows.

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-07

``GET /v1/articles`` filters by entity, topic, sentiment, text, time, ref and status, and
``GET /v1/entities`` counts a tenant's entities over a time range; each request reads an
index, never a partition whole:

- ``archived_entities``: one row per entity of an archived job (its canonical name, type,
  salience and own sentiment), in monthly partitions by the job's creation time like
  ``archived_jobs`` (the archiver makes and drops both tables' months together).
  ``archived_entities_name`` (tenant, name, created_at, job_id) gives an entity's articles
  newest first, so a search by entity and time range reads only its page's rows;
  ``archived_entities_time`` (tenant, created_at, job_id) with the counted columns included
  answers the top entities of a time range from the index alone, and finds a job's rows when
  a re-archive replaces them.
- ``archived_jobs.sentiment`` (the sentiment analysis's score) and ``archived_jobs.topics``
  (the topic labels the job's result lists) with a GIN index on the labels.
"""

from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE archived_jobs ADD COLUMN sentiment real, ADD COLUMN topics text[]")
    op.execute("CREATE INDEX archived_jobs_topics ON archived_jobs USING gin (topics)")
    op.execute(
        """
        CREATE TABLE archived_entities (
          tenant      text        NOT NULL,
          job_id      uuid        NOT NULL,
          created_at  timestamptz NOT NULL,  -- the job's, so its rows share its month
          name        text        NOT NULL,  -- canonical ("Olaf Scholz", not "Scholz")
          type        text        NOT NULL,
          salience    real        NOT NULL,
          sentiment   real                   -- the entity's own, from the sentences naming it
        ) PARTITION BY RANGE (created_at)
        """
    )
    op.execute(
        "CREATE INDEX archived_entities_name ON archived_entities "
        "(tenant, name, created_at DESC, job_id DESC)"
    )
    op.execute(
        "CREATE INDEX archived_entities_time ON archived_entities "
        "(tenant, created_at DESC, job_id) INCLUDE (name, type, sentiment)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE archived_entities")
    op.execute("DROP INDEX archived_jobs_topics")
    op.execute("ALTER TABLE archived_jobs DROP COLUMN topics, DROP COLUMN sentiment")
