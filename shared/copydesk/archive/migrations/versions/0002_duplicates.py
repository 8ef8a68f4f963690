"""Near-duplicates and stories: each article's signature, its LSH bands, and the stories.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

Written by the ``stories`` analysis as it runs (``copydesk.archive.stories``), before the job
is archived: the next article must find this one even while this job is still running.

``story_articles``: one row per article that asked for ``stories``, keyed by (tenant, job id).
  created_at (the job's), text_hash (16 bytes of its normalised text), signature (MinHash,
  128 little-endian uint32), shingles and words (counts), entities (text[]: normalised names),
  encoder, dims, embedding (the unit document vector, as archived_jobs keeps it), story_id
  (its story), original_id (the earliest article it duplicates; NULL: none), sentiment (the
  document's score), result (what the analysis answered: a second delivery answers the same).
  Indexes: (tenant, text_hash, created_at) for exact copies; (tenant, story_id, created_at
  DESC) for a story's articles; (created_at) for trimming; hnsw on embedding::halfvec(384)
  WHERE dims = 384 for the nearest articles. Its own vector index rather than archived_jobs':
  an article must find those still running (not archived yet), and halfvec halves it.
``duplicate_bands``: (tenant, band, hash, created_at, job_id), primary key in that order, so
  each band lookup is one index range read bounded by a LIMIT; kept for the window only.
``stories``: (tenant, id) primary key; first_seen, last_seen, size, representative (job id),
  title (the representative's), encoder, dims, centroid (unit mean of its members' vectors),
  entities jsonb ({name: {"type", "count"}}), topics jsonb ({label: count}), sentiment jsonb
  ([{"day": "YYYY-MM-DD", "count", "mean"}], one entry a day: the trend), updated_at.
  Indexes: (tenant, last_seen DESC) for recent stories; (tenant, first_seen DESC);
  (last_seen) for trimming a story past the retention.
  A story's articles: story_articles WHERE tenant = ? AND story_id = ?, joined to
  archived_jobs on (tenant, job_id) for their documents.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE story_articles (
          tenant        text        NOT NULL,
          job_id        uuid        NOT NULL,
          created_at    timestamptz NOT NULL,
          registered_at timestamptz NOT NULL DEFAULT now(),
          text_hash     bytea       NOT NULL,
          signature     bytea       NOT NULL,
          shingles      integer     NOT NULL,
          words         integer     NOT NULL,
          entities      text[]      NOT NULL DEFAULT '{}',
          encoder       text,
          dims          smallint,
          embedding     vector,
          story_id      uuid        NOT NULL,
          original_id   uuid,
          sentiment     real,
          title         text,
          result        jsonb       NOT NULL,
          CONSTRAINT story_articles_key PRIMARY KEY (tenant, job_id),
          CONSTRAINT story_articles_dims CHECK (
            (embedding IS NULL AND dims IS NULL) OR vector_dims(embedding) = dims)
        )
        """
    )
    op.execute(
        "CREATE INDEX story_articles_exact ON story_articles (tenant, text_hash, created_at)"
    )
    op.execute(
        "CREATE INDEX story_articles_story ON story_articles (tenant, story_id, created_at DESC)"
    )
    op.execute("CREATE INDEX story_articles_age ON story_articles (created_at)")
    op.execute(
        "CREATE INDEX story_articles_embedding_384 ON story_articles "
        "USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops) WHERE dims = 384"
    )
    op.execute(
        """
        CREATE TABLE duplicate_bands (
          tenant     text        NOT NULL,
          band       smallint    NOT NULL,
          hash       bigint      NOT NULL,
          created_at timestamptz NOT NULL,
          job_id     uuid        NOT NULL,
          CONSTRAINT duplicate_bands_key PRIMARY KEY (tenant, band, hash, created_at, job_id)
        )
        """
    )
    op.execute("CREATE INDEX duplicate_bands_age ON duplicate_bands (created_at)")
    op.execute(
        """
        CREATE TABLE stories (
          tenant         text        NOT NULL,
          id             uuid        NOT NULL,
          first_seen     timestamptz NOT NULL,
          last_seen      timestamptz NOT NULL,
          size           integer     NOT NULL,
          representative uuid        NOT NULL,
          title          text,
          encoder        text,
          dims           smallint,
          centroid       vector,
          entities       jsonb       NOT NULL DEFAULT '{}',
          topics         jsonb       NOT NULL DEFAULT '{}',
          sentiment      jsonb       NOT NULL DEFAULT '[]',
          updated_at     timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT stories_key PRIMARY KEY (tenant, id)
        )
        """
    )
    op.execute("CREATE INDEX stories_recent ON stories (tenant, last_seen DESC)")
    op.execute("CREATE INDEX stories_first_seen ON stories (tenant, first_seen DESC)")
    op.execute("CREATE INDEX stories_age ON stories (last_seen)")


def downgrade() -> None:
    op.execute("DROP TABLE stories")
    op.execute("DROP TABLE duplicate_bands")
    op.execute("DROP TABLE story_articles")
