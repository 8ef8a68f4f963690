"""Run the archive's migrations against COPYDESK_DATABASE_URL (or the URL the caller set).

Alembic loads this file; ``copydesk.archive.migrate`` is what people run. The migrations are
plain SQL (partitioned tables, pgvector and generated columns are PostgreSQL's own), so there
is no model metadata to autogenerate from.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, version_table="archive_migrations")
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
