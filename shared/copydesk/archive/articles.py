"""The archived jobs in PostgreSQL: write them idempotently, read one back, keep the partitions.

One row per finished job, keyed by (tenant, job id, creation time): the archiver's upsert of
the same job twice, or of a job queued again after its webhook settled, leaves one row with
the latest document. Rows sit in monthly partitions by creation time (the schema is in
``migrations/``); the archiver makes the coming months ahead of time and retention drops
whole months, so deleting old jobs never scans or bloats the table.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

TABLE = "archived_jobs"
PARTITION = TABLE + "_p{:04d}{:02d}"  # archived_jobs_p202612: jobs created in December 2026
COLUMNS = (
    "tenant", "job_id", "created_at", "finished_at", "status", "ref", "language", "title",
    "analyses", "document", "text", "encoder", "dims", "embedding",
)  # fmt: skip
UPSERT = f"""
INSERT INTO {TABLE} ({", ".join(COLUMNS)})
VALUES ({", ".join(["%s"] * (len(COLUMNS) - 1))}, %s::vector)
ON CONFLICT (tenant, job_id, created_at) DO UPDATE SET
  {", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[3:])}, archived_at = now()
"""


@dataclass(frozen=True, slots=True)
class Row:
    """One finished job as the archive keeps it."""

    tenant: str
    job_id: str
    created_at: datetime
    finished_at: datetime | None
    status: str
    ref: str | None
    language: str | None
    title: str | None
    analyses: list[str]
    document: dict[str, Any]  # the job as GET /v1/jobs/{id} renders it
    text: str | None  # the analysed text, None when the job ended before it was prepared
    encoder: str | None = None
    embedding: list[float] | None = None  # the document's unit vector

    def values(self) -> tuple[Any, ...]:
        dims = len(self.embedding) if self.embedding is not None else None
        vector = "[" + ",".join(map(repr, self.embedding)) + "]" if self.embedding else None
        return (
            self.tenant, self.job_id, self.created_at, self.finished_at, self.status,
            self.ref, self.language, self.title, self.analyses, Jsonb(self.document),
            self.text, self.encoder if dims else None, dims, vector,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Archived:
    """What a read of one archived job returns: its document and its analysed text."""

    document: dict[str, Any]
    text: str | None


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 time as the job store writes it (``...Z``)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def month_start(moment: datetime, months: int = 0) -> datetime:
    """The first instant (UTC) of the month ``months`` after the one ``moment`` falls in."""
    index = moment.astimezone(UTC).year * 12 + moment.astimezone(UTC).month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


class Archive:
    """The archive database, on one connection opened on first use and again after a fault.

    psycopg serialises a connection's use across threads; a read or a write that finds
    PostgreSQL away raises ``psycopg.OperationalError`` and the next call reconnects.
    """

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """The connection, in a transaction that commits when the block ends."""
        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = psycopg.connect(
                    self.url,
                    connect_timeout=max(1, int(self.timeout)),
                    options=f"-c statement_timeout={int(self.timeout * 1000)}",
                )
            conn = self._conn
        try:
            with conn.transaction():
                yield conn
        except psycopg.OperationalError:
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def write(self, rows: list[Row]) -> None:
        """Upsert ``rows`` in one transaction, making a missing month's partition on the way."""
        if not rows:
            return
        try:
            with self.connection() as conn, conn.cursor() as cursor:
                cursor.executemany(UPSERT, [row.values() for row in rows])
        except psycopg.errors.CheckViolation as exc:  # no partition holds a row's month
            if "no partition" not in str(exc):
                raise
            for row in rows:
                self.ensure_partition(row.created_at)
            with self.connection() as conn, conn.cursor() as cursor:
                cursor.executemany(UPSERT, [row.values() for row in rows])

    def job(self, job_id: str, *, tenant: str) -> Archived | None:
        """The tenant's archived job (another tenant's is None, as if it did not exist)."""
        with self.connection() as conn:
            found = conn.execute(
                f"SELECT document, text FROM {TABLE} WHERE tenant = %s AND job_id = %s",
                (tenant, job_id),
            ).fetchone()
        return Archived(found[0], found[1]) if found else None

    def ensure_partition(self, moment: datetime) -> str:
        """Make the partition of the month ``moment`` falls in, unless it exists."""
        start = month_start(moment)
        name = PARTITION.format(start.year, start.month)
        with self.connection() as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{month_start(start, 1).isoformat()}')"
            )
        return name

    def partitions(self) -> list[tuple[str, datetime]]:
        """Each partition with the first instant of its month, oldest first."""
        with self.connection() as conn:
            names = conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = %s::regclass",
                (TABLE,),
            ).fetchall()
        found = []
        for (name,) in names:
            stamp = name.removeprefix(TABLE + "_p")
            if len(stamp) == 6 and stamp.isdigit():
                found.append((name, datetime(int(stamp[:4]), int(stamp[4:]), 1, tzinfo=UTC)))
        return sorted(found, key=lambda item: item[1])

    def maintain(
        self, *, retention_days: int, ahead: int = 2, now: datetime | None = None
    ) -> list[str]:
        """Make this month's partition and ``ahead`` more; drop each month that ended before
        the retention's horizon. Returns the partitions dropped."""
        now = now or datetime.now(UTC)
        for months in range(ahead + 1):
            self.ensure_partition(month_start(now, months))
        horizon = self.horizon(retention_days, now=now)
        dropped = []
        for name, start in self.partitions():
            if month_start(start, 1) <= horizon:
                with self.connection() as conn:
                    conn.execute(f"DROP TABLE IF EXISTS {name}")
                dropped.append(name)
        return dropped

    @staticmethod
    def horizon(retention_days: int, *, now: datetime | None = None) -> datetime:
        """Jobs created before this are past the retention."""
        return (now or datetime.now(UTC)) - timedelta(days=retention_days)
