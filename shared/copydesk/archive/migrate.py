"""Bring the archive's schema up to date: ``python -m copydesk.archive.migrate``.

``make run`` runs it before the stack starts, compose in its one-shot ``migrate`` service
and Kubernetes in a Job; each run is idempotent (Alembic records the revision it reached in
``archive_migrations``), and one that finds nothing to do returns at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlalchemy_url(url: str) -> str:
    """The URL with the psycopg 3 driver named, as SQLAlchemy wants it."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return url if sep else url


def config(url: str) -> Config:
    alembic = Config()
    alembic.set_main_option("script_location", str(MIGRATIONS))
    alembic.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return alembic


def upgrade(url: str, revision: str = "heads") -> None:
    """Upgrade to ``revision``; by default every head, so migrations written side by side
    on one parent apply until they are chained."""
    command.upgrade(config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(config(url), revision)


def main(argv: list[str] | None = None) -> int:
    from copydesk.core.settings import get_settings

    args = sys.argv[1:] if argv is None else argv
    url = get_settings().database_url
    if not url:
        print("COPYDESK_DATABASE_URL is not set: no archive to migrate", file=sys.stderr)
        return 0
    upgrade(url, args[0] if args else "heads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
