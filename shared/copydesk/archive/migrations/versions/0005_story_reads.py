"""Story reads: the indexes behind GET /v1/stories sorted by size and by growth.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

``stories_recent`` (0002) already serves the listing by last seen. The two other sorts each
read one index range of the tenant, never the table:

- ``stories_size`` (tenant, size DESC, id DESC) INCLUDE (last_seen): the biggest stories
  first, keyset-paged on (size, id), the time range checked from the index alone.
- ``story_articles_recent`` (tenant, created_at) INCLUDE (story_id): growth counts a story's
  articles of the last hours, so it reads only the tenant's articles of those hours.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX stories_size ON stories (tenant, size DESC, id DESC) INCLUDE (last_seen)"
    )
    op.execute(
        "CREATE INDEX story_articles_recent ON story_articles (tenant, created_at) "
        "INCLUDE (story_id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX story_articles_recent")
    op.execute("DROP INDEX stories_size")
