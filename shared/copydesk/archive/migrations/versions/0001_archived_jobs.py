"""The archive of finished jobs: one row per job, in monthly partitions by creation time.

Revision ID: 0001
Revises:
Create Date: 2026-12-06

Partitions by ``created_at`` so that retention drops whole months (``DROP TABLE`` of a
partition: no scan, no bloat) and a listing by time reads only the months it spans. The
archiver creates the coming months' partitions itself (``copydesk.archive.partitions``); this
makes none, so the schema does not depend on the day it was applied.

``embedding`` is a ``vector`` without a fixed dimension, beside ``dims`` and ``encoder``:
a deployment that changes its encoder (384 dimensions for MiniLM today, 512 or 768 for
others) keeps its old rows, and similarity search runs on an expression index per dimension
(``embedding::vector(384)`` where ``dims = 384``), which a later migration adds for a new one.
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# ISO 639-1 codes of the languages copydesk detects, as PostgreSQL's text search configs
# ('simple', no stemming, for the rest)
CONFIGS = {
    "ar": "arabic", "ca": "catalan", "da": "danish", "de": "german", "el": "greek",
    "en": "english", "es": "spanish", "eu": "basque", "fi": "finnish", "fr": "french",
    "ga": "irish", "hi": "hindi", "hu": "hungarian", "hy": "armenian", "id": "indonesian",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "nl": "dutch", "no": "norwegian",
    "nb": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian",
    "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}  # fmt: skip


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    cases = " ".join(f"WHEN '{code}' THEN 'pg_catalog.{name}'" for code, name in CONFIGS.items())
    op.execute(
        f"""
        CREATE FUNCTION copydesk_text_config(language text) RETURNS regconfig
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN (CASE language {cases} ELSE 'pg_catalog.simple' END)::regconfig
        """
    )
    op.execute(
        """
        CREATE TABLE archived_jobs (
          tenant       text        NOT NULL,
          job_id       uuid        NOT NULL,
          created_at   timestamptz NOT NULL,
          finished_at  timestamptz,
          archived_at  timestamptz NOT NULL DEFAULT now(),
          status       text        NOT NULL,
          ref          text,
          language     text,
          title        text,
          analyses     text[]      NOT NULL,
          document     jsonb       NOT NULL,  -- the job as GET /v1/jobs/{id} renders it
          text         text,                  -- the analysed text (GET /v1/jobs/{id}/text)
          encoder      text,                  -- the model of the embedding
          dims         smallint,              -- its dimension
          embedding    vector,                -- the document's unit mean sentence vector
          signature    bytea,                 -- the duplicate signature (MinHash), later
          search       tsvector GENERATED ALWAYS AS (
                         to_tsvector(copydesk_text_config(language),
                                     coalesce(title, '') || ' ' || coalesce(text, ''))
                       ) STORED,
          CONSTRAINT archived_jobs_key PRIMARY KEY (tenant, job_id, created_at),
          CONSTRAINT archived_jobs_dims CHECK (
            (embedding IS NULL AND dims IS NULL) OR vector_dims(embedding) = dims)
        ) PARTITION BY RANGE (created_at)
        """
    )
    # what a request reads: a tenant's jobs newest first, by status, by ref; text search
    op.execute("CREATE INDEX archived_jobs_listing ON archived_jobs (tenant, created_at DESC)")
    op.execute(
        "CREATE INDEX archived_jobs_status ON archived_jobs (tenant, status, created_at DESC)"
    )
    op.execute(
        "CREATE INDEX archived_jobs_ref ON archived_jobs (tenant, ref, created_at DESC) "
        "WHERE ref IS NOT NULL"
    )
    op.execute("CREATE INDEX archived_jobs_search ON archived_jobs USING gin (search)")
    op.execute(
        "CREATE INDEX archived_jobs_embedding_384 ON archived_jobs "
        "USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dims = 384"
    )


def downgrade() -> None:
    op.execute("DROP TABLE archived_jobs")
    op.execute("DROP FUNCTION copydesk_text_config(text)")
