"""Run the archive's migrations against COPYDESK_DATABASE_URL (or the URL the caller set).

Alembic loads this file; ``copydesk.archive.migrate`` is what people run. The migrations are
plain SQL (partitioned tables, pgvector and generated columns are PostgreSQL's own), so there
is no model metadata to autogenerate from. One run at a time: a Job, an init step and a
``make run`` started together wait for each other's run instead of racing to the same DDL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

LOCK = 7_240_020  # the advisory lock one migration run holds (several pods may start one)

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK})
    connection.commit()
    context.configure(connection=connection, version_table="archive_migrations")
    with context.begin_transaction():
        context.run_migrations()
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK})
    connection.commit()
engine.dispose()
