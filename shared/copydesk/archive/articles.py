"""The archived jobs in PostgreSQL: write them idempotently, read one back.

One row per finished job, keyed by (tenant, job id, creation time): the archiver's upsert of
the same job twice, or of a job queued again after its webhook settled, leaves one row with
the latest document. Rows sit in monthly partitions by creation time, which
``copydesk.archive.partitions`` makes ahead of time and drops past the retention.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from copydesk.archive.partitions import ENTITIES, TABLE, Partitions, month_start

__all__ = ["ENTITIES", "TABLE", "Archive", "Archived", "EntityRow", "Row", "month_start"]

COLUMNS = (
    "tenant", "job_id", "created_at", "finished_at", "status", "ref", "language", "title",
    "analyses", "document", "text", "encoder", "dims", "sentiment", "topics", "embedding",
)  # fmt: skip
# the vector a job's first archiving wrote stays when a later one has none: Redis frees the
# vectors once the first row committed, and a webhook settling after it archives the job again
KEPT = {
    c: f"CASE WHEN EXCLUDED.embedding IS NULL THEN {TABLE}.{c} ELSE EXCLUDED.{c} END"
    for c in ("encoder", "dims", "embedding")
}
UPSERT = f"""
INSERT INTO {TABLE} ({", ".join(COLUMNS)})
VALUES ({", ".join(["%s"] * (len(COLUMNS) - 1))}, %s::vector)
ON CONFLICT (tenant, job_id, created_at) DO UPDATE SET
  {", ".join(f"{c} = {KEPT.get(c, 'EXCLUDED.' + c)}" for c in COLUMNS[3:])}, archived_at = now()
"""
# a re-archive replaces the job's entities: its rows go, then its current ones come back
FORGET_ENTITIES = f"DELETE FROM {ENTITIES} WHERE tenant = %s AND created_at = %s AND job_id = %s"
ENTITY_COLUMNS = ("tenant", "job_id", "created_at", "name", "type", "salience", "sentiment")
ADD_ENTITY = (
    f"INSERT INTO {ENTITIES} ({', '.join(ENTITY_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(ENTITY_COLUMNS))})"
)


@dataclass(frozen=True, slots=True)
class EntityRow:
    """One entity of an archived job: its canonical name and type, salience, own sentiment."""

    name: str
    type: str
    salience: float
    sentiment: float | None


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
    sentiment: float | None = None  # the sentiment analysis's score, when it succeeded
    topics: list[str] | None = None  # the topic labels its result lists, best first
    entities: tuple[EntityRow, ...] = ()  # its entities, most salient first

    def values(self) -> tuple[Any, ...]:
        dims = len(self.embedding) if self.embedding is not None else None
        vector = "[" + ",".join(map(repr, self.embedding)) + "]" if self.embedding else None
        return (
            self.tenant, self.job_id, self.created_at, self.finished_at, self.status,
            self.ref, self.language, self.title, self.analyses, Jsonb(self.document),
            self.text, self.encoder if dims else None, dims, self.sentiment, self.topics,
            vector,
        )  # fmt: skip

    def entity_values(self) -> list[tuple[Any, ...]]:
        return [
            (self.tenant, self.job_id, self.created_at, e.name, e.type, e.salience, e.sentiment)
            for e in self.entities
        ]


@dataclass(frozen=True, slots=True)
class Archived:
    """What a read of one archived job returns: its document and its analysed text."""

    document: dict[str, Any]
    text: str | None


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 time as the job store writes it (``...Z``)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class PoolTimeout(psycopg.OperationalError):
    """Every connection of the pool stayed busy for the archive's timeout."""


class Archive(Partitions):
    """The archive database, on a bounded pool of connections opened as needed.

    Each block of work takes a connection of its own (at most ``pool_size`` at once; one more
    waits up to ``timeout`` for a free one, then raises :class:`PoolTimeout`), so one slow
    query holds one connection, not every reader of the process. Under gunicorn's threaded
    workers a read waiting on PostgreSQL holds only its own thread (libpq waits with the GIL
    released) and the process's other threads answer meanwhile. A connection PostgreSQL cut
    (``broken``: PostgreSQL away or restarted) is closed and the next use reconnects; one
    whose statement failed (a timeout, say) rolled back and is kept. Its monthly partitions
    are kept by :class:`~copydesk.archive.partitions.Partitions`.
    """

    def __init__(self, url: str, *, timeout: float = 5.0, pool_size: int = 4) -> None:
        self.url = url
        self.timeout = timeout
        self.pool_size = pool_size
        self._idle: list[psycopg.Connection] = []
        self._slots = threading.BoundedSemaphore(pool_size)
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A connection of the pool, in a transaction that commits when the block ends."""
        if not self._slots.acquire(timeout=self.timeout):
            raise PoolTimeout(f"no archive connection free within {self.timeout:g} s")
        try:
            conn = self._take()
            try:
                with conn.transaction():
                    yield conn
            finally:
                self._give(conn)
        finally:
            self._slots.release()

    def _take(self) -> psycopg.Connection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not (conn.closed or conn.broken):
                    return conn
        return psycopg.connect(
            self.url,
            connect_timeout=max(1, int(self.timeout)),
            options=f"-c statement_timeout={int(self.timeout * 1000)}",
        )

    def _give(self, conn: psycopg.Connection) -> None:
        """Keep the connection for the next block, unless PostgreSQL cut it (``broken``) or
        it is left inside a transaction. A statement's own error (a search's timeout, a lock
        wait given up, a row refused) rolled back and left it sound: closing it would make
        every timed-out search cost the next one a new connection."""
        if conn.closed:
            return
        if conn.broken or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.close()
            return
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def write(self, rows: list[Row]) -> None:
        """Upsert ``rows`` and replace their entities in one transaction, making a missing
        month's partitions on the way: behind a long reader that gives up after the lock
        timeout (``PartitionBusy``, a fault the archiver retries) instead of the statement's."""
        if not rows:
            return
        try:
            self._write(rows)
        except psycopg.errors.CheckViolation as exc:  # no partition holds a row's month
            if "no partition" not in str(exc):
                raise
            for month in sorted({month_start(row.created_at) for row in rows}):
                self.ensure_partition(month)
            self._write(rows)

    def _write(self, rows: list[Row]) -> None:
        with self.connection() as conn, conn.cursor() as cursor:
            cursor.executemany(UPSERT, [row.values() for row in rows])
            cursor.executemany(
                FORGET_ENTITIES, [(row.tenant, row.created_at, row.job_id) for row in rows]
            )
            added = [values for row in rows for values in row.entity_values()]
            if added:
                cursor.executemany(ADD_ENTITY, added)

    def job(self, job_id: str, *, tenant: str) -> Archived | None:
        """The tenant's archived job (another tenant's is None, as if it did not exist)."""
        with self.connection() as conn:
            found = conn.execute(
                f"SELECT document, text FROM {TABLE} WHERE tenant = %s AND job_id = %s",
                (tenant, job_id),
            ).fetchone()
        return Archived(found[0], found[1]) if found else None
